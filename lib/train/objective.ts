/**
 * The training objective: the loss of a batch with fit's classWeights and a dataset's sample weights applied, and the
 * batch's share in a weighted mean (what gradient accumulation divides by).
 */
import * as F from '../nn/functional';
import { isTensor, Tensor } from '../tensor';
import { tensor } from '../creation';
import { dispose, keep } from '../memory';
import { LossFn, LossSpec, resolveLoss } from './losses';

/** A batch's loss and the denominator of its weighted mean (the example count when nothing is weighted). */
export interface BatchLoss {
  loss: Tensor;
  /** Computed on demand: only accumulation and evaluation need it. */
  norm(): Tensor | number;
}

/** The objective of one fit: call it per batch, dispose it after the run (it owns the class weights' copies). */
export interface Objective {
  (output: Tensor, target: Tensor, sampleWeights?: Tensor): BatchLoss;
  /** The loss without sample weights, for the native engine's trace. */
  plain: LossFn;
  dispose(): void;
}

// Named losses with their per-example form (reduction 'none', averaged over the non-batch dimensions).
const PER_EXAMPLE: Record<string, (o: Tensor, t: Tensor, w: Tensor | undefined) => Tensor> = {
  crossEntropy: (o, t, w) => F.crossEntropy(o, t, { weight: w, reduction: 'none' }),
  nll: (o, t, w) => F.nllLoss(o, t, { weight: w, reduction: 'none' }),
  mse: elementwise((o, t) => F.mseLoss(o, t, { reduction: 'none' })),
  l1: elementwise((o, t) => F.l1Loss(o, t, { reduction: 'none' })),
  smoothL1: elementwise((o, t) => F.smoothL1Loss(o, t, { reduction: 'none' })),
  bceWithLogits: elementwise((o, t) => F.binaryCrossEntropyWithLogits(o, t, { reduction: 'none' })),
  bce: elementwise((o, t) => F.binaryCrossEntropy(o, t, { reduction: 'none' })),
};

// As losses.ts: a [N] target meets a [N, 1] output by taking its shape and the output's dtype; then one value per row.
function elementwise(fn: (a: Tensor, b: Tensor) => Tensor): (o: Tensor, t: Tensor) => Tensor {
  return (o, t) => {
    const tt = t.numel === o.numel && t.shape.join() !== o.shape.join() ? t.reshape(o.shape) : t;
    const l = fn(o, tt.dtype === o.dtype ? tt : tt.to(o.dtype));
    return l.ndim <= 1 ? l : l.reshape([l.shape[0], -1]).mean(1);
  };
}

/**
 * Builds the objective of `spec` with optional class weights (one per class, for the named losses crossEntropy and
 * nll: PyTorch's `weight`, whose mean divides by the summed weights of the targets). Sample weights, when a batch
 * carries them, make the loss sum(w * l) / sum(w) over the batch's per-example losses l (named losses only).
 */
export function makeObjective(spec: LossSpec, classWeights: number[] | Tensor | undefined, where: string): Objective {
  const base = resolveLoss(spec, where);
  const cw = classWeights === undefined ? undefined : checkClassWeights(spec, classWeights, where);
  const copies = new Map<string, Tensor>();
  // the class weights on the output's device and in its dtype, made once per pair
  const weightFor = (o: Tensor): Tensor | undefined => {
    if (!cw) return undefined;
    const key = `${o.device}/${o.dtype}`;
    let w = copies.get(key);
    // kept: made inside the first batch's tidy, used by every batch
    if (!w) copies.set(key, (w = keep(cw.to({ device: o.device, dtype: o.dtype }).clone())));
    return w;
  };
  const named = typeof spec === 'string' ? PER_EXAMPLE[spec] : undefined;
  const plain: LossFn = cw
    ? (o, t) => (spec === 'nll' ? F.nllLoss(o, t, { weight: weightFor(o) }) : F.crossEntropy(o, t, { weight: weightFor(o) }))
    : base;
  const objective = ((o: Tensor, t: Tensor, sw?: Tensor): BatchLoss => {
    const n = o.shape[0] ?? 1;
    if (sw === undefined) {
      const loss = plain(o, t);
      // PyTorch's weighted mean over class-index targets divides by the targets' weights; probabilities by the count
      const norm = () => (cw && !t.dtype.startsWith('float') ? weightFor(o)!.indexSelect(0, t.reshape([-1])).sum() : n);
      return { loss, norm };
    }
    if (!named) throw new TypeError(`${where}: sample weights (a third field [x, y, w]) need a loss given by name (${Object.keys(PER_EXAMPLE).join(', ')}); a loss function returns one value per batch`);
    if (sw.numel !== n) throw new RangeError(`${where}: sample weights must hold one value per example: ${n} examples, weights of shape [${sw.shape.join(', ')}]`);
    const w = sw.reshape([n]).to(o.dtype);
    const perExample = named(o, t, weightFor(o));
    const eff = cw && !t.dtype.startsWith('float') ? w.mul(weightFor(o)!.indexSelect(0, t.reshape([-1]))) : w;
    const norm = eff.sum();
    return { loss: perExample.mul(w).sum().div(norm), norm: () => norm };
  }) as Objective;
  objective.plain = plain;
  objective.dispose = () => {
    dispose([...copies.values()]);
    copies.clear();
    if (cw && cw !== classWeights) cw.dispose();
  };
  return objective;
}

function checkClassWeights(spec: LossSpec, cw: number[] | Tensor, where: string): Tensor {
  if (spec !== 'crossEntropy' && spec !== 'nll')
    throw new TypeError(`${where}: classWeights apply to the losses 'crossEntropy' and 'nll'; for another loss, weigh inside your loss function`);
  if (isTensor(cw)) {
    if (cw.ndim !== 1 || !cw.dtype.startsWith('float')) throw new TypeError(`${where}: classWeights must be a 1-D floating tensor, got ${cw.dtype} [${cw.shape.join(', ')}]`);
    return cw;
  }
  if (!Array.isArray(cw) || cw.length === 0 || !cw.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0))
    throw new TypeError(`${where}: classWeights must be an array of finite numbers >= 0 (one per class) or a tensor`);
  return tensor(cw, { dtype: 'float32' });
}

/**
 * The weighted mean of batch losses over a pass: each batch counts by its norm (its example count, or its summed
 * weights), so evaluate's answer is the mean over the whole data whatever the batch size.
 */
export class LossMean {
  private sum: Tensor | undefined;
  private weights: Tensor | undefined;
  private count = 0;

  /** Adds a batch's loss (its weighted mean) and norm. Call inside tidy and noGrad. */
  add(loss: Tensor, norm: Tensor | number): void {
    const value = loss.ndim === 0 ? loss : loss.reshape([]);
    if (!this.sum) this.sum = keep(value.detach().to({ dtype: 'float64', copy: true }).zero_());
    if (typeof norm === 'number') {
      this.sum.add_(value, norm);
      this.count += norm;
      return;
    }
    this.sum.add_(value.mul(norm));
    if (!this.weights) this.weights = keep(norm.detach().reshape([]).to({ dtype: 'float64', copy: true }).zero_());
    this.weights.add_(norm);
  }

  /** The mean so far (0 before any batch). */
  mean(): number {
    const w = this.count + (this.weights?.item() ?? 0);
    return (this.sum?.item() ?? 0) / (w || 1);
  }

  dispose(): void {
    dispose([this.sum, this.weights]);
    this.sum = this.weights = undefined;
  }
}
