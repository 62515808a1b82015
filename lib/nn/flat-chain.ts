/** A model's chain with nested Sequentials flattened: the layers a feature cache can cut at, by dotted path. */
import type { Module } from './module';
import { TorchError } from '../errors';
import { layerChain } from './chain';

function isChainable(m: Module): boolean {
  return typeof (m as { chainLayers?: unknown }).chainLayers === 'function';
}

function flatten(prefix: string, chain: [string, Module][], out: [string, Module][]): void {
  for (const [name, m] of chain) {
    const path = prefix + name;
    const kids = isChainable(m) ? (m as unknown as { chainLayers(): [string, Module][] }).chainLayers() : [];
    if (kids.length) flatten(`${path}.`, kids, out);
    else out.push([path, m]);
  }
}

/**
 * The layers a model's forward applies, in order, with every child that is a Sequential (or another model with
 * `chainLayers()`, such as a ResNet) replaced by its own chain, named by dotted paths: `features.15` for the
 * 16th layer of a Sequential `features`. The top level is `layerChain(model)`.
 */
export function flatChain(model: Module, fn: string): [string, Module][] {
  const out: [string, Module][] = [];
  flatten('', layerChain(model, fn), out);
  return out;
}

/**
 * The position in a flat chain of a layer path: an exact entry, or a flattened container (its last layer).
 * -1 when absent.
 */
export function flatIndex(chain: [string, Module][], at: string): number {
  const i = chain.findIndex(([n]) => n === at);
  if (i >= 0) return i;
  for (let k = chain.length - 1; k >= 0; k--) if (chain[k][0].startsWith(`${at}.`)) return k;
  return -1;
}

/** The shortest name for the cut after flat position `i`: a container whose last layer it is, else its own path. */
export function cutName(chain: [string, Module][], i: number): string {
  let name = chain[i][0];
  const next = chain[i + 1]?.[0];
  for (let dot = name.lastIndexOf('.'); dot > 0; dot = name.lastIndexOf('.')) {
    const parent = name.slice(0, dot);
    if (next !== undefined && next.startsWith(`${parent}.`)) break;
    name = parent;
  }
  return name;
}

/**
 * The flat position of `at` (a layer path or a position) in `chain`, or a TorchError saying why it is not there:
 * no such module, or a parent on the way that is not a Sequential (its forward may do more than apply its
 * children in order, so the layers below it cannot be split).
 */
export function resolveFlat(model: Module, chain: [string, Module][], at: string | number, fn: string): number {
  if (typeof at === 'number') {
    if (!Number.isInteger(at)) throw new TypeError(`${fn}: a position must be an integer, got ${at}`);
    const i = at < 0 ? at + chain.length : at;
    if (i < 0 || i >= chain.length) throw new RangeError(`${fn}: position ${at} is out of range for ${chain.length} layers`);
    return i;
  }
  if (typeof at !== 'string') throw new TypeError(`${fn}: expected a layer path or position, got ${typeof at}`);
  const i = flatIndex(chain, at);
  if (i >= 0) return i;
  const parts = at.split('.');
  for (let k = parts.length - 1; k >= 1; k--) {
    const parent = parts.slice(0, k).join('.');
    if (flatIndex(chain, parent) < 0) continue;
    const m = model.namedModules().find(([n]) => n === parent)?.[1];
    const child = m?.namedChildren().find(([n]) => n === parts[k]);
    if (m && child && !isChainable(m))
      throw new TorchError(
        `${fn}: cannot cut at '${at}': its parent '${parent}' is a ${m.constructor.name}, not a Sequential, so its forward may do more ` +
          `than apply its children in order; cut at '${parent}' itself or at a layer outside it, or give ${m.constructor.name} a chainLayers() method`,
        { code: 'ERR_CACHE_CUT' },
      );
    break;
  }
  const names = chain.map(([n]) => n);
  const list = names.length > 12 ? `${names.slice(0, 6).join(', ')}, ..., ${names.slice(-4).join(', ')}` : names.join(', ');
  throw new TorchError(`${fn}: no layer '${at}' in the model's chain (${names.length} layers: ${list})`, { code: 'ERR_UNKNOWN_MODULE' });
}
