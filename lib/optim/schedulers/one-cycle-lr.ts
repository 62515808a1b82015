/** OneCycleLR: the 1cycle policy, stepped every batch (torch.optim.lr_scheduler.OneCycleLR). */
import { isFiniteNonNegative, isPositiveInteger, type StateReader } from './state-check';
import type { AnyOptimizer } from './lr-scheduler';
import { checkNumber, checkOptimizer, LRScheduler } from './lr-scheduler';

/** OneCycleLR's settings; `maxLr`, `baseMomentum` and `maxMomentum` take one value per group or one for all. */
export interface OneCycleLROptions {
  /** Peak learning rate of each group. */
  maxLr: number | number[];
  /** Steps in the cycle; or give `epochs` and `stepsPerEpoch`. */
  totalSteps?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the lr (default 0.3). */
  pctStart?: number;
  /** 'cos' (default) or 'linear'. */
  annealStrategy?: 'cos' | 'linear';
  /** Cycle momentum (SGD, RMSprop) or beta1 (Adam, AdamW) inversely to the lr (default true). */
  cycleMomentum?: boolean;
  /** Lowest momentum (default 0.85). */
  baseMomentum?: number | number[];
  /** Highest momentum (default 0.95). */
  maxMomentum?: number | number[];
  /** initialLr = maxLr / divFactor (default 25). */
  divFactor?: number;
  /** minLr = initialLr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** A third phase annihilating the lr after a symmetric rise and fall (default false). */
  threePhase?: boolean;
  /** The last step when resuming (default -1: start). */
  lastEpoch?: number;
}

type PhaseKey = 'initial' | 'max' | 'min';
/** One phase of the cycle, as PyTorch's _schedule_phases. */
export interface Phase {
  endStep: number;
  startLr: PhaseKey;
  endLr: PhaseKey;
  startMomentum: 'max' | 'base';
  endMomentum: 'max' | 'base';
}

function perGroup(value: number | number[], n: number, name: string): number[] {
  if (Array.isArray(value)) {
    if (value.length !== n) throw new RangeError(`OneCycleLR: expected ${n} values for ${name}, got ${value.length}`);
    return value.map((v, i) => checkNumber(v, `OneCycleLR: ${name}[${i}]`, Number.isFinite, 'a finite number'));
  }
  return new Array(n).fill(checkNumber(value, `OneCycleLR: ${name}`, Number.isFinite, 'a finite number'));
}

/**
 * The 1cycle learning-rate policy: from maxLr/divFactor up to maxLr, then down to a minimum far below, with
 * momentum (or Adam's beta1) moving the opposite way. Call `step()` after every batch.
 */
export class OneCycleLR extends LRScheduler {
  /** Steps in the whole cycle. */
  totalSteps: number;
  /** The two (or three) phases: the step each ends at, and what lr and momentum go from and to. */
  readonly phases: readonly Phase[];
  /** How values move within a phase. */
  readonly annealStrategy: 'cos' | 'linear';
  /** Whether momentum (or beta1) cycles opposite to the lr. */
  readonly cycleMomentum: boolean;
  /** Whether the momentum cycled is Adam's beta1. */
  readonly useBeta1: boolean;
  /** Per group: the lr the cycle starts from, its peak, and its end. */
  initialLrs: number[];
  maxLrs: number[];
  minLrs: number[];
  /** Per group: the momentum range cycled through. */
  maxMomentums: number[];
  baseMomentums: number[];

