/** Loss modules over tg.nn.functional's losses, with PyTorch's options (camelCase) and buffer names. */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { Module } from '../module';
import * as F from '../functional';
import { checkNumber } from './common';

/** How a loss reduces over the batch. */
export type Reduction = F.Reduction;

function reductionOf(r: unknown, layer: string): Reduction {
  const v = r ?? 'mean';
  if (v !== 'mean' && v !== 'sum' && v !== 'none') throw new TypeError(`${layer}: reduction must be 'mean', 'sum' or 'none', got '${String(v)}'`);
  return v;
}

function tensors(layer: string, names: string[], values: unknown[]): void {
  values.forEach((v, i) => {
    if (!isTensor(v)) throw new TypeError(`${layer}: ${names[i]} must be a Tensor, got ${v === null ? 'null' : typeof v}`);
  });
}

function optionalTensor(v: unknown, what: string, layer: string): Tensor | null {
  if (v === undefined || v === null) return null;
  if (!isTensor(v)) throw new TypeError(`${layer}: ${what} must be a Tensor`);
  return v;
}

/** The common part of the losses: the reduction. */
abstract class Loss extends Module {
  readonly reduction: Reduction;
  constructor(reduction: unknown) {
    super();
    this.reduction = reductionOf(reduction, this.constructor.name);
  }
  extraRepr(): string {
    return `reduction='${this.reduction}'`;
  }
}

/** Options of CrossEntropyLoss and NLLLoss. */
export interface ClassLossOptions {
  /** Per-class weights [C] (a buffer named `weight`). */
  weight?: Tensor | null;
  /** Targets equal to this index are skipped (default -100). */
  ignoreIndex?: number;
  reduction?: Reduction;
}

/** Cross-entropy of logits (N, C, …) against class indices (N, …) or class probabilities. */
export class CrossEntropyLoss extends Loss {
  declare weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(options: ClassLossOptions & { labelSmoothing?: number } = {}) {
    super(options.reduction);
    this.registerBuffer('weight', optionalTensor(options.weight, 'weight', 'CrossEntropyLoss'));
    this.ignoreIndex = options.ignoreIndex ?? -100;
    this.labelSmoothing = checkNumber(options.labelSmoothing ?? 0, 'labelSmoothing', 'CrossEntropyLoss', 0, 1);
  }
  /** The loss of logits against targets. */
  forward(input: Tensor, target: Tensor): Tensor {
    tensors('CrossEntropyLoss', ['input', 'target'], [input, target]);
    return F.crossEntropy(input, target, { weight: this.weight, reduction: this.reduction, ignoreIndex: this.ignoreIndex, labelSmoothing: this.labelSmoothing });
  }
}

/** Negative log-likelihood of log-probabilities (N, C, …) against class indices (pair with LogSoftmax). */
export class NLLLoss extends Loss {
  declare weight: Tensor | null;
  readonly ignoreIndex: number;
  constructor(options: ClassLossOptions = {}) {
    super(options.reduction);
    this.registerBuffer('weight', optionalTensor(options.weight, 'weight', 'NLLLoss'));
    this.ignoreIndex = options.ignoreIndex ?? -100;
  }
  /** The loss of log-probabilities against targets. */
  forward(input: Tensor, target: Tensor): Tensor {
    tensors('NLLLoss', ['input', 'target'], [input, target]);
    return F.nllLoss(input, target, { weight: this.weight, reduction: this.reduction, ignoreIndex: this.ignoreIndex });
  }
}

/** Mean squared error. */
export class MSELoss extends Loss {
  constructor(options: { reduction?: Reduction } = {}) {
    super(options.reduction);
  }
  /** The loss of input against target (same shape). */
  forward(input: Tensor, target: Tensor): Tensor {
    tensors('MSELoss', ['input', 'target'], [input, target]);
    return F.mseLoss(input, target, { reduction: this.reduction });
  }
}

/** Mean absolute error. */
export class L1Loss extends Loss {
  constructor(options: { reduction?: Reduction } = {}) {
    super(options.reduction);
  }
  /** The loss of input against target (same shape). */
  forward(input: Tensor, target: Tensor): Tensor {
    tensors('L1Loss', ['input', 'target'], [input, target]);
    return F.l1Loss(input, target, { reduction: this.reduction });
  }
}

