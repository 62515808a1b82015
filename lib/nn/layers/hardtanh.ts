/** Clamping activations: Hardtanh (clamp to [minVal, maxVal]) and ReLU6 (clamp to [0, 6]). */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { Module } from '../module';
import { checkNumber } from './common';

/**
 * min(max(x, minVal), maxVal) with PyTorch's hardtanh gradient: 1 strictly inside (minVal, maxVal), 0 elsewhere,
 * the bounds included (a plain clamp passes it at the bounds).
 */
export function hardtanh(x: Tensor, minVal: number, maxVal: number): Tensor {
  const clamped = x.clamp(minVal, maxVal);
  if (!x.requiresGrad) return clamped;
  const above = x.gt(minVal);
  const below = x.lt(maxVal);
  const inside = above.logicalAnd(below);
  const fixed = clamped.detach();
  try {
    return x.where(inside, fixed);
  } finally {
    for (const t of [clamped, above, below, inside, fixed]) t.dispose();
  }
}

/** Options of Hardtanh (PyTorch's `min_val`, `max_val`). */
export interface HardtanhOptions {
  /** Lower bound (default -1). */
  minVal?: number;
  /** Upper bound (default 1). */
  maxVal?: number;
}

/** min(max(x, minVal), maxVal), as torch.nn.Hardtanh (the gradient is 0 at the bounds too, as PyTorch's). */
export class Hardtanh extends Module {
  readonly minVal: number;
  readonly maxVal: number;

  /** @param minVal lower bound (default -1), or `{ minVal, maxVal }`. @param maxVal upper bound (default 1). */
  constructor(minVal: number | HardtanhOptions = -1, maxVal = 1) {
    super();
    const o = typeof minVal === 'object' && minVal !== null ? minVal : { minVal, maxVal };
    const name = this.constructor.name;
    this.minVal = checkNumber(o.minVal ?? -1, 'minVal', name);
    this.maxVal = checkNumber(o.maxVal ?? 1, 'maxVal', name);
    if (this.maxVal <= this.minVal) throw new RangeError(`${name}: maxVal (${this.maxVal}) must be greater than minVal (${this.minVal})`);
  }

  /** Clamps the input. */
  forward(x: Tensor): Tensor {
    if (!isTensor(x)) throw new TypeError(`${this.constructor.name}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
    return hardtanh(x, this.minVal, this.maxVal);
  }

  extraRepr(): string {
    return `minVal=${this.minVal}, maxVal=${this.maxVal}`;
  }
}

/** min(max(0, x), 6), as torch.nn.ReLU6 (MobileNet's activation). */
export class ReLU6 extends Hardtanh {
  constructor() {
    super(0, 6);
  }

  extraRepr(): string {
    return '';
  }
}
