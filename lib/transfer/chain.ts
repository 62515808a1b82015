/** A model's top-level layers as the chain its forward applies: what reuse and slice cut. */
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { Flatten } from '../nn/layers/shape';
import { ResNet } from '../nn/models/resnet';
import { TorchError } from '../errors';

/** A model that says itself which chain of named layers its forward applies (reuse and slice use it). */
export interface Chainable {
  chainLayers(): [string, Module][];
}

function isChainable(m: Module): m is Module & Chainable {
  return typeof (m as Partial<Chainable>).chainLayers === 'function';
}

/**
 * The named layers whose composition, in order, is the model's forward:
 * - a Sequential: its children (a child listed twice appears twice);
 * - a model with a `chainLayers()` method: what it returns;
 * - a ResNet: its children with a `flatten` (tg.nn.Flatten) inserted after `avgpool`, where its forward flattens,
 *   so that every prefix of the chain computes exactly the ResNet's intermediate features (conv1, bn1, relu,
 *   maxpool, layer1..layer4, avgpool, flatten, fc: up to 'flatten' is `forwardFeatures`, up to 'avgpool' the
 *   same unflattened, (N, C, 1, 1));
 * - any other Module: its children in registration order. This assumes its forward applies them one after
 *   the other; a model whose forward does more (skips, reshapes) should define `chainLayers()`.
 * @throws TypeError for a module without children (a single layer has nothing to cut).
 */
export function layerChain(model: Module, fn = 'layerChain'): [string, Module][] {
  if (model instanceof Sequential) return [...model._modules].filter((e): e is [string, Module] => e[1] !== null);
  if (isChainable(model)) return model.chainLayers();
  const kids = model.namedChildren();
  if (kids.length === 0) throw new TypeError(`${fn}: ${model.constructor.name} has no child layers to cut`);
  if (model instanceof ResNet) {
    const i = kids.findIndex(([n]) => n === 'avgpool');
    kids.splice(i + 1, 0, ['flatten', new Flatten()]);
  }
  return kids;
}

/** The position of a layer in a chain by name or index (negative counts from the end). */
export function chainIndex(chain: [string, Module][], at: string | number, fn: string): number {
  if (typeof at === 'number') {
    if (!Number.isInteger(at)) throw new TypeError(`${fn}: a position must be an integer, got ${at}`);
    const i = at < 0 ? at + chain.length : at;
    if (i < 0 || i >= chain.length) throw new RangeError(`${fn}: position ${at} is out of range for ${chain.length} layers`);
    return i;
  }
  if (typeof at !== 'string') throw new TypeError(`${fn}: expected a layer name or position, got ${typeof at}`);
  const i = chain.findIndex(([n]) => n === at);
  if (i < 0) {
    const hint = at.includes('.') ? ' (only top-level layers can be cut at; dotted paths name layers inside them)' : '';
    throw new TorchError(`${fn}: no top-level layer '${at}'${hint}; the layers in order: ${chain.map(([n]) => n).join(', ')}`, { code: 'ERR_UNKNOWN_MODULE' });
  }
  return i;
}
