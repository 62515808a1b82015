/** slice: a Sequential view of a run of a model's layers, sharing their modules and weights. */
import type { Module } from './module';
import type { Sequential } from './sequential';
import { chainIndex, layerChain } from './chain';

// Sequential extends Module, whose slice() calls this file: sequential.ts hands its class over instead of being imported.
let SequentialClass: (new () => Sequential) | undefined;

/** @internal Called once by sequential.ts with the class sliceModule builds. */
export function registerSequential(cls: new () => Sequential): void {
  SequentialClass = cls;
}

/**
 * A new Sequential holding the same layer objects as `model` from `from` to `to` (see layerChain for what the
 * layers of a non-Sequential model are), so it shares their weights: training the view trains the model.
 * Names are kept. As pandas' loc and iloc: a name as `to` is included, a position is not (Array.slice:
 * `slice(0, 2)` is layers 0 and 1; negatives count from the end). `to` omitted runs to the last layer.
 * @example const features = resnet.slice('conv1', 'layer3');  // the ResNet's features up to layer3
 */
export function sliceModule(model: Module, from: string | number = 0, to?: string | number): Sequential {
  const fn = `slice(${JSON.stringify(from)}${to === undefined ? '' : `, ${JSON.stringify(to)}`})`;
  const chain = layerChain(model, fn);
  const start = chainIndex(chain, from, fn);
  let end: number;
  if (to === undefined) end = chain.length;
  else if (typeof to === 'number') {
    if (!Number.isInteger(to)) throw new TypeError(`${fn}: a position must be an integer, got ${to}`);
    end = Math.max(0, Math.min(chain.length, to < 0 ? to + chain.length : to));
  } else end = chainIndex(chain, to, fn) + 1;
  if (end <= start) throw new RangeError(`${fn}: empty range (layers ${start} to ${end - 1} of ${chain.map(([n]) => n).join(', ')})`);
  // Set by the time any module exists: lib's index loads sequential.ts with tg.nn.
  const out = new SequentialClass!();
  for (const [n, m] of chain.slice(start, end)) out.registerModule(n, m);
  return out;
}

/**
 * A Sequential view of layers named by dotted paths (a run of a flat chain, see flatChain): layers under the
 * same parent are grouped in a nested Sequential of that name, so the view's parameter names are the model's.
 */
export function chainView(entries: [string, Module][]): Sequential {
  const out = new SequentialClass!();
  for (let i = 0; i < entries.length; ) {
    const [name, m] = entries[i];
    const dot = name.indexOf('.');
    if (dot < 0) {
      out.registerModule(name, m);
      i++;
      continue;
    }
    const top = name.slice(0, dot + 1);
    const group: [string, Module][] = [];
    for (; i < entries.length && entries[i][0].startsWith(top); i++) group.push([entries[i][0].slice(top.length), entries[i][1]]);
    out.registerModule(top.slice(0, -1), chainView(group));
  }
  return out;
}
