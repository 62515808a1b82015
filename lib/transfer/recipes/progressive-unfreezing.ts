/** ProgressiveUnfreezing: a fit callback that unfreezes the top pretrained layer groups each time the loss plateaus. */
import type { Module } from '../../nn/module';
import type { Callback, FitContext } from '../../train/callbacks';
import type { EpochLogs } from '../../train/types';
import { discriminativeLrs } from './discriminative';
import { LayerGroupSpec, ResolvedGroup, resolveLayerGroups } from './layer-groups';
import { checkGrowable, unfreezeNext } from './unfreeze-next';
import { TorchError } from '../../errors';

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
