/** Conv1d and Conv2d, with PyTorch's parameter names, shapes and default initialisation. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import * as F from '../functional';
import { FactoryOptions, checkInput, checkInt, newTensor, repr, resetWeightAndBias, tuple } from './common';

/** Options of Conv1d/Conv2d (PyTorch's keyword arguments). */
export interface ConvLayerOptions extends FactoryOptions {
  stride?: number | number[];
  /** Zero padding on each side, or 'same' / 'valid'. */
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
    if (pad === 'same' && this.stride.some((s) => s !== 1)) throw new RangeError(`${name}: padding 'same' needs stride 1`);
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
    return { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups };
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
    return F.conv1d(this.checkChannels(input, [2, 3]), this.weight, this.bias, this.convOptions());
  }
}

/** 2-D convolution over (N, C, H, W) or unbatched (C, H, W) input; weight [out, in/groups, kH, kW]. */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: number | number[], options: ConvLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options);
  }

  /** Convolves the input. */
  forward(input: Tensor): Tensor {
    return F.conv2d(this.checkChannels(input, [3, 4]), this.weight, this.bias, this.convOptions());
  }
}
