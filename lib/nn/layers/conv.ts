/** Conv1d and Conv2d, with PyTorch's parameter names, shapes and default initialisation. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import * as F from '../functional';
import { FactoryOptions, checkInput, checkInt, newTensor, repr, resetWeightAndBias, tuple } from './common';

/** Options of Conv1d/Conv2d (PyTorch's keyword arguments). */
export interface ConvLayerOptions extends FactoryOptions {
  stride?: number | number[];
  /**
   * Zero padding on each side, or 'same' / 'valid'. 'same' with stride 1 is PyTorch's; with a stride > 1 (refused by
   * PyTorch) it pads as TensorFlow does, asymmetrically (the extra row/column after), so the output is ceil(in/stride).
   */
  padding?: number | number[] | 'same' | 'valid';
  dilation?: number | number[];
  groups?: number;
  bias?: boolean;
}

/** The common part of Conv1d and Conv2d. */
abstract class ConvNd extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[] | 'same' | 'valid';
  readonly dilation: number[];
  readonly groups: number;

  constructor(n: number, inChannels: number, outChannels: number, kernelSize: number | number[], o: ConvLayerOptions) {
    super();
    const name = this.constructor.name;
    this.inChannels = checkInt(inChannels, 'inChannels', name);
    this.outChannels = checkInt(outChannels, 'outChannels', name);
    this.kernelSize = tuple(kernelSize, n, 'kernelSize', name);
    this.stride = tuple(o.stride ?? 1, n, 'stride', name);
    const pad = o.padding ?? 0;
    this.padding = pad === 'same' || pad === 'valid' ? pad : tuple(pad, n, 'padding', name, 0);
    this.dilation = tuple(o.dilation ?? 1, n, 'dilation', name);
    this.groups = checkInt(o.groups ?? 1, 'groups', name);
    if (inChannels % this.groups !== 0) throw new RangeError(`${name}: inChannels (${inChannels}) must be divisible by groups (${this.groups})`);
    if (outChannels % this.groups !== 0) throw new RangeError(`${name}: outChannels (${outChannels}) must be divisible by groups (${this.groups})`);
    this.registerParameter('weight', newTensor([outChannels, inChannels / this.groups, ...this.kernelSize], o, name));
    this.registerParameter('bias', o.bias ?? true ? newTensor([outChannels], o, name) : null);
    this.resetParameters();
  }

  /** Re-draws the weights with PyTorch's default initialisation (Kaiming uniform, a = √5; bias U(±1/√fanIn)). */
  resetParameters(): void {
    resetWeightAndBias(this.weight, this.bias);
  }

  protected checkChannels(x: Tensor, dims: number[]): Tensor {
    const name = this.constructor.name;
    checkInput(x, dims, name);
    const c = x.shape[x.ndim - this.kernelSize.length - 1];
    if (c !== this.inChannels)
      throw new RangeError(`${name}: expected input with ${this.inChannels} channels, got ${c} (shape [${x.shape.join(', ')}])`);
    return x;
  }

  protected convOptions(): F.ConvOptions {
    const tfSame = this.padding === 'same' && this.stride.some((s) => s !== 1);
    return { stride: this.stride, padding: tfSame ? 0 : this.padding, dilation: this.dilation, groups: this.groups };
  }

  /**
   * With padding 'same' and a stride > 1 (which PyTorch refuses), pads as TensorFlow does: per spatial dimension
   * total = max((ceil(in/stride) - 1)·stride + (k-1)·dilation + 1 - in, 0), floor(total/2) before, the rest after.
   * Returns the input itself otherwise.
   */
  protected tfSamePad(x: Tensor): Tensor {
    if (this.padding !== 'same' || this.stride.every((s) => s === 1)) return x;
    const n = this.kernelSize.length;
    const pads: number[] = [];
    for (let i = n - 1; i >= 0; i--) {
      const size = x.shape[x.ndim - n + i];
      const total = Math.max((Math.ceil(size / this.stride[i]) - 1) * this.stride[i] + (this.kernelSize[i] - 1) * this.dilation[i] + 1 - size, 0);
      const before = Math.floor(total / 2);
      pads.push(before, total - before);
    }
    return F.pad(x, pads, 0);
  }

  /** Pads for TF-style 'same' when needed, convolves, and disposes the padded copy. */
  protected convolve(x: Tensor, conv: (input: Tensor, w: Tensor, b: Tensor | null, o: F.ConvOptions) => Tensor): Tensor {
    const padded = this.tfSamePad(x);
    try {
      return conv(padded, this.weight, this.bias, this.convOptions());
    } finally {
      if (padded !== x) padded.dispose();
    }
  }

  extraRepr(): string {
    const parts = [`${this.inChannels}, ${this.outChannels}`, `kernelSize=${repr(this.kernelSize)}`, `stride=${repr(this.stride)}`];
    if (this.padding !== 'valid' && (typeof this.padding === 'string' || this.padding.some((p) => p !== 0))) parts.push(`padding=${repr(this.padding)}`);
    if (this.dilation.some((d) => d !== 1)) parts.push(`dilation=${repr(this.dilation)}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (!this.bias) parts.push('bias=false');
    return parts.join(', ');
  }
}

/** 1-D convolution over (N, C, L) or unbatched (C, L) input; weight [out, in/groups, k]. */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, options);
  }

  /** Convolves the input. */
  forward(input: Tensor): Tensor {
    return this.convolve(this.checkChannels(input, [2, 3]), F.conv1d);
  }
}

/** 2-D convolution over (N, C, H, W) or unbatched (C, H, W) input; weight [out, in/groups, kH, kW]. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options);
  }

  /** Convolves the input. */
  forward(input: Tensor): Tensor {
    return this.convolve(this.checkChannels(input, [3, 4]), F.conv2d);
  }
}