  constructor(optimizer: AnyOptimizer, options: OneCycleLROptions) {
    checkOptimizer(optimizer, 'OneCycleLR');
    const o = options ?? ({} as OneCycleLROptions);
    const lastEpoch = o.lastEpoch ?? -1;
    const groups = optimizer.paramGroups;
    // Before super(): PyTorch sets initial_lr from maxLr, which the base class then takes as the base lrs.
    const maxLrs = perGroup(o.maxLr, groups.length, 'maxLr');
    const divFactor = checkNumber(o.divFactor ?? 25, 'OneCycleLR: divFactor', (v) => v > 0, 'a number > 0');
    const finalDivFactor = checkNumber(o.finalDivFactor ?? 1e4, 'OneCycleLR: finalDivFactor', (v) => v > 0, 'a number > 0');
    const initialLrs = maxLrs.map((m) => m / divFactor);
    if (lastEpoch === -1) groups.forEach((g, i) => (g.initialLr = initialLrs[i]));
    super(optimizer, lastEpoch, 'OneCycleLR');
    const posInt = (v: number) => Number.isInteger(v) && v > 0;
    if (o.totalSteps === undefined && (o.epochs === undefined || o.stepsPerEpoch === undefined)) {
      throw new TypeError('OneCycleLR: give totalSteps, or epochs and stepsPerEpoch');
    }
    this.totalSteps =
      o.totalSteps !== undefined
        ? checkNumber(o.totalSteps, 'OneCycleLR: totalSteps', posInt, 'a positive integer')
        : checkNumber(o.epochs, 'OneCycleLR: epochs', posInt, 'a positive integer') *
          checkNumber(o.stepsPerEpoch, 'OneCycleLR: stepsPerEpoch', posInt, 'a positive integer');
    const pct = checkNumber(o.pctStart ?? 0.3, 'OneCycleLR: pctStart', (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
    const total = this.totalSteps;
    this.phases = o.threePhase
      ? [
          { endStep: pct * total - 1, startLr: 'initial', endLr: 'max', startMomentum: 'max', endMomentum: 'base' },
          { endStep: 2 * pct * total - 2, startLr: 'max', endLr: 'initial', startMomentum: 'base', endMomentum: 'max' },
          { endStep: total - 1, startLr: 'initial', endLr: 'min', startMomentum: 'max', endMomentum: 'max' },
        ]
      : [
          { endStep: pct * total - 1, startLr: 'initial', endLr: 'max', startMomentum: 'max', endMomentum: 'base' },
          { endStep: total - 1, startLr: 'max', endLr: 'min', startMomentum: 'base', endMomentum: 'max' },
        ];
    const strategy = o.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') throw new RangeError(`OneCycleLR: annealStrategy must be 'cos' or 'linear', got ${String(strategy)}`);
    this.annealStrategy = strategy;
    this.initialLrs = initialLrs;
    this.maxLrs = maxLrs;
    this.minLrs = initialLrs.map((l) => l / finalDivFactor);
    this.cycleMomentum = o.cycleMomentum ?? true;
    this.useBeta1 = 'betas' in optimizer.defaults;
    this.maxMomentums = perGroup(o.maxMomentum ?? 0.95, groups.length, 'maxMomentum');
    this.baseMomentums = perGroup(o.baseMomentum ?? 0.85, groups.length, 'baseMomentum');
    if (this.cycleMomentum) {
      if (!('momentum' in optimizer.defaults) && !this.useBeta1) {
        throw new TypeError('OneCycleLR: the optimizer has no momentum or betas to cycle; pass cycleMomentum: false');
      }
      if (lastEpoch === -1) groups.forEach((_, i) => this.#setMomentum(i, this.maxMomentums[i]));
    }
    this.initialStep();
  }

  #setMomentum(i: number, m: number): void {
    const g = this.optimizer.paramGroups[i];
    if (this.useBeta1) g.betas = [m, g.betas[1]];
    else g.momentum = m;
  }

  #anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'linear') return (end - start) * pct + start;
    const cosOut = Math.cos(Math.PI * pct) + 1;
    return end + ((start - end) / 2.0) * cosOut;
  }

  protected getLr(): number[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps) {
      throw new RangeError(`OneCycleLR: tried to step ${step + 1} times; the specified number of total steps is ${this.totalSteps}`);
    }
    const lrOf = { initial: this.initialLrs, max: this.maxLrs, min: this.minLrs };
    const momentumOf = { max: this.maxMomentums, base: this.baseMomentums };
    return this.optimizer.paramGroups.map((_, i) => {
      let start = 0;
      for (let k = 0; k < this.phases.length; k++) {
        const phase = this.phases[k];
        if (step <= phase.endStep || k === this.phases.length - 1) {
          const pct = (step - start) / (phase.endStep - start);
          if (this.cycleMomentum) this.#setMomentum(i, this.#anneal(momentumOf[phase.startMomentum][i], momentumOf[phase.endMomentum][i], pct));
          return this.#anneal(lrOf[phase.startLr][i], lrOf[phase.endLr][i], pct);
        }
        start = phase.endStep;
      }
      throw new Error('unreachable');
    });
  }

  protected settings(): Record<string, unknown> {
    return {
      totalSteps: this.totalSteps,
      initialLrs: [...this.initialLrs],
      maxLrs: [...this.maxLrs],
      minLrs: [...this.minLrs],
      maxMomentums: [...this.maxMomentums],
      baseMomentums: [...this.baseMomentums],
    };
  }

  protected readSettings(r: StateReader): () => void {
    const n = this.optimizer.paramGroups.length;
    const lists = (['initialLrs', 'maxLrs', 'minLrs', 'maxMomentums', 'baseMomentums'] as const).map(
      (key) => [key, r.numbers(key, this[key], n, isFiniteNonNegative, 'a finite number >= 0')] as const,
    );
    const totalSteps = r.number('totalSteps', this.totalSteps, isPositiveInteger, 'a positive integer');
    return () => {
      for (const [key, values] of lists) this[key] = values;
      this.totalSteps = totalSteps;
    };
  }
}
