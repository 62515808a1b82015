/** evaluate and predict: a model over data in eval mode without autograd, yielding to the event loop between batches. */
import type { AbortSignalLike } from '../portable-types';
import { cat } from '../creation';
import { noGrad } from '../autograd';
import { dispose, tidy } from '../memory';
import { isTensor, Tensor } from '../tensor';
import { runEval, withMode } from './eval-loop';
import type { LossSpec } from './losses';
import { makeObjective } from './objective';
import { checkSignal, throwIfAborted } from './abort';
import { checkFitKeys, EVALUATE_OPTION_KEYS, PREDICT_OPTION_KEYS } from './option-keys';
import { MetricSpec, resolveMetrics } from './metrics';
import { DataSource, prepareBatch, toSource, eventLoopYielder } from './source';
import type { Forward } from './types';
import { TorchError } from '../errors';

/** evaluate's options: a loss, metrics, or both. */
export interface EvaluateOptions {
  /** Batches of [x, y, w] make it the weighted mean sum(w * l) / sum(w) of the per-example losses (named losses). */
  loss?: LossSpec;
  metrics?: MetricSpec[] | MetricSpec;
  /** For data given as a dataset or tensors (default 32). */
  batchSize?: number;
  /** Batches are moved here before the forward pass. */
  device?: string;
  /** Once aborted, the call rejects with an AbortError (name 'AbortError', code 'ABORT_ERR') after the current batch. */
  signal?: AbortSignalLike;
}

/** predict's options. */
export interface PredictOptions {
  /** For data given as a tensor or dataset (default 32). */
  batchSize?: number;
  /** Batches are moved here before the forward pass. */
  device?: string;
  /** Once aborted, the call rejects with an AbortError (name 'AbortError', code 'ABORT_ERR') after the current batch. */
  signal?: AbortSignalLike;
}

function checkModel(model: unknown, where: string): Forward {
  if (model === null || typeof model !== 'object' || typeof (model as Forward).forward !== 'function')
    throw new TypeError(`${where}: model must have forward(x) (a tg.nn.Module)`);
  return model as Forward;
}

function checkBatchSize(v: unknown, where: string): number {
  if (v === undefined) return 32;
  if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${where}: batchSize must be a positive integer, got ${String(v)}`);
  return v as number;
}

/**
 * The mean loss and metrics of a model over data, in eval mode without autograd (the model's mode is restored).
 * @example const { loss, accuracy } = await tg.evaluate(net, testSet, { loss: 'crossEntropy', metrics: ['accuracy'] });
 */
export async function evaluate(model: Forward, data: DataSource, options: EvaluateOptions): Promise<Record<string, number>> {
  const m = checkModel(model, 'evaluate');
  if (options === null || typeof options !== 'object') throw new TypeError('evaluate: expected options { loss, metrics }');
  checkFitKeys(options, EVALUATE_OPTION_KEYS, 'evaluate');
  const signal = checkSignal(options.signal, 'evaluate');
  const objective = options.loss === undefined ? undefined : makeObjective(options.loss, undefined, 'evaluate');
  const metrics = resolveMetrics(options.metrics, 'evaluate');
  if (!objective && metrics.length === 0) throw new TypeError('evaluate: give a loss, metrics, or both');
  const source = toSource(data, { batchSize: checkBatchSize(options.batchSize, 'evaluate'), shuffle: false }, 'evaluate');
  throwIfAborted(signal, 'evaluate');
  return withMode(m, async () => {
    m.eval?.();
    return runEval(m, source, objective, metrics, options.device, 'evaluate', signal);
  });
}

/**
 * The model's outputs for every example, concatenated along dim 0 in data order (the caller owns the tensor).
 * data: a tensor of inputs, tensors [x] or [x, y], a dataset, a loader, or batches (the first field is the input).
 * @example const logits = await tg.predict(net, xTest, { batchSize: 256 });
 */
export async function predict(model: Forward, data: DataSource | Tensor, options: PredictOptions = {}): Promise<Tensor> {
  const m = checkModel(model, 'predict');
  if (options === null || typeof options !== 'object') throw new TypeError('predict: options must be an object such as { batchSize }');
  checkFitKeys(options, PREDICT_OPTION_KEYS, 'predict');
  const signal = checkSignal(options.signal, 'predict');
  const source = toSource(isTensor(data) ? [data] : data, { batchSize: checkBatchSize(options.batchSize, 'predict'), shuffle: false }, 'predict');
  throwIfAborted(signal, 'predict');
  const parts: Tensor[] = [];
  const yieldIfDue = eventLoopYielder();
  try {
    await withMode(m, async () => {
      m.eval?.();
      for await (const raw of source.epoch(0)) {
        const b = prepareBatch(raw, source.owned, options.device, 'predict');
        try {
          const out = tidy(() => noGrad(() => m.forward(b.fields[0])));
          if (!isTensor(out)) throw new TypeError('predict: forward must return a Tensor');
          parts.push(out);
        } finally {
          b.release();
        }
        const turn = yieldIfDue();
        if (turn) await turn;
        throwIfAborted(signal, 'predict');
      }
    });
    if (parts.length === 0) throw new TorchError('predict: the data gave no batches', { code: 'ERR_EMPTY_DATA' });
    return parts.length === 1 ? parts.pop()! : cat(parts, 0);
  } finally {
    dispose(parts);
  }
}
