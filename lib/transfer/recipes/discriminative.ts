/** Discriminative learning rates: one optimizer parameter group per layer group, lower layers learning slower. */
import type { Module } from '../../nn/module';
import type { Tensor } from '../../tensor';
import { LayerGroupSpec, resolveLayerGroups } from '../../nn/layer-groups';

/** Options of discriminativeGroups. */
export interface DiscriminativeOptions {
  /** Layer groups, lowest first (default: `model.layerGroups`, else the top-level children with parameters). */
  groups?: readonly LayerGroupSpec[];
  /** The highest group's learning rate. */
  baseLr: number;
  /** Ratio of the highest group's rate to the lowest's (default 100, as fastai's fine_tune). */
  lrMult?: number;
  /** Ratio between neighbouring groups' rates instead (ULMFiT used 2.6); exclusive with lrMult. */
  factor?: number;
  /**
   * Frozen parameters: 'include' (default) keeps them in their group; tg.optim skips a parameter that does not
   * require grad, so it stays put until unfrozen and then trains at its group's rate, with no addParamGroup.
   * 'exclude' leaves them out (groups left empty are dropped; the others keep their rates).
   */
  frozen?: 'include' | 'exclude';
}

/** An optimizer parameter group: named parameters and their learning rate. */
export interface LrGroup {
  params: [string, Tensor][];
  lr: number;
}

/**
 * The learning rates for K groups, lowest first: group k (0-based) gets `baseLr / factor^(K-1-k)`, so the
 * highest gets baseLr and each lower one `factor` times less; with `lrMult`, factor = lrMult^(1/(K-1)), so the
 * lowest gets baseLr / lrMult. One group gets baseLr.
 * @example discriminativeLrs(3, { baseLr: 1e-3, lrMult: 100 })  // [1e-5, 1e-4, 1e-3]
 */
export function discriminativeLrs(k: number, options: { baseLr: number; lrMult?: number; factor?: number }): number[] {
  const fn = 'discriminativeLrs';
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`${fn}: the number of groups must be a positive integer, got ${k}`);
  const { baseLr, lrMult, factor } = options;
  if (typeof baseLr !== 'number' || !(baseLr > 0) || !Number.isFinite(baseLr)) throw new RangeError(`${fn}: baseLr must be a positive number, got ${String(baseLr)}`);
  if (lrMult !== undefined && factor !== undefined) throw new TypeError(`${fn}: give lrMult or factor, not both`);
  for (const [n, v] of [['lrMult', lrMult], ['factor', factor]] as const) {
    if (v !== undefined && (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))) throw new RangeError(`${fn}: ${n} must be a positive number, got ${String(v)}`);
  }
  // (one group: any step, since the top group's rate is baseLr / step^0)
  const step = factor ?? Math.pow(lrMult ?? 100, 1 / Math.max(1, k - 1));
  return Array.from({ length: k }, (_, i) => baseLr / Math.pow(step, k - 1 - i));
}

/**
 * Optimizer parameter groups from the model's layer groups, with rates spread geometrically from the lowest
 * group (slowest) to the highest (`baseLr`); see discriminativeLrs for the exact values.
 * @example
 * const opt = new tg.optim.Adam(tg.transfer.discriminativeGroups(model, { baseLr: 1e-3, lrMult: 100 }));
 */
export function discriminativeGroups(model: Module, options: DiscriminativeOptions): LrGroup[] {
  if (options === null || typeof options !== 'object') throw new TypeError('discriminativeGroups: expected options { baseLr, lrMult | factor }');
  const groups = resolveLayerGroups(model, options.groups, 'discriminativeGroups');
  const lrs = discriminativeLrs(groups.length, options);
  const frozen = options.frozen ?? 'include';
  if (frozen !== 'include' && frozen !== 'exclude') throw new RangeError(`discriminativeGroups: frozen must be 'include' or 'exclude', got ${String(frozen)}`);
  return groups
    .map((g, i) => ({ params: frozen === 'include' ? g.params : g.params.filter(([, p]) => p.requiresGrad), lr: lrs[i] }))
    .filter((g) => g.params.length > 0);
}
