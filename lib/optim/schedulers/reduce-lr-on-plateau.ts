/** ReduceLROnPlateau: lowers each group's lr when a metric stops improving (torch.optim.lr_scheduler.ReduceLROnPlateau). */
import { isFiniteNonNegative, isNonNegativeInteger, StateReader, stateObject } from './state-check';
import { isTensor, Tensor } from '../../tensor';
import type { AnyOptimizer } from './lr-scheduler';
import { checkNumber, checkOptimizer, SchedulerStateDict } from './lr-scheduler';

/** ReduceLROnPlateau's settings. */
export interface ReduceLROnPlateauOptions {
  /** 'min' (default): the metric should fall (a loss); 'max': it should rise (an accuracy). */
  mode?: 'min' | 'max';
  /** Factor of each reduction, < 1 (default 0.1). */
  factor?: number;
  /** Epochs without improvement tolerated before reducing (default 10). */
  patience?: number;
  /** Smallest change counted as an improvement (default 1e-4). */
  threshold?: number;
  /** 'rel' (default): relative to the best; 'abs': absolute. */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs to wait after a reduction before counting again (default 0). */
  cooldown?: number;
  /** Lowest lr, one for all groups or one per group (default 0). */
  minLr?: number | number[];
  /** Reductions smaller than this are skipped (default 1e-8). */
  eps?: number;
}

/** Multiplies every group's lr by `factor` once the metric has not improved for more than `patience` epochs. */
export class ReduceLROnPlateau {
  readonly optimizer: AnyOptimizer;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  /** The best metric seen. */
  best: number;
  /** Epochs since the best, outside cooldowns. */
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  #lastLr: number[] = [];

  constructor(optimizer: AnyOptimizer, options: ReduceLROnPlateauOptions = {}) {
    checkOptimizer(optimizer, 'ReduceLROnPlateau');
    this.optimizer = optimizer;
    const n = optimizer.paramGroups.length;
    this.factor = checkNumber(options.factor ?? 0.1, 'ReduceLROnPlateau: factor', (v) => v < 1, 'a factor < 1');
    this.mode = options.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max') throw new RangeError(`ReduceLROnPlateau: mode must be 'min' or 'max', got ${String(this.mode)}`);
    this.thresholdMode = options.thresholdMode ?? 'rel';
    if (this.thresholdMode !== 'rel' && this.thresholdMode !== 'abs') {
      throw new RangeError(`ReduceLROnPlateau: thresholdMode must be 'rel' or 'abs', got ${String(this.thresholdMode)}`);
    }
    this.patience = checkNumber(options.patience ?? 10, 'ReduceLROnPlateau: patience', (v) => v >= 0, 'a number >= 0');
    this.threshold = checkNumber(options.threshold ?? 1e-4, 'ReduceLROnPlateau: threshold', Number.isFinite, 'a finite number');
    this.cooldown = checkNumber(options.cooldown ?? 0, 'ReduceLROnPlateau: cooldown', (v) => v >= 0, 'a number >= 0');
    this.eps = checkNumber(options.eps ?? 1e-8, 'ReduceLROnPlateau: eps', (v) => v >= 0, 'a number >= 0');
    const minLr = options.minLr ?? 0;
    if (Array.isArray(minLr) && minLr.length !== n) throw new RangeError(`ReduceLROnPlateau: expected ${n} minLr values, got ${minLr.length}`);
    this.minLrs = (Array.isArray(minLr) ? minLr : new Array(n).fill(minLr)).map((v, i) =>
      checkNumber(v, `ReduceLROnPlateau: minLr[${i}]`, (x) => x >= 0, 'a number >= 0'),
    );
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.#lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  /** Records one epoch's metric (a number or a one-element tensor) and reduces the lrs if it has plateaued. */
  step(metric: number | Tensor): void {
    const current = isTensor(metric) ? metric.item() : metric;
    if (typeof current !== 'number') throw new TypeError('ReduceLROnPlateau.step: expected a number or a one-element Tensor');
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.cooldownCounter > 0) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0; // bad epochs in cooldown do not count
    }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const oldLr = g.lr;
        const newLr = Math.max(oldLr * this.factor, this.minLrs[i]);
        if (oldLr - newLr > this.eps) g.lr = newLr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.#lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Whether `a` improves on `best` by more than the threshold. */
  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min' && this.thresholdMode === 'rel') return a < best * (1 - this.threshold);
    if (this.mode === 'min') return a < best - this.threshold;
    if (this.thresholdMode === 'rel') return a > best * (this.threshold + 1);
    return a > best + this.threshold;
  }

  /** The learning rates after the last step(), one per group. */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  /** Progress to resume with loadStateDict(); `best` is null while it is infinite (JSON has no Infinity). */
  stateDict(): SchedulerStateDict {
    const best = Number.isFinite(this.best) ? this.best : null;
    return { best, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch, lastLr: [...this.#lastLr] };
  }

  /**
   * Restores what stateDict() returned (`best` null: no metric seen yet). A malformed state dict is refused with
   * ERR_SCHEDULER_STATE naming every problem, and changes nothing; absent fields keep their values.
   */
  loadStateDict(sd: SchedulerStateDict): void {
    const s = stateObject(sd, 'ReduceLROnPlateau');
    const r = new StateReader(s, 'ReduceLROnPlateau', ['best', 'numBadEpochs', 'cooldownCounter', 'lastEpoch', 'lastLr']);
    const initial = this.mode === 'min' ? Infinity : -Infinity;
    const best = s.best === null ? initial : r.number('best', this.best, (v) => v === initial || Number.isFinite(v), 'a number or null');
    const numBadEpochs = r.number('numBadEpochs', this.numBadEpochs, isNonNegativeInteger, 'an integer >= 0');
    const cooldownCounter = r.number('cooldownCounter', this.cooldownCounter, isNonNegativeInteger, 'an integer >= 0');
    const lastEpoch = r.number('lastEpoch', this.lastEpoch, isNonNegativeInteger, 'an integer >= 0');
    const lastLr = r.numbers('lastLr', this.#lastLr, this.optimizer.paramGroups.length, isFiniteNonNegative, 'a finite number >= 0');
    r.done();
    this.best = best;
    this.numBadEpochs = numBadEpochs;
    this.cooldownCounter = cooldownCounter;
    this.lastEpoch = lastEpoch;
    this.#lastLr = lastLr;
  }
}
