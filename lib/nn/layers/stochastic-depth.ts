/** StochasticDepth: drops whole residual branches at random while training, as torchvision.ops.StochasticDepth. */
import type { Tensor } from '../../tensor';
import { empty } from '../../creation';
import { Module } from '../module';
import { checkInput, checkNumber } from './common';

/**
 * Zeroes the input per sample (`mode: 'row'`) or as a whole (`'batch'`) with probability p in training mode, scaling
 * what survives by 1/(1-p); the identity in eval mode. Draws one Bernoulli tensor from the global generator, as
 * torchvision.ops.stochastic_depth does, so a seed gives the same mask as in PyTorch.
 */
export class StochasticDepth extends Module {
  readonly p: number;
  readonly mode: 'row' | 'batch';

  /** @param p the probability of dropping; @param mode 'row' (per sample) or 'batch' (all samples at once). */
  constructor(p: number, mode: 'row' | 'batch') {
    super();
    this.p = checkNumber(p, 'p (the drop probability)', 'StochasticDepth', 0, 1);
    if (mode !== 'row' && mode !== 'batch') throw new TypeError(`StochasticDepth: mode must be 'row' or 'batch', got ${JSON.stringify(mode)}`);
    this.mode = mode;
  }

  /** Applies stochastic depth when training. */
  forward(input: Tensor): Tensor {
    const x = checkInput(input, [1, 2, 3, 4, 5, 6, 7, 8], 'StochasticDepth');
    if (!this.training || this.p === 0) return x;
    const survival = 1 - this.p;
    const size = this.mode === 'row' ? [x.shape[0], ...new Array<number>(x.ndim - 1).fill(1)] : new Array<number>(x.ndim).fill(1);
    const noise = empty(size, { dtype: x.dtype, device: x.device }).bernoulli_(survival);
    if (survival > 0) noise.div_(survival);
    const out = x.mul(noise);
    noise.dispose();
    return out;
  }

  extraRepr(): string {
    return `p=${this.p}, mode=${this.mode}`;
  }
}
