/** SiLU (swish): x · sigmoid(x), EfficientNet's activation, as torch.nn.SiLU. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import { checkInput } from './common';
import { binding } from '../../native';

const ANY_RANK = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/** x · sigmoid(x): LibTorch's silu and its backward, as torch.nn.functional.silu. */
export function silu(x: Tensor): Tensor {
  return binding.functional.silu(x);
}

/** x · sigmoid(x), as torch.nn.SiLU (also called swish). */
export class SiLU extends Module {
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return silu(checkInput(x, ANY_RANK, 'SiLU'));
  }
}
