/** Where a cache cuts a model: the layers below (frozen, cached) and the checks they must pass. */
import { TorchError } from '../../errors';
import type { Dataset } from '../../data/dataset';
import type { Module } from '../../nn/module';
import { cutName, flatChain, resolveFlat } from '../../nn/flat-chain';

const fn = 'cacheFeatures';
const hasParams = (m: Module): boolean => m.parameters().length > 0;
const isFrozen = (m: Module): boolean => m.parameters().every((p) => !p.requiresGrad);

/**
 * The default cut: the last frozen layer with parameters before the first trainable one, extended over the
 * parameter-free layers after it that are deterministic (pooling, flatten), never over dropout or other
 * randomness, which belongs to the head that trains.
 */
function defaultCut(chain: [string, Module][]): number {
  let top = -1;
  while (top + 1 < chain.length && isFrozen(chain[top + 1][1])) top++;
  let cut = top;
  while (cut >= 0 && !hasParams(chain[cut][1])) cut--;
  if (cut < 0) {
    const first = chain.find(([, m]) => hasParams(m));
    throw new TorchError(`${fn}: nothing is frozen at the bottom of the model ('${first?.[0] ?? chain[0][0]}' has trainable parameters); freeze the lower layers or pass upTo`, {
      code: 'ERR_CACHE_CUT',
    });
  }
  while (cut < top && cut + 1 < chain.length - 1 && layerRandomness(chain[cut + 1][0], chain[cut + 1][1]).length === 0) cut++;
  return cut;
}

/** The cut as a flat-chain position and the name the cache keeps (`upTo` as given, else the shortest path). */
export function resolveCut(model: Module, chain: [string, Module][], upTo: string | number | undefined): { index: number; name: string } {
  const cut = upTo === undefined ? defaultCut(chain) : resolveFlat(model, chain, upTo, fn);
  if (cut === chain.length - 1)
    throw new TorchError(`${fn}: the cut is at the last layer '${chain[cut][0]}': nothing above it is left to train`, { code: 'ERR_CACHE_CUT' });
  const firstTrainable = chain.slice(0, cut + 1).findIndex(([, m]) => !isFrozen(m));
  if (firstTrainable >= 0) {
    const trainable = chain
      .slice(0, cut + 1)
      .flatMap(([n, m]) => m.namedParameters(n))
      .filter(([, p]) => p.requiresGrad)
      .map(([n]) => n);
    const lower = firstTrainable > 0 ? `, or pass upTo: '${cutName(chain, firstTrainable - 1)}' (the layer below them) to cache less` : '';
    throw new TorchError(
      `${fn}: the cut '${chain[cut][0]}' includes trainable layers: ${trainable.slice(0, 5).join(', ')}${trainable.length > 5 ? ', ...' : ''} ` +
        `would train, but every layer up to the cut must be frozen (cached features cannot follow weights that change); freeze them${lower}`,
      { code: 'ERR_CACHE_CUT' },
    );
  }
  return { index: cut, name: typeof upTo === 'string' ? upTo : cutName(chain, cut) };
}

/** The model's chain with nested Sequentials flattened (see flatChain): what a cache cuts. */
export function chainOf(model: Module): [string, Module][] {
  return flatChain(model, fn);
}

/** Why one layer would give a cache a single draw of randomness that uncached training redraws (empty when none). */
export function layerRandomness(name: string, layer: Module): string[] {
  const out: string[] = [];
  for (const [path, m] of layer.namedModules(name)) {
    const cls = m.constructor.name;
    const p = (m as { p?: unknown }).p;
    if (/Dropout|StochasticDepth/.test(cls) && typeof p === 'number' && p > 0)
      out.push(`'${path}' is ${cls}(p=${p}): in training mode it drops at random every epoch, a cache would keep one draw`);
    if ((m as { frozenStatistics?: unknown }).frozenStatistics === false)
      out.push(`'${path}' (${cls}) normalises with each batch's statistics in training mode (model.freeze() freezes them)`);
  }
  return out;
}

/**
 * The refusal of a cached part with randomness (undefined when there is none), with the fix that applies:
 * randomness in parameter-free layers above the last layer with weights belongs to the head (pass a lower upTo);
 * randomness further down can be cut below or accepted with allowRandom; batch statistics are frozen by freeze().
 */
export function randomnessError(chain: [string, Module][], cut: number, dataset: Dataset): TorchError | undefined {
  const random = chain.slice(0, cut + 1).map(([n, m], i) => ({ i, reasons: layerRandomness(n, m) })).filter((r) => r.reasons.length);
  const augmenting = (dataset as { augmenting?: unknown }).augmenting === true;
  if (!random.length && !augmenting) return undefined;
  const reasons = random.flatMap((r) => r.reasons);
  if (augmenting) reasons.push('the dataset is flagged augmenting: it gives different inputs every epoch, a cache would keep one');
  let lastWeights = cut;
  while (lastWeights >= 0 && !hasParams(chain[lastWeights][1])) lastWeights--;
  const first = random[0]?.i;
  let fix: string;
  if (!augmenting && first > lastWeights && lastWeights >= 0)
    fix = `The random layers are above the last frozen layer with weights, so they belong to the head that trains: pass upTo: '${cutName(chain, first - 1)}'`;
  else if (first !== undefined && first > 0)
    fix = `Pass upTo: '${cutName(chain, first - 1)}' to cache only the layers below them, or allowRandom: true to cache one draw anyway`;
  else fix = 'Pass allowRandom: true to cache it anyway';
  return new TorchError(`${fn}: the cached part is not deterministic, so cached training would differ from uncached: ${reasons.join('; ')}. ${fix}`, {
    code: 'ERR_CACHE_RANDOM',
  });
}
