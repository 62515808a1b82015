/**
 * Progressive unfreezing: train the head, then unfreeze the pretrained layer groups from the top, either stage by
 * stage (progressiveUnfreeze) or each time the loss plateaus (the ProgressiveUnfreezing callback).
 */
import type { Module } from '../../nn/module';
import type { Tensor } from '../../tensor';
import { fit } from '../../train/fit';
import { History } from '../../train/history';
import type { Callback, FitContext } from '../../train/callbacks';
import type { DataSource } from '../../train/source';
import type { EpochLogs, StepOptimizer } from '../../train/types';
import { LayerGroupSpec, ResolvedGroup, resolveLayerGroups } from '../../nn/layer-groups';
import { discriminativeLrs } from './discriminative';
import { HeadPattern, headMatcher } from './head';
import { OptimizerSpec, makeOptimizer, release } from './optimizer';
import type { PassThroughFitOptions } from './fine-tune';
import { TorchError } from '../../errors';

/** Options of progressiveUnfreeze. */
export interface ProgressiveUnfreezeOptions extends PassThroughFitOptions {
  /** Stages after the head-only one (default: enough to unfreeze every group). */
  stages?: number;
  /** Epochs of each stage, the head-only one included (default 1). */
  epochsPerStage?: number;
  /** Groups unfrozen per stage (default 1). */
  step?: number;
  /** The head's rate (default 1e-3); lower groups get baseLr / factor^depth. */
  baseLr?: number;
  /** Ratio between neighbouring groups' rates (default 2.6). */
  factor?: number;
  /** Layer groups, lowest first (default: model.layerGroups, else the top-level children with parameters). */
  groups?: readonly LayerGroupSpec[];
  /** The new layers trained first (default: the head `reuse` appended, else 'last'). */
  head?: HeadPattern;
  /** 'adam' (default), 'sgd', or a factory `(groups, stage) => optimizer` (it must support addParamGroup). */
  optimizer?: OptimizerSpec;
  optimizerOptions?: Record<string, unknown>;
}

/**
 * The staged recipe: stage 0 trains the head with everything else frozen; each later stage unfreezes the next
 * `step` layer groups from the top (adding them to the same optimizer at rates spread down geometrically,
 * `baseLr / factor^depth`) and trains `epochsPerStage` epochs. Each epoch's logs get `stage`.
 * @returns one History over every stage.
 */
export async function progressiveUnfreeze(model: Module, data: DataSource, options: ProgressiveUnfreezeOptions): Promise<History> {
  const fn = 'progressiveUnfreeze';
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: expected options with at least { loss }`);
  if (options.loss === undefined) throw new TypeError(`${fn}: options.loss is required (a name such as 'crossEntropy', or a function)`);
  const { stages, epochsPerStage = 1, step = 1, baseLr = 1e-3, factor = 2.6, groups: groupSpecs, head, optimizer, optimizerOptions, callbacks, ...fitOptions } = options;
  for (const [k, v, min] of [['epochsPerStage', epochsPerStage, 1], ['step', step, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${fn}: ${k} must be an integer >= ${min}, got ${String(v)}`);
  }
  if (callbacks !== undefined && !Array.isArray(callbacks)) throw new TypeError(`${fn}: callbacks must be an array of objects with hooks such as onEpochEnd`);
  const isHead = headMatcher(model, head, fn);
  const groups = resolveLayerGroups(model, groupSpecs, fn);
  const lrs = discriminativeLrs(groups.length, { baseLr, factor });
  // The head's parameters train from the start, whatever group they fall in.
  const base = groups.map((g) => ({ ...g, params: g.params.filter(([n]) => !isHead(n)) })).filter((g) => g.params.length > 0);
  const baseLrs = groups.map((g, i) => ({ g, lr: lrs[i] })).filter(({ g }) => g.params.some(([n]) => !isHead(n))).map(({ lr }) => lr);
  const total = stages ?? Math.ceil(base.length / step);
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`${fn}: stages must be a non-negative integer, got ${String(stages)}`);

  model.freeze((n) => !isHead(n));
  model.unfreeze(isHead);
  const opt = makeOptimizer(optimizer, [{ params: model.namedParameters().filter(([n]) => isHead(n)), lr: baseLr }], 0, optimizerOptions, fn);
  const growable = checkGrowable(opt.optimizer, fn);
  const history = new History();
  try {
    for (let stage = 0; stage <= total; stage++) {
      if (stage > 0) unfreezeNext(model, base, baseLrs, growable, step);
      const tag: Callback = {
        onEpochEnd(_e, logs) {
          logs.stage = stage;
        },
      };
      await fit(model, data, { ...fitOptions, epochs: epochsPerStage, optimizer: opt.optimizer, history, callbacks: [tag, ...(callbacks ?? [])] });
      // Early stopping within a stage ends that stage; only the last stage's stop ends the run.
      if (stage < total) history.stopped = null;
    }
  } finally {
    release(opt);
  }
  return history;
}

/** Options of the ProgressiveUnfreezing callback. */
export interface ProgressiveUnfreezingOptions {
  /** Layer groups, lowest first (default: model.layerGroups, else the top-level children with parameters). */
  groups?: readonly LayerGroupSpec[];
  /** The value watched for a plateau (default 'val_loss' when the logs have it, else 'loss'). */
  monitor?: string;
  /** Epochs without improvement before unfreezing the next groups (default 1). */
  patience?: number;
  /** Smallest decrease that counts as an improvement (default 0). */
  minDelta?: number;
  /** Groups unfrozen at each plateau (default 1). */
  step?: number;
  /** The highest group's rate, from which lower groups' are spread (default: the optimizer's first group's lr at the start). */
  baseLr?: number;
  /** Ratio between neighbouring groups' rates (default 2.6, ULMFiT's). */
  factor?: number;
}

