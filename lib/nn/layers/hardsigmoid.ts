/** Hardsigmoid: relu6(x + 3) / 6, the gate of MobileNetV3's squeeze-and-excitation, as torch.nn.Hardsigmoid. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import { checkInput } from './common';
import { binding } from '../../native';

const ANY_RANK = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/** min(max(x + 3, 0), 6) / 6: LibTorch's hardsigmoid and its backward, as torch.nn.functional.hardsigmoid. */
export function hardsigmoid(x: Tensor): Tensor {
  return binding.functional.hardsigmoid(x);
}

/** relu6(x + 3) / 6, as torch.nn.Hardsigmoid. */
export class Hardsigmoid extends Module {
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return hardsigmoid(checkInput(x, ANY_RANK, 'Hardsigmoid'));
  }
}
