/** Where a cache cuts a model: the layers below (frozen, cached) and the checks they must pass. */
import { TorchError } from '../../errors';
import type { Dataset } from '../../data/dataset';
import type { Module } from '../../nn/module';
import { chainIndex, layerChain } from '../../nn/chain';

/** The position of the topmost cached layer: `upTo`, or the top of the longest all-frozen prefix. */
export function resolveCut(chain: [string, Module][], upTo: string | number | undefined): number {
  const fn = 'cacheFeatures';
  let cut: number;
  if (upTo === undefined) {
    cut = -1;
    while (cut + 1 < chain.length && chain[cut + 1][1].parameters().every((p) => !p.requiresGrad)) cut++;
    if (cut < 0)
      throw new TorchError(`${fn}: nothing is frozen at the bottom of the model ('${chain[0][0]}' has trainable parameters); freeze the lower layers or pass upTo`, {
        code: 'ERR_CACHE_CUT',
      });
  } else cut = chainIndex(chain, upTo, fn);
  if (cut === chain.length - 1)
    throw new TorchError(`${fn}: the cut is at the last layer '${chain[cut][0]}': nothing above it is left to train`, { code: 'ERR_CACHE_CUT' });
  const trainable = chain
    .slice(0, cut + 1)
    .flatMap(([n, m]) => m.namedParameters(n))
    .filter(([, p]) => p.requiresGrad)
    .map(([n]) => n);
  if (trainable.length)
    throw new TorchError(
      `${fn}: every layer up to the cut '${chain[cut][0]}' must be frozen, but ${trainable.slice(0, 5).join(', ')}${trainable.length > 5 ? ', ...' : ''} ` +
        'would train (cached features cannot follow weights that change); freeze them or cut lower',
      { code: 'ERR_CACHE_CUT' },
    );
  return cut;
}

/** The model's chain of top-level layers (see layerChain). */
export function chainOf(model: Module): [string, Module][] {
  return layerChain(model, 'cacheFeatures');
}

/**
 * Why caching `layers` and `dataset` would freeze randomness that uncached training redraws every epoch
 * (empty when none): dropout, batch statistics, a dataset flagged `augmenting`.
 */
export function randomnessReasons(layers: [string, Module][], dataset: Dataset): string[] {
  const out: string[] = [];
  for (const [name, layer] of layers)
    for (const [path, m] of layer.namedModules(name)) {
      const cls = m.constructor.name;
      const p = (m as { p?: unknown }).p;
      if (/Dropout/.test(cls) && typeof p === 'number' && p > 0)
        out.push(`'${path}' is ${cls}(p=${p}): in training mode it drops different units every epoch, a cache would keep one draw`);
      if ((m as { frozenStatistics?: unknown }).frozenStatistics === false)
        out.push(`'${path}' (${cls}) normalises with each batch's statistics in training mode (model.freeze() freezes them)`);
    }
  if ((dataset as { augmenting?: unknown }).augmenting === true)
    out.push('the dataset is flagged augmenting: it gives different inputs every epoch, a cache would keep one');
  return out;
}
