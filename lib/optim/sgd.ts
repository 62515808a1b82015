/** Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay (torch.optim.SGD). */
import { Optimizer, OptimizerKind, ParamsOrGroups } from './optimizer';
import { finite, flag, nonNegative } from './options';

/** SGD's options, per group (PyTorch's names in camelCase). */
export interface SGDOptions {
  /** Learning rate (required: for the optimizer or for every group). */
  lr: number;
  /** Momentum factor (default 0). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay: number;
  /** Nesterov momentum; needs momentum > 0 and dampening 0 (default false). */
  nesterov: boolean;
}

const KIND: OptimizerKind<SGDOptions> = {
  name: 'SGD',
  native: 'sgd',
  specs: { lr: nonNegative(undefined), momentum: nonNegative(0), dampening: finite(0), weightDecay: nonNegative(0), nesterov: flag(false) },
  entries: { required: ['momentum_buffer'], optional: [] },
  check(o, where) {
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new RangeError(`${where}: Nesterov momentum requires a momentum > 0 and zero dampening (momentum ${o.momentum}, dampening ${o.dampening})`);
    }
  },
};

/**
 * SGD over LibTorch's implementation; same trajectory as PyTorch's `torch.optim.SGD`.
 * @example new tg.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9, nesterov: true })
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsOrGroups<SGDOptions>, options: Partial<SGDOptions> = {}) {
    super(KIND, params, options);
  }
}
