/** Linear: y = x Wᵀ + b, initialised as torch.nn.Linear. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import * as F from '../functional';
import { FactoryOptions, checkInt, checkInput, newTensor, resetWeightAndBias } from './common';

/** Options of Linear. */
export interface LinearOptions extends FactoryOptions {
  /** Whether to learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * A fully connected layer: `weight` [outFeatures, inFeatures], `bias` [outFeatures].
 * Weight ~ Kaiming uniform with a = √5 and bias ~ U(±1/√inFeatures), as PyTorch initialises it.
 */
export class Linear extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    this.inFeatures = checkInt(inFeatures, 'inFeatures', 'Linear', 0);
    this.outFeatures = checkInt(outFeatures, 'outFeatures', 'Linear', 0);
    this.registerParameter('weight', newTensor([outFeatures, inFeatures], options, 'Linear'));
    this.registerParameter('bias', options.bias ?? true ? newTensor([outFeatures], options, 'Linear') : null);
    this.resetParameters();
  }

  /** Re-draws the weights with PyTorch's default initialisation. */
  resetParameters(): void {
    resetWeightAndBias(this.weight, this.bias);
  }

  /** Applies the layer to input (..., inFeatures). */
  forward(input: Tensor): Tensor {
    const x = checkInput(input, [1, 2, 3, 4, 5, 6, 7, 8], 'Linear');
    if (x.shape[x.ndim - 1] !== this.inFeatures)
      throw new RangeError(`Linear(${this.inFeatures}, ${this.outFeatures}): expected input with last dimension ${this.inFeatures}, got shape [${x.shape.join(', ')}]`);
    return F.linear(x, this.weight, this.bias);
  }

  extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
