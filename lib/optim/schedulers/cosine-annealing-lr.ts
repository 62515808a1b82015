/** CosineAnnealingLR: each group's lr follows a cosine from its initial lr down to etaMin (torch.optim.lr_scheduler.CosineAnnealingLR). */
import { isFiniteNonNegative, isPositiveInteger, type StateReader } from './state-check';
import type { AnyOptimizer } from './lr-scheduler';
import { checkNumber, LRScheduler } from './lr-scheduler';

/** CosineAnnealingLR's settings. */
export interface CosineAnnealingLROptions {
  /** Epochs of half a cosine period (from the initial lr down to etaMin). */
  tMax: number;
  /** The lowest lr (default 0). */
  etaMin?: number;
  /** The last epoch when resuming (default -1: start). */
  lastEpoch?: number;
}

// Python's %, whose result takes the divisor's sign.
const pyMod = (a: number, n: number) => ((a % n) + n) % n;

/**
 * Anneals each group's lr with a cosine: lr = etaMin + (initialLr - etaMin) * (1 + cos(pi * epoch / tMax)) / 2,
 * computed recursively from the current lr as PyTorch does (so lr changes made in between carry on).
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;

  constructor(optimizer: AnyOptimizer, options: CosineAnnealingLROptions) {
    super(optimizer, options?.lastEpoch ?? -1, 'CosineAnnealingLR');
    this.tMax = checkNumber(options.tMax, 'CosineAnnealingLR: tMax', (v) => Number.isInteger(v) && v > 0, 'a positive integer');
    this.etaMin = checkNumber(options.etaMin ?? 0, 'CosineAnnealingLR: etaMin', (v) => Number.isFinite(v) && v >= 0, 'a number >= 0');
    this.initialStep();
  }

  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    const { lastEpoch: e, tMax: T, etaMin } = this;
    if (e === 0) return groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((base) => etaMin + ((base - etaMin) * (1 + Math.cos((e * Math.PI) / T))) / 2);
    }
    if (pyMod(e - 1 - T, 2 * T) === 0) {
      return groups.map((g, i) => g.lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T))) / 2);
    }
    return groups.map(
      (g) => ((1 + Math.cos((Math.PI * e) / T)) / (1 + Math.cos((Math.PI * (e - 1)) / T))) * (g.lr - etaMin) + etaMin,
    );
  }

  protected settings(): Record<string, unknown> {
    return { tMax: this.tMax, etaMin: this.etaMin };
  }

  protected readSettings(r: StateReader): () => void {
    const tMax = r.number('tMax', this.tMax, isPositiveInteger, 'a positive integer');
    const etaMin = r.number('etaMin', this.etaMin, isFiniteNonNegative, 'a number >= 0');
    return () => {
      this.tMax = tMax;
      this.etaMin = etaMin;
    };
  }
}
