/** Activation layers: ReLU, ELU, SELU, LeakyReLU, GELU, Softplus, Tanh, Sigmoid, Softmax, LogSoftmax. */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { Module } from '../module';
import * as F from '../functional';
import { checkNumber } from './common';

function input(x: unknown, layer: string): Tensor {
  if (!isTensor(x)) throw new TypeError(`${layer}: expected a Tensor, got ${x === null ? 'null' : typeof x}`);
  return x;
}

/** max(0, x) */
export class ReLU extends Module {
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return F.relu(input(x, 'ReLU'));
  }
}

/** x for x > 0, alpha (eˣ - 1) otherwise. */
export class ELU extends Module {
  readonly alpha: number;
  constructor(options: { alpha?: number } = {}) {
    super();
    this.alpha = checkNumber(options.alpha ?? 1.0, 'alpha', 'ELU');
  }
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return F.elu(input(x, 'ELU'), this.alpha);
  }
  extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/** Scaled ELU with the self-normalising constants (pair it with LeCun normal initialisation). */
export class SELU extends Module {
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return F.selu(input(x, 'SELU'));
  }
}

/** max(0, x) + negativeSlope · min(0, x) */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  constructor(options: { negativeSlope?: number } = {}) {
    super();
    this.negativeSlope = checkNumber(options.negativeSlope ?? 0.01, 'negativeSlope', 'LeakyReLU');
  }
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return F.leakyRelu(input(x, 'LeakyReLU'), this.negativeSlope);
  }
  extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/** Gaussian error linear unit: exact (default) or the tanh approximation. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(options: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    const a = options.approximate ?? 'none';
    if (a !== 'none' && a !== 'tanh') throw new TypeError(`GELU: approximate must be 'none' or 'tanh', got '${String(a)}'`);
    this.approximate = a;
  }
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return F.gelu(input(x, 'GELU'), this.approximate);
  }
  extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** log(1 + exp(beta x)) / beta, linear above threshold. */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(options: { beta?: number; threshold?: number } = {}) {
    super();
    this.beta = checkNumber(options.beta ?? 1, 'beta', 'Softplus');
    this.threshold = checkNumber(options.threshold ?? 20, 'threshold', 'Softplus');
  }
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return F.softplus(input(x, 'Softplus'), this.beta, this.threshold);
  }
  extraRepr(): string {
    return `beta=${this.beta}, threshold=${this.threshold}`;
  }
}

/** Hyperbolic tangent. */
export class Tanh extends Module {
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return F.tanh(input(x, 'Tanh'));
  }
}

/** Logistic sigmoid. */
export class Sigmoid extends Module {
  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return F.sigmoid(input(x, 'Sigmoid'));
  }
}

function checkDim(dim: unknown, layer: string): number {
  // PyTorch's implicit dimension is deprecated and surprising on 4-D input: ask for it.
  if (typeof dim !== 'number' || !Number.isInteger(dim)) throw new TypeError(`${layer}: pass the dimension to normalise over, e.g. new tg.nn.${layer}(1)`);
  return dim;
}

function checkRange(x: Tensor, dim: number, layer: string): Tensor {
  const n = Math.max(x.ndim, 1);
  if (dim < -n || dim >= n) throw new RangeError(`${layer}(${dim}): dimension out of range for input of shape [${x.shape.join(', ')}]`);
  return x;
}

/** Softmax along a dimension: exp(xᵢ) / Σⱼ exp(xⱼ). */
export class Softmax extends Module {
  readonly dim: number;
  /** @param dim the dimension to normalise over, or `{ dim }`. */
  constructor(dim: number | { dim: number }) {
    super();
    this.dim = checkDim(typeof dim === 'object' && dim !== null ? dim.dim : dim, 'Softmax');
  }
  /** Applies softmax along dim. */
  forward(x: Tensor): Tensor {
    return F.softmax(checkRange(input(x, 'Softmax'), this.dim, 'Softmax'), this.dim);
  }
  extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

/** Log-softmax along a dimension (pair with NLLLoss). */
export class LogSoftmax extends Module {
  readonly dim: number;
  /** @param dim the dimension to normalise over, or `{ dim }`. */
  constructor(dim: number | { dim: number }) {
    super();
    this.dim = checkDim(typeof dim === 'object' && dim !== null ? dim.dim : dim, 'LogSoftmax');
  }
  /** Applies log-softmax along dim. */
  forward(x: Tensor): Tensor {
    return F.logSoftmax(checkRange(input(x, 'LogSoftmax'), this.dim, 'LogSoftmax'), this.dim);
  }
  extraRepr(): string {
    return `dim=${this.dim}`;
  }
}
