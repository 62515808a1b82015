/** Siamese towers for "same or different" tasks (the textbook's faces), by pair classification or triplet loss. */
import type { Tensor } from '../../tensor';
import { Module } from '../../nn/module';
import { Linear } from '../../nn/layers/linear';
import * as F from '../../nn/functional';
import { tidy } from '../../memory';
import { noGrad } from '../../autograd';
import { PretrainFitOptions, PretrainHistory, runIndexed } from '../train-loop';
import { outputFeatures } from './output-size';

/**
 * One `tower` applied to both inputs of a pair (one set of weights), and a head on |e(a) - e(b)| giving the logit
 * of "same". After training, reuse `tower` (freeze it, put a classifier on top).
 * @example
 * const s = new tg.pretrain.auxiliary.Siamese(tower, { sample: x });
 * await s.fitPairs(a, b, same, { epochs: 3 });
 */
export class Siamese extends Module {
  declare tower: Module;
  declare head: Linear;

  /** @param options `features`: the tower's output size, or `sample`: an input to measure it from. */
  constructor(tower: Module, options: { features?: number; sample?: Tensor }) {
    super();
    const features = options.features ?? (options.sample ? outputFeatures(tower, options.sample) : undefined);
    if (!features) throw new TypeError('Siamese: give features (the tower\'s output size) or a sample input');
    this.registerModule('tower', tower);
    this.registerModule('head', new Linear(features, 1));
  }

  /** The tower's embedding of x. */
  embed(x: Tensor): Tensor {
    return this.tower.forward(x) as Tensor;
  }

  /** Logits of "same" for rows of a and b, shape [n]. */
  forward(a: Tensor, b?: Tensor): Tensor {
    if (!b) throw new TypeError('Siamese.forward(a, b): two inputs');
    return tidy(() => this.head.forward(this.embed(a).sub(this.embed(b)).abs()).reshape([-1]));
  }

  /**
   * Trains tower and head on labelled pairs (`same` 1 or 0) with binary cross-entropy; Adam, lr 1e-3 by default.
   * @returns the loss before and after each epoch, and the accuracy on these pairs after training.
   */
  async fitPairs(a: Tensor, b: Tensor, same: Tensor, options: PretrainFitOptions = {}): Promise<PretrainHistory & { accuracy: number }> {
    const loss = (i?: Tensor) => tidy(() => {
      const [x, y, t] = i ? [a.indexSelect(0, i), b.indexSelect(0, i), same.indexSelect(0, i)] : [a, b, same];
      return F.binaryCrossEntropyWithLogits(this.forward(x, y), t.to({ dtype: a.dtype }));
    });
    const history = await runIndexed(a.shape[0], this.parameters().filter((p) => p.requiresGrad), options, { lr: 1e-3, kind: 'adam' },
      (i) => loss(i), () => tidy(() => loss().item()), 'Siamese', 'loss');
    return { ...history, accuracy: this.pairAccuracy(a, b, same) };
  }

  /** Fraction of pairs whose "same" logit has the sign of the label. */
  pairAccuracy(a: Tensor, b: Tensor, same: Tensor): number {
    return noGrad(() => tidy(() => this.forward(a, b).gt(0).to({ dtype: 'float32' }).eq(same.to({ dtype: 'float32' })).to({ dtype: 'float32' }).mean().item()));
  }

  /**
   * Trains the tower alone with the triplet margin loss: an anchor nearer its positive than its negative by `margin`.
   * @returns the loss before and after each epoch.
   */
  async fitTriplets(anchor: Tensor, positive: Tensor, negative: Tensor, options: PretrainFitOptions & { margin?: number } = {}): Promise<PretrainHistory> {
    const margin = options.margin ?? 1;
    const loss = (i?: Tensor) => tidy(() => {
      const [x, p, q] = i ? [anchor.indexSelect(0, i), positive.indexSelect(0, i), negative.indexSelect(0, i)] : [anchor, positive, negative];
      return F.tripletMarginLoss(this.embed(x), this.embed(p), this.embed(q), { margin });
    });
    return runIndexed(anchor.shape[0], this.tower.parameters().filter((p) => p.requiresGrad), options, { lr: 1e-3, kind: 'adam' },
      (i) => loss(i), () => tidy(() => loss().item()), 'Siamese', 'triplet loss');
  }
}
