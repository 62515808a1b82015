/**
 * Pretraining on an auxiliary corruption task: tell real instances from corrupted ones (the textbook's sentences
 * with a word replaced), then reuse the discriminator's lower layers.
 */
import type { Tensor } from '../../tensor';
import type { Module } from '../../nn/module';
import { Sequential } from '../../nn/sequential';
import { Linear } from '../../nn/layers/linear';
import * as F from '../../nn/functional';
import { cat, ones, zeros } from '../../creation';
import { tidy, keep } from '../../memory';
import { noGrad } from '../../autograd';
import { PretrainFitOptions, PretrainHistory, runIndexed } from '../train-loop';
import { outputFeatures } from './output-size';

/** Options of `corruptionTask`. */
export interface CorruptionTaskOptions extends PretrainFitOptions {
  /** Make a fresh corrupted copy of the data every epoch (default true); otherwise one fixed copy. */
  resample?: boolean;
}

/** What `corruptionTask` returns. */
export interface CorruptionTaskResult {
  /** The trained lower layers (the `encoder` you passed, trained in place): reuse them under a new head. */
  encoder: Module;
  /** encoder + a Linear(features, 1) giving the logit of "real". */
  discriminator: Sequential;
  /** Binary cross-entropy after each epoch. */
  history: PretrainHistory;
  /** Accuracy of the discriminator on real vs freshly corrupted data after training. */
  accuracy: number;
}

/**
 * Trains `encoder` + a one-logit head to tell `unlabeled` (label 1) from `corrupt(unlabeled)` (label 0) with
 * binary cross-entropy and Adam (lr 1e-3 by default).
 * @param corrupt a function returning a corrupted batch of the same shape (called without grad).
 * @example
 * const { encoder } = await tg.pretrain.auxiliary.corruptionTask(tower, x, (b) => b.flip([1]), { epochs: 3 });
 */
export async function corruptionTask(encoder: Module, unlabeled: Tensor, corrupt: (x: Tensor) => Tensor, options: CorruptionTaskOptions = {}): Promise<CorruptionTaskResult> {
  if (typeof corrupt !== 'function') throw new TypeError('corruptionTask(): corrupt must be a function (batch) => corrupted batch');
  const features = outputFeatures(encoder, unlabeled);
  const discriminator = new Sequential({ encoder, head: new Linear(features, 1, { dtype: unlabeled.dtype, device: unlabeled.device }) });
  const n = unlabeled.shape[0];
  const makeSet = () => keep(noGrad(() => tidy(() => {
    const bad = corrupt(unlabeled);
    if (bad.shape.join() !== unlabeled.shape.join()) throw new RangeError(`corruptionTask(): corrupt() returned shape [${bad.shape}], expected [${unlabeled.shape}]`);
    return cat([unlabeled, bad], 0);
  })));
  const labels = keep(tidy(() => cat([ones([n, 1]), zeros([n, 1])], 0).to({ dtype: unlabeled.dtype, device: unlabeled.device })));
  let all = makeSet();
  const lossOf = (x: Tensor, y: Tensor) => F.binaryCrossEntropyWithLogits(discriminator.forward(x) as Tensor, y);
  try {
    const history = await runIndexed(2 * n, discriminator.parameters().filter((p) => p.requiresGrad), {
      ...options,
      onEpoch: (e, v) => {
        if (options.resample ?? true) { all.dispose(); all = makeSet(); }
        options.onEpoch?.(e, v);
      },
    }, { lr: 1e-3, kind: 'adam' }, (idx) => lossOf(all.indexSelect(0, idx), labels.indexSelect(0, idx)),
    () => tidy(() => lossOf(all, labels).item()), 'corruptionTask', 'loss');
    const accuracy = noGrad(() => tidy(() => (discriminator.forward(all) as Tensor).gt(0).to({ dtype: labels.dtype }).eq(labels).to({ dtype: 'float32' }).mean().item()));
    return { encoder, discriminator, history, accuracy };
  } finally {
    all.dispose();
    labels.dispose();
  }
}
