/** RMSprop, optionally with momentum and centered (torch.optim.RMSprop). */
import { Optimizer, OptimizerKind, ParamsOrGroups } from './optimizer';
import { flag, nonNegative } from './options';

/** RMSprop's options, per group. */
export interface RMSpropOptions {
  /** Learning rate (default 1e-2). */
  lr: number;
  /** Smoothing constant of the squared-gradient average (default 0.99). */
  alpha: number;
  /** Term added to the denominator (default 1e-8). */
  eps: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Normalize by the estimated variance of the gradient instead of its second moment (default false). */
  centered: boolean;
}

const KIND: OptimizerKind<RMSpropOptions> = {
  name: 'RMSprop',
  native: 'rmsprop',
  specs: { lr: nonNegative(1e-2), alpha: nonNegative(0.99), eps: nonNegative(1e-8), weightDecay: nonNegative(0), momentum: nonNegative(0), centered: flag(false) },
  entries: { required: ['square_avg'], optional: ['step', 'momentum_buffer', 'grad_avg'] },
};

/** RMSprop over LibTorch's implementation; same trajectory as PyTorch's `torch.optim.RMSprop`. */
export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsOrGroups<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super(KIND, params, options);
  }
}