/**
 * A fit callback that waits for the monitored loss to plateau (`patience` epochs without improving by
 * `minDelta`), then unfreezes the next `step` frozen layer groups below the trainable top, and adds their
 * parameters to the optimizer with `addParamGroup` (those it already holds, frozen, simply start training)
 * at rates spread down from the top: group k of K gets `baseLr / factor^(K-1-k)`. The plateau count restarts
 * after each unfreezing. Adds `unfrozen` (groups unfrozen so far by this callback) to each epoch's logs.
 * @example
 * model.freeze(); model.unfreeze('outputs');
 * await tg.fit(model, data, { epochs: 20, optimizer, loss, validation,
 *   callbacks: [new tg.transfer.ProgressiveUnfreezing(model, { patience: 2 })] });
 */
export class ProgressiveUnfreezing implements Callback {
  readonly #model: Module;
  readonly #o: ProgressiveUnfreezingOptions;
  #groups: ResolvedGroup[] = [];
  #lrs: number[] = [];
  #best = Infinity;
  #wait = 0;
  /** Groups unfrozen so far. */
  unfrozen = 0;

  constructor(model: Module, options: ProgressiveUnfreezingOptions = {}) {
    const fn = 'ProgressiveUnfreezing';
    for (const k of ['patience', 'step'] as const) {
      const v = options[k];
      if (v !== undefined && (!Number.isInteger(v) || v < (k === 'step' ? 1 : 0))) throw new RangeError(`${fn}: ${k} must be an integer >= ${k === 'step' ? 1 : 0}, got ${String(v)}`);
    }
    this.#model = model;
    this.#o = options;
    this.#groups = resolveLayerGroups(model, options.groups, fn);
  }

  onTrainBegin(ctx: FitContext): void {
    const opt = checkGrowable(ctx.optimizer, 'ProgressiveUnfreezing');
    const baseLr = this.#o.baseLr ?? (opt.paramGroups?.[0] as { lr?: number } | undefined)?.lr;
    if (typeof baseLr !== 'number') throw new TypeError('ProgressiveUnfreezing: give baseLr (the optimizer does not report a learning rate)');
    this.#lrs = discriminativeLrs(this.#groups.length, { baseLr, factor: this.#o.factor ?? 2.6 });
    this.#best = Infinity;
    this.#wait = 0;
  }

  onEpochEnd(_epoch: number, logs: EpochLogs, ctx: FitContext): void {
    const key = this.#o.monitor ?? ('val_loss' in logs ? 'val_loss' : 'loss');
    const value = logs[key];
    if (typeof value !== 'number') throw new TorchError(`ProgressiveUnfreezing: the epoch logs have no '${key}' (keys: ${Object.keys(logs).join(', ')})`, { code: 'ERR_MISSING_METRIC' });
    if (value < this.#best - (this.#o.minDelta ?? 0)) {
      this.#best = value;
      this.#wait = 0;
    } else if (++this.#wait >= (this.#o.patience ?? 1)) {
      this.unfrozen += unfreezeNext(this.#model, this.#groups, this.#lrs, checkGrowable(ctx.optimizer, 'ProgressiveUnfreezing'), this.#o.step ?? 1);
      this.#wait = 0;
      // The next groups must beat what the model reaches with them, not the plateau's best.
      this.#best = Infinity;
    }
    logs.unfrozen = this.unfrozen;
  }
}

/** An optimizer that takes new parameter groups (tg.optim's do). */
export interface GrowableOptimizer extends StepOptimizer {
  addParamGroup(group: { params: [string, Tensor][]; lr: number }): void;
  readonly paramGroups?: readonly { readonly params: readonly Tensor[] }[];
}

/**
 * Unfreezes the highest `count` frozen groups below the trainable ones, and gives the optimizer those of their
 * parameters it does not hold yet, in a new group at the group's rate. Returns how many groups it unfroze.
 */
export function unfreezeNext(model: Module, groups: ResolvedGroup[], lrs: number[], optimizer: GrowableOptimizer, count: number): number {
  let done = 0;
  for (let g = groups.length - 1; g >= 0 && done < count; g--) {
    const params = groups[g].params;
    if (params.every(([, p]) => p.requiresGrad)) continue;
    const names = new Set(params.map(([n]) => n));
    model.unfreeze((n) => names.has(n));
    const held = new Set<Tensor>((optimizer.paramGroups ?? []).flatMap((pg) => [...pg.params]));
    const fresh = params.filter(([, p]) => !held.has(p));
    if (fresh.length) optimizer.addParamGroup({ params: fresh, lr: lrs[g] });
    done++;
  }
  return done;
}

/** The optimizer, checked to take new parameter groups. */
function checkGrowable(o: StepOptimizer, fn: string): GrowableOptimizer {
  if (typeof (o as Partial<GrowableOptimizer>).addParamGroup !== 'function') throw new TypeError(`${fn}: the optimizer must support addParamGroup (tg.optim's do)`);
  return o as GrowableOptimizer;
}
