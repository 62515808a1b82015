/** StepLR: multiplies each group's lr by gamma every stepSize epochs (torch.optim.lr_scheduler.StepLR). */
import { isPositiveInteger, type StateReader } from './state-check';
import type { AnyOptimizer } from './lr-scheduler';
import { checkNumber, LRScheduler } from './lr-scheduler';

/** StepLR's settings. */
export interface StepLROptions {
  /** Epochs between decays. */
  stepSize: number;
  /** Factor of each decay (default 0.1). */
  gamma?: number;
  /** The last epoch when resuming (default -1: start). */
  lastEpoch?: number;
}

/** Decays every group's lr by `gamma` every `stepSize` epochs: lr = initialLr * gamma^floor(epoch / stepSize). */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;

  constructor(optimizer: AnyOptimizer, options: StepLROptions) {
    super(optimizer, options?.lastEpoch ?? -1, 'StepLR');
    this.stepSize = checkNumber(options.stepSize, 'StepLR: stepSize', (v) => Number.isInteger(v) && v > 0, 'a positive integer');
    this.gamma = checkNumber(options.gamma ?? 0.1, 'StepLR: gamma', Number.isFinite, 'a finite number');
    this.initialStep();
  }

  protected getLr(): number[] {
    const groups = this.optimizer.paramGroups;
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return groups.map((g) => g.lr);
    return groups.map((g) => g.lr * this.gamma);
  }

  protected settings(): Record<string, unknown> {
    return { stepSize: this.stepSize, gamma: this.gamma };
  }

  protected readSettings(r: StateReader): () => void {
    const stepSize = r.number('stepSize', this.stepSize, isPositiveInteger, 'a positive integer');
    const gamma = r.number('gamma', this.gamma, Number.isFinite, 'a finite number');
    return () => {
      this.stepSize = stepSize;
      this.gamma = gamma;
    };
  }
}
