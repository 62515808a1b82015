/** Layers that only pass data through or reshape it: Identity, Flatten. */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { Module } from '../module';

/** Returns its input unchanged (a placeholder, e.g. for a removed classifier). */
export class Identity extends Module {
  /** Returns input. */
  forward<T>(input: T): T {
    return input;
  }
}

/** Options of Flatten. */
export interface FlattenOptions {
  /** First dimension to flatten (default 1: keep the batch). */
  startDim?: number;
  /** Last dimension to flatten (default -1). */
  endDim?: number;
}

/** Flattens dimensions startDim..endDim into one: (N, C, H, W) -> (N, C·H·W). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(options: FlattenOptions = {}) {
    super();
    this.startDim = options.startDim ?? 1;
    this.endDim = options.endDim ?? -1;
    if (!Number.isInteger(this.startDim) || !Number.isInteger(this.endDim)) throw new TypeError('Flatten: startDim and endDim must be integers');
  }

  /** Flattens the input. */
  forward(input: Tensor): Tensor {
    if (!isTensor(input)) throw new TypeError('Flatten: expected a Tensor');
    const n = Math.max(input.ndim, 1);
    const s = this.startDim < 0 ? this.startDim + n : this.startDim;
    const e = this.endDim < 0 ? this.endDim + n : this.endDim;
    if (s < 0 || s >= n || e < 0 || e >= n || s > e)
      throw new RangeError(`Flatten(startDim=${this.startDim}, endDim=${this.endDim}): out of range for input of shape [${input.shape.join(', ')}]`);
    return input.flatten(this.startDim, this.endDim);
  }

  extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}
