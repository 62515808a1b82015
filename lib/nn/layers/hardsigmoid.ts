/** Hardsigmoid: relu6(x + 3) / 6, the gate of MobileNetV3's squeeze-and-excitation, as torch.nn.Hardsigmoid. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import { checkInput } from './common';
import { hardtanh } from './hardtanh';

const ANY_RANK = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/**
 * min(max(x + 3, 0), 6) / 6, composed from clamp and div (no native hardsigmoid yet); its gradient is 1/6 strictly
 * inside (-3, 3) and 0 elsewhere, the bounds included, as PyTorch's.
 */
export function hardsigmoid(x: Tensor): Tensor {
  // Without a graph to record: one new tensor, updated in place.
  if (!x.requiresGrad) return x.add(3).clamp_(0, 6).div_(6);
  const shifted = x.add(3);
  const clamped = hardtanh(shifted, 0, 6);
  try {
    return clamped.div(6);
  } finally {
    shifted.dispose();
    clamped.dispose();
  }
}

/** relu6(x + 3) / 6, as torch.nn.Hardsigmoid. */
export class Hardsigmoid extends Module {
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return hardsigmoid(checkInput(x, ANY_RANK, 'Hardsigmoid'));
  }
}
