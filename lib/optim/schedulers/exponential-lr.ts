/** ExponentialLR: multiplies each group's lr by gamma every epoch (torch.optim.lr_scheduler.ExponentialLR). */
import type { StateReader } from './state-check';
import type { AnyOptimizer } from './lr-scheduler';
import { checkNumber, LRScheduler } from './lr-scheduler';

/** ExponentialLR's settings. */
export interface ExponentialLROptions {
  /** Factor applied every epoch. */
  gamma: number;
  /** The last epoch when resuming (default -1: start). */
  lastEpoch?: number;
}

/** Decays every group's lr by `gamma` each epoch: lr = initialLr * gamma^epoch. */
export class ExponentialLR extends LRScheduler {
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: ExponentialLROptions) {
    super(optimizer, options?.lastEpoch ?? -1, 'ExponentialLR');
    this.gamma = checkNumber(options.gamma, 'ExponentialLR: gamma', Number.isFinite, 'a finite number');
    this.initialStep();
  }

  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }

  protected settings(): Record<string, unknown> {
    return { gamma: this.gamma };
  }

  protected readSettings(r: StateReader): () => void {
    const gamma = r.number('gamma', this.gamma, Number.isFinite, 'a finite number');
    return () => {
      this.gamma = gamma;
    };
  }
}
