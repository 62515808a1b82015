/** The evaluation pass shared by fit's validation and evaluate: eval mode, no autograd, one tidy per batch. */
import type { AbortSignalLike } from '../portable-types';
import { noGrad } from '../autograd';
import { tidy } from '../memory';
import type { Tensor } from '../tensor';
import { throwIfAborted } from './abort';
import { LossMean, type BatchLoss } from './objective';
import { Accumulator, Metric } from './metrics';
import { BatchSource, prepareBatch, eventLoopYielder } from './source';
import type { Forward } from './types';
import { TorchError } from '../errors';

/** Runs fn, then puts the model back in the mode it reported (training or not); eval mode when it reports none. */
export async function withMode<T>(model: Forward, fn: () => Promise<T>): Promise<T> {
  const was = model.training;
  try {
    return await fn();
  } finally {
    if (was === true) model.train?.(true);
    else model.eval?.();
  }
}

/** A batch's loss, weighted by the batch's sample weights `w` when it carries them ([x, y, w]), and its norm. */
export type EvalLoss = (output: Tensor, target: Tensor, sampleWeights?: Tensor) => BatchLoss;

/**
 * Means of the loss (when given) and metrics over one pass of source: metrics weighted by batch size, the loss by
 * batch norm (size, or summed sample weights: the weighted mean over all the data). Model must be in eval mode. An aborted signal throws an AbortError after the current batch.
 */
export async function runEval(
  model: Forward,
  source: BatchSource,
  lossFn: EvalLoss | undefined,
  metrics: Metric[],
  device: string | undefined,
  where: string,
  signal?: AbortSignalLike,
): Promise<Record<string, number>> {
  const acc = new Accumulator();
  const lossMean = new LossMean();
  let batches = 0;
  const yieldIfDue = eventLoopYielder();
  try {
    for await (const raw of source.epoch(0)) {
      const b = prepareBatch(raw, source.owned, device, where);
      try {
        const [x, y, w] = b.fields;
        if (y === undefined) throw new TypeError(`${where}: each batch needs a target: [x, y]`);
        const size = x.shape[0] ?? 1;
        tidy(() =>
          noGrad(() => {
            const out = model.forward(x);
            if (lossFn) {
              const { loss, norm } = lossFn(out, y, w);
              lossMean.add(loss, norm());
            }
            for (const m of metrics) acc.add(m.name, m.fn(out, y), size);
            acc.count(size);
          }),
        );
      } finally {
        b.release();
      }
      batches++;
      const turn = yieldIfDue();
      if (turn) await turn;
      throwIfAborted(signal, where);
    }
    if (batches === 0) throw new TorchError(`${where}: the data gave no batches`, { code: 'ERR_EMPTY_DATA' });
    return lossFn ? { loss: lossMean.mean(), ...acc.means() } : acc.means();
  } finally {
    acc.dispose();
    lossMean.dispose();
  }
}
