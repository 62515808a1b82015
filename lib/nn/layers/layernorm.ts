/** LayerNorm: normalisation over the trailing dimensions of each sample. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import * as F from '../functional';
import * as init from '../init';
import { FactoryOptions, checkInput, checkInt, checkNumber, newTensor, repr } from './common';

/** Options of LayerNorm. */
export interface LayerNormOptions extends FactoryOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn `weight` (ones) and `bias` (zeros) of normalizedShape (default true). */
  elementwiseAffine?: boolean;
}

/** Normalises the last `normalizedShape.length` dimensions to zero mean and unit variance. */
export class LayerNorm extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;

  constructor(normalizedShape: number | number[], options: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(shape) || shape.length === 0) throw new TypeError(`LayerNorm: normalizedShape must be an integer or a non-empty list, got ${JSON.stringify(normalizedShape)}`);
    shape.forEach((d) => checkInt(d, 'normalizedShape', 'LayerNorm'));
    this.normalizedShape = [...shape];
    this.eps = checkNumber(options.eps ?? 1e-5, 'eps', 'LayerNorm', 0);
    this.elementwiseAffine = options.elementwiseAffine ?? true;
    this.registerParameter('weight', this.elementwiseAffine ? init.ones_(newTensor(shape, options, 'LayerNorm')) : null);
    this.registerParameter('bias', this.elementwiseAffine ? init.zeros_(newTensor(shape, options, 'LayerNorm')) : null);
  }

  /** Normalises input whose trailing dimensions equal normalizedShape. */
  forward(input: Tensor): Tensor {
    const n = this.normalizedShape.length;
    const x = checkInput(input, Array.from({ length: 8 }, (_, i) => i + n), 'LayerNorm');
    const tail = x.shape.slice(x.ndim - n);
    if (tail.some((d, i) => d !== this.normalizedShape[i]))
      throw new RangeError(`LayerNorm(${repr(this.normalizedShape)}): expected input ending in ${repr(this.normalizedShape)}, got shape [${x.shape.join(', ')}]`);
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  extraRepr(): string {
    return `${repr(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}
