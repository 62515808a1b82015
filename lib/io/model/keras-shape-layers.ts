/**
 * Keras layers whose meaning depends on Keras' channels-last order, as modules over the builder's internal layout
 * (4-D tensors NCHW, other ranks as in Keras): Flatten and Reshape in Keras' NHWC order (so the Dense weights that
 * follow see the features Keras saw), Rescaling, global pooling, TF-'same' pooling, and Keras' ReLU.
 */
import type { Tensor } from '../../tensor';
import { ones } from '../../creation';
import * as F from '../../nn/functional';
import { Module } from '../../nn/module';

/** NCHW -> NHWC for a 4-D tensor (a view), else the tensor itself. */
export function toKerasOrder(x: Tensor): Tensor {
  return x.ndim === 4 ? x.permute([0, 2, 3, 1]) : x;
}

/** Flatten in Keras' order: a 4-D NCHW input is permuted to NHWC first. */
export class KerasFlatten extends Module {
  /** Flattens all but the batch dimension in Keras' order. */
  forward(x: Tensor): Tensor {
    const k = toKerasOrder(x);
    try {
      return k.reshape([k.shape[0], -1]);
    } finally {
      if (k !== x) k.dispose();
    }
  }
}

/** Keras' Reshape: `targetShape` (without the batch) in Keras' order; a 4-D result is returned NCHW. */
export class KerasReshape extends Module {
  readonly targetShape: number[];

  /** @param targetShape Keras' `target_shape` (one entry may be -1). */
  constructor(targetShape: number[]) {
    super();
    if (!Array.isArray(targetShape) || !targetShape.every((d) => Number.isInteger(d) && (d > 0 || d === -1)))
      throw new TypeError(`KerasReshape: target_shape must be a list of positive integers (or -1), got ${JSON.stringify(targetShape)}`);
    this.targetShape = [...targetShape];
  }

  /** Reshapes in Keras' order. */
  forward(x: Tensor): Tensor {
    const k = toKerasOrder(x);
    const r = k.reshape([k.shape[0], ...this.targetShape]);
    if (k !== x) k.dispose();
    if (r.ndim !== 4) return r;
    const p = r.permute([0, 3, 1, 2]);
    r.dispose();
    return p;
  }

  extraRepr(): string {
    return `targetShape=[${this.targetShape.join(', ')}]`;
  }
}

/** Keras' Rescaling: x · scale + offset. */
export class Rescaling extends Module {
  constructor(readonly scale: number, readonly offset = 0) {
    super();
    if (!Number.isFinite(scale) || !Number.isFinite(offset)) throw new RangeError(`Rescaling: scale and offset must be finite numbers, got ${scale}, ${offset}`);
  }

  /** Rescales the input. */
  forward(x: Tensor): Tensor {
    const s = x.mul(this.scale);
    if (this.offset === 0) return s;
    try {
      return s.add(this.offset);
    } finally {
      s.dispose();
    }
  }

  extraRepr(): string {
    return `scale=${this.scale}, offset=${this.offset}`;
  }
}

/** GlobalAveragePooling2D / GlobalMaxPooling2D over NCHW input: (N, C) or, with keepdims, (N, C, 1, 1). */
export class GlobalPool2d extends Module {
  constructor(readonly mode: 'avg' | 'max', readonly keepdims = false) {
    super();
  }

  /** Pools over the spatial dimensions. */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) throw new RangeError(`GlobalPool2d: expected 4-D input, got shape [${x.shape.join(', ')}]`);
    return this.mode === 'avg' ? x.mean([2, 3], this.keepdims) : x.amax([2, 3], this.keepdims);
  }

  extraRepr(): string {
    return `mode='${this.mode}', keepdims=${this.keepdims}`;
  }
}

/** GlobalAveragePooling1D / GlobalMaxPooling1D over Keras' (N, L, C): (N, C) or, with keepdims, (N, 1, C). */
export class GlobalPool1d extends Module {
  constructor(readonly mode: 'avg' | 'max', readonly keepdims = false) {
    super();
  }

  /** Pools over the steps. */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 3) throw new RangeError(`GlobalPool1d: expected (N, L, C) input, got shape [${x.shape.join(', ')}]`);
    return this.mode === 'avg' ? x.mean(1, this.keepdims) : x.amax(1, this.keepdims);
  }

  extraRepr(): string {
    return `mode='${this.mode}', keepdims=${this.keepdims}`;
  }
}

/** TensorFlow's 'same' padding of one dimension: [before, after]. */
export function tfSamePads(size: number, k: number, stride: number, dilation = 1): [number, number] {
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + (k - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * MaxPooling2D / AveragePooling2D with padding 'same' as TensorFlow pools: padded asymmetrically, max ignores the
 * padding (-inf) and the average counts only the real elements.
 */
export class SamePool2d extends Module {
  constructor(readonly mode: 'avg' | 'max', readonly kernelSize: number[], readonly stride: number[]) {
    super();
  }

  /** Pools the NCHW input. */
  forward(x: Tensor): Tensor {
    const [t, b] = tfSamePads(x.shape[2], this.kernelSize[0], this.stride[0]);
    const [l, r] = tfSamePads(x.shape[3], this.kernelSize[1], this.stride[1]);
    const o = { stride: this.stride };
    if (this.mode === 'max') {
      const p = F.pad(x, [l, r, t, b], -Infinity);
      try {
        return F.maxPool2d(p, this.kernelSize, o);
      } finally {
        p.dispose();
      }
    }
    const p = F.pad(x, [l, r, t, b], 0);
    const one = ones([1, 1, x.shape[2], x.shape[3]], { dtype: x.dtype, device: x.device });
    const pOne = F.pad(one, [l, r, t, b], 0);
    const sum = F.avgPool2d(p, this.kernelSize, o);
    const count = F.avgPool2d(pOne, this.kernelSize, o);
    try {
      return sum.div(count);
    } finally {
      for (const u of [p, one, pOne, sum, count]) u.dispose();
    }
  }

  extraRepr(): string {
    return `mode='${this.mode}', kernelSize=[${this.kernelSize.join(', ')}], stride=[${this.stride.join(', ')}], padding='same'`;
  }
}

/** Keras' ReLU layer: max(x, 0) with `negative_slope` below 0, capped at `max_value` (6 for ReLU6-style). */
export class KerasReLU extends Module {
  constructor(readonly maxValue: number | null = null, readonly negativeSlope = 0) {
    super();
  }

  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    const a = this.negativeSlope === 0 ? F.relu(x) : F.leakyRelu(x, this.negativeSlope);
    if (this.maxValue === null) return a;
    try {
      return a.clamp(null, this.maxValue);
    } finally {
      a.dispose();
    }
  }

  extraRepr(): string {
    return `maxValue=${this.maxValue}, negativeSlope=${this.negativeSlope}`;
  }
}
