/** Max-margin learning: a scorer trained so good instances outscore bad ones by a margin (marginRankingLoss). */
import type { Tensor } from '../../tensor';
import type { Module } from '../../nn/module';
import * as F from '../../nn/functional';
import { onesLike } from '../../creation';
import { tidy } from '../../memory';
import { noGrad } from '../../autograd';
import { PretrainFitOptions, PretrainHistory, runIndexed } from '../train-loop';

/** Options of `trainScorer`. */
export interface ScorerOptions extends PretrainFitOptions {
  /** How much higher a good instance must score than its bad partner (default 1). */
  margin?: number;
}

/** A scorer's scores as one value per sample, whether it outputs [n] or [n, 1]. */
function scores(scorer: Module, x: Tensor): Tensor {
  return tidy(() => (scorer.forward(x) as Tensor).reshape([-1]));
}

/**
 * Trains `scorer` (any module giving one score per sample) on pairs: row i of `good` must outscore row i of `bad` by
 * `margin`, loss max(0, margin - (s(good) - s(bad))). Adam, lr 1e-3 by default.
 * @returns the ranking loss before training and after each epoch, and the fraction of pairs ranked right.
 * @example await tg.pretrain.auxiliary.trainScorer(scorer, realWindows, windowsWithAWrongWord, { margin: 1 });
 */
export async function trainScorer(scorer: Module, good: Tensor, bad: Tensor, options: ScorerOptions = {}): Promise<PretrainHistory & { pairAccuracy: number }> {
  if (good.shape.join() !== bad.shape.join()) throw new RangeError(`trainScorer(): good [${good.shape}] and bad [${bad.shape}] must have the same shape (paired rows)`);
  const margin = options.margin ?? 1;
  const loss = (g: Tensor, b: Tensor) => tidy(() => {
    const sg = scores(scorer, g);
    return F.marginRankingLoss(sg, scores(scorer, b), onesLike(sg), { margin });
  });
  const history = await runIndexed(good.shape[0], scorer.parameters().filter((p) => p.requiresGrad), options, { lr: 1e-3, kind: 'adam' },
    (idx) => loss(good.indexSelect(0, idx), bad.indexSelect(0, idx)), () => tidy(() => loss(good, bad).item()), 'trainScorer', 'ranking loss');
  const pairAccuracy = noGrad(() => tidy(() => scores(scorer, good).gt(scores(scorer, bad)).to({ dtype: 'float32' }).mean().item()));
  return { ...history, pairAccuracy };
}
