/** Embedding: a lookup table of vectors indexed by integers. */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { noGrad } from '../../autograd';
import { Module } from '../module';
import * as F from '../functional';
import * as init from '../init';
import { FactoryOptions, checkInt, newTensor } from './common';

/** Options of Embedding. */
export interface EmbeddingOptions extends FactoryOptions {
  /** This index's row is zeros and gets no gradient (negative counts from the end). */
  paddingIdx?: number;
}

/** `weight` [numEmbeddings, embeddingDim] ~ N(0, 1) (the padding row zero), as PyTorch initialises it. */
export class Embedding extends Module {
  declare weight: Tensor;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | undefined;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    this.numEmbeddings = checkInt(numEmbeddings, 'numEmbeddings', 'Embedding');
    this.embeddingDim = checkInt(embeddingDim, 'embeddingDim', 'Embedding');
    let pad = options.paddingIdx;
    if (pad !== undefined) {
      if (!Number.isInteger(pad) || pad >= numEmbeddings || pad < -numEmbeddings)
        throw new RangeError(`Embedding: paddingIdx must be an integer in [-${numEmbeddings}, ${numEmbeddings}), got ${pad}`);
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    this.registerParameter('weight', newTensor([numEmbeddings, embeddingDim], options, 'Embedding'));
    this.resetParameters();
  }

  /** Re-draws weight from N(0, 1) and zeroes the padding row. */
  resetParameters(): void {
    init.normal_(this.weight);
    if (this.paddingIdx !== undefined) {
      const [w, i] = [this.weight, this.paddingIdx];
      noGrad(() => {
        const row = w.select(0, i);
        row.zero_();
        row.dispose();
      });
    }
  }

  /** Looks up the rows of integer indices (any shape); output has one more dimension of embeddingDim. */
  forward(input: Tensor): Tensor {
    if (!isTensor(input)) throw new TypeError('Embedding: expected a Tensor of integer indices');
    if (input.dtype !== 'int64' && input.dtype !== 'int32')
      throw new TypeError(`Embedding: expected int64 or int32 indices, got ${input.dtype} (convert with .long())`);
    return F.embedding(input, this.weight, this.paddingIdx);
  }

  extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx !== undefined ? `, paddingIdx=${this.paddingIdx}` : ''}`;
  }
}
