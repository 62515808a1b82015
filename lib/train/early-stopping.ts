/** Early stopping: end training when a monitored value stops improving, optionally restoring the best weights. */
import { noGrad } from '../autograd';
import { dispose, tidy } from '../memory';
import { isTensor, Tensor } from '../tensor';
import type { Callback, FitContext } from './callbacks';
import type { History } from './history';
import type { EpochLogs, Trainable } from './types';

/** When to stop. */
export interface EarlyStoppingOptions {
  /** The logs key to watch (default 'val_loss'; a val_ key needs fit's validation option). */
  monitor?: string;
  /** Epochs without improvement before stopping (default 3). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** 'min' for losses, 'max' for accuracies; default: 'max' when the key names an accuracy or topK, else 'min'. */
  mode?: 'min' | 'max';
  /** At the end, load the weights of the best epoch back (needs the model's stateDict and loadStateDict). */
  restoreBest?: boolean;
}

type StateDict = Record<string, Tensor> | Map<string, Tensor>;

/**
 * Stops fit after `patience` epochs in which `monitor` did not improve on its best by more than `minDelta`.
 * @example tg.fit(net, train, { ..., validation, earlyStopping: { monitor: 'val_loss', patience: 5, restoreBest: true } })
 */
export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: 'min' | 'max';
  readonly restoreBest: boolean;
  /** The best value so far and the epoch it was seen in. */
  best = NaN;
  bestEpoch = -1;
  private wait = 0;
  private snapshot: StateDict | undefined;

  constructor(options: EarlyStoppingOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('earlyStopping: expected options such as { monitor, patience }');
    this.monitor = options.monitor ?? 'val_loss';
    this.patience = options.patience ?? 3;
    this.minDelta = options.minDelta ?? 0;
    this.restoreBest = options.restoreBest ?? false;
    if (typeof this.monitor !== 'string') throw new TypeError('earlyStopping: monitor must be a logs key such as val_loss');
    if (!Number.isInteger(this.patience) || this.patience < 0) throw new RangeError(`earlyStopping: patience must be a non-negative integer, got ${this.patience}`);
    if (typeof this.minDelta !== 'number' || !(this.minDelta >= 0)) throw new RangeError(`earlyStopping: minDelta must be a number >= 0, got ${this.minDelta}`);
    const guess = /acc|top\d/i.test(this.monitor) ? 'max' : 'min';
    this.mode = options.mode ?? guess;
    if (this.mode !== 'min' && this.mode !== 'max') throw new TypeError(`earlyStopping: mode must be 'min' or 'max', got ${String(this.mode)}`);
  }

  onTrainBegin(ctx: FitContext): void {
    if (this.restoreBest && (typeof ctx.model.stateDict !== 'function' || typeof ctx.model.loadStateDict !== 'function'))
      throw new TypeError('earlyStopping: restoreBest needs a model with stateDict() and loadStateDict() (tg.nn.Module has both)');
    this.best = NaN;
    this.bestEpoch = -1;
    this.wait = 0;
  }

  onEpochEnd(epoch: number, logs: EpochLogs, ctx: FitContext): void {
    const value = logs[this.monitor];
    if (typeof value !== 'number')
      throw new TypeError(
        `earlyStopping: '${this.monitor}' is not in the epoch logs (${Object.keys(logs).join(', ')})` +
          (this.monitor.startsWith('val_') ? '; validation keys need fit({ validation })' : ''),
      );
    const better = Number.isNaN(this.best) || (this.mode === 'min' ? value < this.best - this.minDelta : value > this.best + this.minDelta);
    if (better) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      if (this.restoreBest) this.takeSnapshot(ctx.model);
      return;
    }
    this.wait++;
    if (this.wait >= this.patience)
      ctx.stop(`earlyStopping: ${this.monitor} did not improve for ${this.wait} epoch(s); best ${this.best} at epoch ${this.bestEpoch}`);
  }

  onTrainEnd(history: History, ctx: FitContext): void {
    const snap = this.snapshot;
    if (!snap) return;
    this.snapshot = undefined;
    try {
      if (history.last()?.epoch !== this.bestEpoch) noGrad(() => ctx.model.loadStateDict!(snap));
    } finally {
      dispose(snap);
    }
  }

  private takeSnapshot(model: Trainable): void {
    const old = this.snapshot;
    // clones, because a state dict shares storage with the weights the next epochs update
    this.snapshot = tidy(() => {
      const sd = model.stateDict!();
      const clone = (t: Tensor): Tensor => {
        if (!isTensor(t)) throw new TypeError('earlyStopping: stateDict() must map names to tensors');
        return t.detach().clone();
      };
      if (sd instanceof Map) return new Map([...sd].map(([k, t]) => [k, clone(t)]));
      return Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, clone(t)]));
    });
    if (old) dispose(old);
  }
}
