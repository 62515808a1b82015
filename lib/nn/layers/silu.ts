/** SiLU (swish): x · sigmoid(x), EfficientNet's activation, as torch.nn.SiLU. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import { checkInput } from './common';

const ANY_RANK = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/** x · sigmoid(x), composed from sigmoid and mul (no native silu yet); autograd gives PyTorch's gradient. */
export function silu(x: Tensor): Tensor {
  // Without a graph to record: one new tensor, updated in place.
  if (!x.requiresGrad) return x.sigmoid().mul_(x);
  const s = x.sigmoid();
  try {
    return x.mul(s);
  } finally {
    s.dispose();
  }
}

/** x · sigmoid(x), as torch.nn.SiLU (also called swish). */
export class SiLU extends Module {
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return silu(checkInput(x, ANY_RANK, 'SiLU'));
  }
}
