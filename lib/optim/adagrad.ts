/** Adagrad: per-coordinate learning rates from the sum of squared gradients (torch.optim.Adagrad). */
import { Optimizer, OptimizerKind, ParamsOrGroups } from './optimizer';
import { nonNegative } from './options';

/** Adagrad's options, per group. */
export interface AdagradOptions {
  /** Learning rate (default 1e-2). */
  lr: number;
  /** Learning-rate decay per step (default 0). */
  lrDecay: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Starting value of the sums of squared gradients (default 0); each group's own value applies. */
  initialAccumulatorValue: number;
  /** Term added to the denominator (default 1e-10). */
  eps: number;
}

const KIND: OptimizerKind<AdagradOptions> = {
  name: 'Adagrad',
  native: 'adagrad',
  specs: { lr: nonNegative(1e-2), lrDecay: nonNegative(0), weightDecay: nonNegative(0), initialAccumulatorValue: nonNegative(0), eps: nonNegative(1e-10) },
  entries: { required: ['step', 'sum'], optional: [] },
};

/** Adagrad over LibTorch's implementation; same trajectory as PyTorch's `torch.optim.Adagrad`. */
export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: ParamsOrGroups<AdagradOptions>, options: Partial<AdagradOptions> = {}) {
    super(KIND, params, options);
  }
}
