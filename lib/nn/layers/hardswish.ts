/** Hardswish: x · relu6(x + 3) / 6, MobileNetV3's activation, as torch.nn.Hardswish. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import { checkInput } from './common';
import { hardtanh } from './hardtanh';

const ANY_RANK = [0, 1, 2, 3, 4, 5, 6, 7, 8];

/**
 * x · min(max(x + 3, 0), 6) / 6, composed from clamp, mul and div in the order of PyTorch's kernel (no native
 * hardswish yet); its gradient is (2x + 3) / 6 inside (-3, 3), 0 below and 1 above, as PyTorch's.
 */
export function hardswish(x: Tensor): Tensor {
  // Without a graph to record: one new tensor, updated in place (inference runs this in every MobileNetV3 block).
  if (!x.requiresGrad) return x.add(3).clamp_(0, 6).mul_(x).div_(6);
  const shifted = x.add(3);
  const gate = hardtanh(shifted, 0, 6);
  const prod = x.mul(gate);
  try {
    return prod.div(6);
  } finally {
    for (const t of [shifted, gate, prod]) t.dispose();
  }
}

/** x · relu6(x + 3) / 6, as torch.nn.Hardswish (MobileNetV3's activation). */
export class Hardswish extends Module {
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return hardswish(checkInput(x, ANY_RANK, 'Hardswish'));
  }
}
