/** Hardswish: x · relu6(x + 3) / 6, MobileNetV3's activation, as torch.nn.Hardswish. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import { checkInput } from './common';
import { binding } from '../../native';

const ANY_RANK = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/** x · min(max(x + 3, 0), 6) / 6: LibTorch's hardswish and its backward, as torch.nn.functional.hardswish. */
export function hardswish(x: Tensor): Tensor {
  return binding.functional.hardswish(x);
}

/** x · relu6(x + 3) / 6, as torch.nn.Hardswish (MobileNetV3's activation). */
export class Hardswish extends Module {
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return hardswish(checkInput(x, ANY_RANK, 'Hardswish'));
  }
}
