/** Metrics: batch means by name ('accuracy', 'topK', 'mae', 'mse') or custom functions. */
import { keep } from '../memory';
import { isTensor, Tensor } from '../tensor';

/** A metric: (model output, target) -> the batch's mean value (a scalar tensor or a number). */
export type MetricFn = (output: Tensor, target: Tensor) => Tensor | number;

/** A metric by name ('accuracy', 'top5' or any 'topK', 'mae', 'mse'), a named function, or { name, fn }. */
export type MetricSpec = string | MetricFn | { name: string; fn: MetricFn };

/** A resolved metric: the key it gets in the logs, and its function. */
export interface Metric {
  name: string;
  fn: MetricFn;
}

/**
 * Fraction of correct predictions. With several output columns and integer targets: argmax over dim 1
 * equals the class index. With one output column (or none): a logit above 0 predicts 1 (pair with
 * bceWithLogits), compared with the 0/1 target.
 */
export function accuracy(output: Tensor, target: Tensor): Tensor {
  if (output.ndim >= 2 && output.shape[1] > 1) return output.argmax(1).eq(target.reshape(target.ndim > 1 ? [-1] : target.shape)).float().mean();
  const pred = output.reshape([-1]).gt(0);
  return pred.eq(target.reshape([-1]).gt(0.5)).float().mean();
}

/** Fraction of examples whose class index is among the k highest outputs. */
export function topK(k: number): MetricFn {
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`topK: k must be a positive integer, got ${k}`);
  return (output, target) => {
    if (output.ndim < 2 || output.shape[1] < k) throw new RangeError(`top${k}: needs outputs of shape [N, C] with C >= ${k}, got [${output.shape}]`);
    const { indices } = output.topk(k, 1);
    return indices.eq(target.reshape([-1, 1])).any(1).float().mean();
  };
}

const flatPair = (o: Tensor, t: Tensor): [Tensor, Tensor] => [o.reshape([-1]), t.reshape([-1]).to(o.dtype)];
/** Mean absolute error. */
export const mae: MetricFn = (o, t) => {
  const [a, b] = flatPair(o, t);
  return a.sub(b).abs().mean();
};
/** Mean squared error. */
export const mse: MetricFn = (o, t) => {
  const [a, b] = flatPair(o, t);
  return a.sub(b).square().mean();
};

/** Turns metric specs into named functions; throws on an unknown name or a duplicate key. */
export function resolveMetrics(specs: unknown, where: string): Metric[] {
  if (specs === undefined) return [];
  const list = Array.isArray(specs) ? specs : [specs];
  const out: Metric[] = list.map((s) => resolveMetric(s, where));
  const seen = new Set<string>(['loss', 'epoch', 'time']);
  for (const m of out) {
    if (seen.has(m.name)) throw new TypeError(`${where}: metric name '${m.name}' is used twice or is reserved (loss, epoch, time)`);
    seen.add(m.name);
  }
  return out;
}

function resolveMetric(s: unknown, where: string): Metric {
  if (typeof s === 'string') {
    if (s === 'accuracy' || s === 'acc') return { name: 'accuracy', fn: accuracy };
    if (s === 'mae' || s === 'mse') return { name: s, fn: s === 'mae' ? mae : mse };
    const m = /^top(\d+)$/.exec(s);
    if (m) return { name: s, fn: topK(Number(m[1])) };
    throw new TypeError(`${where}: unknown metric '${s}'; known: accuracy, topK (e.g. top5), mae, mse, or pass a function / { name, fn }`);
  }
  if (typeof s === 'function') {
    if (!s.name) throw new TypeError(`${where}: an anonymous metric function needs a name: pass { name, fn }`);
    return { name: s.name, fn: s as MetricFn };
  }
  if (s !== null && typeof s === 'object' && typeof (s as Metric).name === 'string' && typeof (s as Metric).fn === 'function') return s as Metric;
  throw new TypeError(`${where}: a metric must be a name, a named function, or { name, fn }`);
}

/** Weighted running means of batch values, summed on the values' device so no batch waits on a device sync. */
export class Accumulator {
  private readonly sums = new Map<string, Tensor>();
  private readonly numbers = new Map<string, number>();
  private readonly names: string[] = [];
  private weight = 0;

  /** Adds one batch: value is the batch mean, weight its example count. Call inside tidy and noGrad. */
  add(name: string, value: Tensor | number, weight: number): void {
    if (!this.names.includes(name)) this.names.push(name);
    if (typeof value === 'number') {
      this.numbers.set(name, (this.numbers.get(name) ?? 0) + value * weight);
      return;
    }
    if (!isTensor(value) || value.numel !== 1)
      throw new TypeError(`metric '${name}' must return a number or a one-element tensor (the batch mean)${isTensor(value) ? `, got shape [${value.shape}]` : ''}`);
    let sum = this.sums.get(name);
    if (!sum) {
      sum = value.detach().reshape([]).to({ dtype: 'float64', copy: true }).zero_();
      keep(sum); // lives across the batches' tidy scopes
      this.sums.set(name, sum);
    }
    // called under noGrad, so no detach; a [1]-shaped value needs a reshape to add into the 0-dim sum
    sum.add_(value.ndim === 0 ? value : value.reshape([]), weight);
  }

  /** Ends a batch of `weight` examples (after its values were added). */
  count(weight: number): void {
    this.weight += weight;
  }

  /** The means so far, by name. */
  means(): Record<string, number> {
    const out: Record<string, number> = {};
    const w = this.weight || 1;
    for (const k of this.names) out[k] = ((this.sums.get(k)?.item() ?? 0) + (this.numbers.get(k) ?? 0)) / w;
    return out;
  }

  /** Releases the running sums. */
  dispose(): void {
    for (const t of this.sums.values()) t.dispose();
    this.sums.clear();
  }
}
