/** Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import * as F from '../functional';
import { checkInput, repr, tuple } from './common';

/** Options of MaxPool2d. */
export interface MaxPool2dOptions {
  /** Default: the kernel size. */
  stride?: number | number[];
  padding?: number | number[];
  dilation?: number | number[];
  ceilMode?: boolean;
}

/** 2-D max pooling over (N, C, H, W) or (C, H, W) input. */
export class MaxPool2d extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly dilation: number[];
  readonly ceilMode: boolean;

  constructor(kernelSize: number | number[], options: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = tuple(kernelSize, 2, 'kernelSize', 'MaxPool2d');
    this.stride = tuple(options.stride ?? this.kernelSize, 2, 'stride', 'MaxPool2d');
    this.padding = tuple(options.padding ?? 0, 2, 'padding', 'MaxPool2d', 0);
    this.dilation = tuple(options.dilation ?? 1, 2, 'dilation', 'MaxPool2d');
    this.ceilMode = options.ceilMode ?? false;
    if (this.padding.some((p, i) => p * 2 > this.kernelSize[i]))
      throw new RangeError(`MaxPool2d: padding ${repr(this.padding)} must be at most half the kernel size ${repr(this.kernelSize)}`);
  }

  /** Takes the maximum of each window. */
  forward(input: Tensor): Tensor {
    const x = checkInput(input, [3, 4], 'MaxPool2d');
    return F.maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode });
  }

  extraRepr(): string {
    return `kernelSize=${repr(this.kernelSize)}, stride=${repr(this.stride)}, padding=${repr(this.padding)}, dilation=${repr(this.dilation)}, ceilMode=${this.ceilMode}`;
  }
}

/** Options of AvgPool2d. */
export interface AvgPool2dOptions {
  /** Default: the kernel size. */
  stride?: number | number[];
  padding?: number | number[];
  ceilMode?: boolean;
  /** Count the zero padding in the average (default true). */
  countIncludePad?: boolean;
}

/** 2-D average pooling over (N, C, H, W) or (C, H, W) input. */
export class AvgPool2d extends Module {
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(kernelSize: number | number[], options: AvgPool2dOptions = {}) {
    super();
    this.kernelSize = tuple(kernelSize, 2, 'kernelSize', 'AvgPool2d');
    this.stride = tuple(options.stride ?? this.kernelSize, 2, 'stride', 'AvgPool2d');
    this.padding = tuple(options.padding ?? 0, 2, 'padding', 'AvgPool2d', 0);
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
    if (this.padding.some((p, i) => p * 2 > this.kernelSize[i]))
      throw new RangeError(`AvgPool2d: padding ${repr(this.padding)} must be at most half the kernel size ${repr(this.kernelSize)}`);
  }

  /** Averages each window. */
  forward(input: Tensor): Tensor {
    const x = checkInput(input, [3, 4], 'AvgPool2d');
    return F.avgPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, ceilMode: this.ceilMode, countIncludePad: this.countIncludePad });
  }

  extraRepr(): string {
    return `kernelSize=${repr(this.kernelSize)}, stride=${repr(this.stride)}, padding=${repr(this.padding)}`;
  }
}

/** Average pooling to a fixed output size (H, W) whatever the input size; (1, 1) is global average pooling. */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: number[];

  constructor(outputSize: number | number[]) {
    super();
    this.outputSize = tuple(outputSize, 2, 'outputSize', 'AdaptiveAvgPool2d');
  }

  /** Pools to outputSize. */
  forward(input: Tensor): Tensor {
    return F.adaptiveAvgPool2d(checkInput(input, [3, 4], 'AdaptiveAvgPool2d'), this.outputSize);
  }

  extraRepr(): string {
    return `outputSize=${repr(this.outputSize)}`;
  }
}
