/** A model's top-level layers as the chain its forward applies: what reuse and slice cut. */
import type { Module } from './module';
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
 * - a model with a `chainLayers()` method: what it returns (a Sequential: its children, a child listed twice
 *   appearing twice; a ResNet: its children with a `flatten` after `avgpool`, where its forward flattens);
 * - any other Module: its children in registration order. This assumes its forward applies them one after
 *   the other; a model whose forward does more (skips, reshapes) should define `chainLayers()`.
 * @throws TypeError for a module without children (a single layer has nothing to cut).
 */
export function layerChain(model: Module, fn = 'layerChain'): [string, Module][] {
  const kids = isChainable(model) ? model.chainLayers() : model.namedChildren();
  if (kids.length === 0) throw new TypeError(`${fn}: ${model.constructor.name} has no child layers to cut`);
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
