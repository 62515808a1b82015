/** Dropout: random zeroing in training mode only. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import * as F from '../functional';
import { checkInput, checkNumber } from './common';

/** Zeroes each element with probability p in training mode (scaling the rest by 1/(1-p)); the identity in eval mode. */
export class Dropout extends Module {
  readonly p: number;

  /** @param p the probability of zeroing an element (default 0.5), or `{ p }`. */
  constructor(p: number | { p?: number } = 0.5) {
    super();
    const prob = typeof p === 'object' && p !== null ? p.p ?? 0.5 : p;
    this.p = checkNumber(prob, 'p (the dropout probability)', 'Dropout', 0, 1);
  }

  /** Applies dropout when training. */
  forward(input: Tensor): Tensor {
    return F.dropout(checkInput(input, [0, 1, 2, 3, 4, 5, 6, 7, 8], 'Dropout'), this.p, this.training);
  }

  extraRepr(): string {
    return `p=${this.p}`;
  }
}
