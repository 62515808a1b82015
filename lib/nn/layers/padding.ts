/** ZeroPad2d: constant zero padding of the last two dimensions, as torch.nn.ZeroPad2d. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import * as F from '../functional';
import { checkInput } from './common';

/** Pads (N, C, H, W) or (C, H, W) input with zeros: `padding` is one int for all sides or [left, right, top, bottom]. */
export class ZeroPad2d extends Module {
  /** [left, right, top, bottom]. */
  readonly padding: number[];

  /** @param padding an int for all four sides, or [left, right, top, bottom] (negative values crop, as in PyTorch). */
  constructor(padding: number | number[]) {
    super();
    const list = typeof padding === 'number' ? [padding, padding, padding, padding] : padding;
    if (!Array.isArray(list) || list.length !== 4 || !list.every((p) => typeof p === 'number' && Number.isInteger(p)))
      throw new TypeError(`ZeroPad2d: padding must be an integer or [left, right, top, bottom] integers, got ${JSON.stringify(padding)}`);
    this.padding = [...list];
  }

  /** Pads the input. */
  forward(input: Tensor): Tensor {
    return F.pad(checkInput(input, [3, 4], 'ZeroPad2d'), this.padding, 0);
  }

  extraRepr(): string {
    return `padding=[${this.padding.join(', ')}]`;
  }
}