/** Smooth L1: quadratic below beta, linear above. */
export class SmoothL1Loss extends Loss {
  readonly beta: number;
  constructor(options: { reduction?: Reduction; beta?: number } = {}) {
    super(options.reduction);
    this.beta = checkNumber(options.beta ?? 1.0, 'beta', 'SmoothL1Loss', 0);
  }
  /** The loss of input against target (same shape). */
  forward(input: Tensor, target: Tensor): Tensor {
    tensors('SmoothL1Loss', ['input', 'target'], [input, target]);
    return F.smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
}

/** Binary cross-entropy over logits (sigmoid inside, numerically stable); buffers `weight` and `pos_weight`. */
export class BCEWithLogitsLoss extends Loss {
  declare weight: Tensor | null;
  declare pos_weight: Tensor | null;
  constructor(options: { weight?: Tensor | null; reduction?: Reduction; posWeight?: Tensor | null } = {}) {
    super(options.reduction);
    this.registerBuffer('weight', optionalTensor(options.weight, 'weight', 'BCEWithLogitsLoss'));
    this.registerBuffer('pos_weight', optionalTensor(options.posWeight, 'posWeight', 'BCEWithLogitsLoss'));
  }
  /** The loss of logits against targets in [0, 1] (same shape). */
  forward(input: Tensor, target: Tensor): Tensor {
    tensors('BCEWithLogitsLoss', ['input', 'target'], [input, target]);
    return F.binaryCrossEntropyWithLogits(input, target, { weight: this.weight, reduction: this.reduction, posWeight: this.pos_weight });
  }
}

/** Binary cross-entropy over probabilities; buffer `weight`. */
export class BCELoss extends Loss {
  declare weight: Tensor | null;
  constructor(options: { weight?: Tensor | null; reduction?: Reduction } = {}) {
    super(options.reduction);
    this.registerBuffer('weight', optionalTensor(options.weight, 'weight', 'BCELoss'));
  }
  /** The loss of probabilities against targets in [0, 1] (same shape). */
  forward(input: Tensor, target: Tensor): Tensor {
    tensors('BCELoss', ['input', 'target'], [input, target]);
    return F.binaryCrossEntropy(input, target, { weight: this.weight, reduction: this.reduction });
  }
}

/** max(0, -target · (input1 - input2) + margin): input1 should rank above input2 where target is 1. */
export class MarginRankingLoss extends Loss {
  readonly margin: number;
  constructor(options: { margin?: number; reduction?: Reduction } = {}) {
    super(options.reduction);
    this.margin = checkNumber(options.margin ?? 0, 'margin', 'MarginRankingLoss');
  }
  /** The loss of two score tensors and a ±1 target. */
  forward(input1: Tensor, input2: Tensor, target: Tensor): Tensor {
    tensors('MarginRankingLoss', ['input1', 'input2', 'target'], [input1, input2, target]);
    return F.marginRankingLoss(input1, input2, target, { margin: this.margin, reduction: this.reduction });
  }
}

/** Options of TripletMarginLoss. */
export interface TripletMarginLossOptions {
  margin?: number;
  /** The norm of the distance (default 2). */
  p?: number;
  eps?: number;
  /** Use the distance between positive and negative when it is smaller (default false). */
  swap?: boolean;
  reduction?: Reduction;
}

/** max(d(anchor, positive) - d(anchor, negative) + margin, 0). */
export class TripletMarginLoss extends Loss {
  readonly margin: number;
  readonly p: number;
  readonly eps: number;
  readonly swap: boolean;
  constructor(options: TripletMarginLossOptions = {}) {
    super(options.reduction);
    this.margin = checkNumber(options.margin ?? 1.0, 'margin', 'TripletMarginLoss', 0);
    this.p = checkNumber(options.p ?? 2, 'p', 'TripletMarginLoss', 0);
    this.eps = checkNumber(options.eps ?? 1e-6, 'eps', 'TripletMarginLoss', 0);
    this.swap = options.swap ?? false;
  }
  /** The loss of embeddings of anchors, positives and negatives. */
  forward(anchor: Tensor, positive: Tensor, negative: Tensor): Tensor {
    tensors('TripletMarginLoss', ['anchor', 'positive', 'negative'], [anchor, positive, negative]);
    return F.tripletMarginLoss(anchor, positive, negative, { margin: this.margin, p: this.p, eps: this.eps, swap: this.swap, reduction: this.reduction });
  }
}

/** Kullback-Leibler divergence of log-probabilities (input) from target probabilities. */
export class KLDivLoss extends Module {
  readonly reduction: Reduction | 'batchmean';
  readonly logTarget: boolean;
  constructor(options: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}) {
    super();
    const r = options.reduction ?? 'mean';
    this.reduction = r === 'batchmean' ? r : reductionOf(r, 'KLDivLoss');
    this.logTarget = options.logTarget ?? false;
  }
  /** The divergence of input (log-probabilities) from target. */
  forward(input: Tensor, target: Tensor): Tensor {
    tensors('KLDivLoss', ['input', 'target'], [input, target]);
    return F.klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
  extraRepr(): string {
    return `reduction='${this.reduction}'`;
  }
}
