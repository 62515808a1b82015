/** Permute: reorders the dimensions of its input, as torchvision.ops.Permute (ConvNeXt's NCHW ⇄ NHWC). */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import { checkInput } from './common';

/** Returns `input.permute(dims)`, a view with the dimensions in the given order. */
export class Permute extends Module {
  readonly dims: number[];

  /** @param dims a permutation of 0..n-1, e.g. [0, 2, 3, 1] for NCHW → NHWC. */
  constructor(dims: number[]) {
    super();
    const sorted = Array.isArray(dims) ? [...dims].sort((a, b) => a - b) : null;
    if (!sorted || sorted.length === 0 || sorted.some((d, i) => d !== i))
      throw new TypeError(`Permute: dims must be a permutation of 0..n-1, got ${JSON.stringify(dims)}`);
    this.dims = [...dims];
  }

  /** Permutes input with as many dimensions as dims lists. */
  forward(input: Tensor): Tensor {
    return checkInput(input, [this.dims.length], 'Permute').permute(this.dims);
  }

  extraRepr(): string {
    return `dims=[${this.dims.join(', ')}]`;
  }
}
