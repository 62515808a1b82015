/** tg.nn.functional: layers, activations and losses as functions, named after torch.nn.functional's. */
import { binding } from '../native';
import type { Tensor } from '../tensor';
import { noteUncountedWrite } from '../uncounted-writes';

const F = binding.functional;

type IntOrPair = number | [number, number] | number[];
/** How a loss reduces over the batch. */
export type Reduction = 'mean' | 'sum' | 'none';

/** y = x Wᵀ + b */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return F.linear(input, weight, bias);
}

/** Options of conv1d/conv2d. */
export interface ConvOptions {
  stride?: IntOrPair;
  padding?: IntOrPair | 'same' | 'valid';
  dilation?: IntOrPair;
  groups?: number;
}
// LibTorch 2.6's CPU grouped convolution computes wrong values for a channels-last (permuted) input: a depthwise 3x2
// kernel was off by up to 11, in Python 2.6 too; a contiguous copy of the input avoids it (test/nn-layers-extra).
function groupedSafe<T>(input: Tensor, groups: number | undefined, run: (x: Tensor) => T): T {
  if ((groups ?? 1) <= 1 || input.isContiguous()) return run(input);
  const x = input.contiguous();
  try {
    return run(x);
  } finally {
    x.dispose();
  }
}
/** 1-D convolution over (N, C, L) input. */
export function conv1d(input: Tensor, weight: Tensor, bias?: Tensor | null, o: ConvOptions = {}): Tensor {
  return groupedSafe(input, o.groups, (x) => F.conv1d(x, weight, bias, o.stride, o.padding, o.dilation, o.groups));
}
/** 2-D convolution over (N, C, H, W) input. */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor | null, o: ConvOptions = {}): Tensor {
  return groupedSafe(input, o.groups, (x) => F.conv2d(x, weight, bias, o.stride, o.padding, o.dilation, o.groups));
}

/** Options of the 2-D pools. */
export interface PoolOptions {
  stride?: IntOrPair;
  padding?: IntOrPair;
  dilation?: IntOrPair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}
/** 2-D max pooling. */
export function maxPool2d(input: Tensor, kernelSize: IntOrPair, o: PoolOptions = {}): Tensor {
  return F.maxPool2d(input, kernelSize, o.stride, o.padding, o.dilation, o.ceilMode);
}
/** 2-D average pooling. */
export function avgPool2d(input: Tensor, kernelSize: IntOrPair, o: PoolOptions = {}): Tensor {
  return F.avgPool2d(input, kernelSize, o.stride, o.padding, o.ceilMode, o.countIncludePad);
}
/** 2-D adaptive average pooling to a fixed output size. */
export function adaptiveAvgPool2d(input: Tensor, outputSize: IntOrPair): Tensor {
  return F.adaptiveAvgPool2d(input, outputSize);
}

/** Options of batchNorm. */
export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  training?: boolean;
  momentum?: number;
  eps?: number;
}
/**
 * Batch normalisation; in training mode it updates runningMean/runningVar in place. As in PyTorch, training on one
 * value per channel (N times the spatial sizes equal to 1) is a RangeError: its variance would be NaN.
 */
export function batchNorm(input: Tensor, runningMean: Tensor | null | undefined, runningVar: Tensor | null | undefined, o: BatchNormOptions = {}): Tensor {
  const training = o.training ?? false;
  if (training) checkBatchNormBatch(input);
  const out = F.batchNorm(input, runningMean, runningVar, o.weight, o.bias, training, o.momentum ?? 0.1, o.eps ?? 1e-5);
  if (training) {
    // LibTorch updated the running statistics in place without bumping their version counters (see uncounted-writes)
    noteUncountedWrite(runningMean);
    noteUncountedWrite(runningVar);
  }
  return out;
}

/** PyTorch's _verify_batch_size: refuses a training batch with one value per channel (the addon reports non-tensors). */
function checkBatchNormBatch(input: Tensor): void {
  if (!binding.isTensor(input) || input.ndim < 1) return;
  const shape = input.shape;
  const perChannel = shape[0] * shape.slice(2).reduce((a, b) => a * b, 1);
  if (perChannel === 1)
    throw new RangeError(`batchNorm(): expected more than 1 value per channel when training, got input size [${shape.join(', ')}]`);
}
/** Layer normalisation over the last dimensions. */
export function layerNorm(input: Tensor, normalizedShape: number | number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  return F.layerNorm(input, normalizedShape, weight, bias, eps);
}
/** Zeroes elements with probability p in training mode and rescales the rest by 1/(1-p). */
export function dropout(input: Tensor, p = 0.5, training = true): Tensor {
  return F.dropout(input, p, training);
}
/** Looks up rows of weight by integer indices. */
export function embedding(input: Tensor, weight: Tensor, paddingIdx?: number): Tensor {
  return F.embedding(input, weight, paddingIdx);
}

/** max(0, x) */
export const relu = (x: Tensor): Tensor => F.relu(x);
/** Exponential linear unit. */
export const elu = (x: Tensor, alpha = 1.0): Tensor => F.elu(x, alpha);
/** Scaled ELU (self-normalising). */
export const selu = (x: Tensor): Tensor => F.selu(x);
/** max(0, x) + negativeSlope * min(0, x) */
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => F.leakyRelu(x, negativeSlope);
/** In-place relu: overwrites x and returns it. */
export const relu_ = (x: Tensor): Tensor => F.relu_(x);
/** In-place elu: overwrites x and returns it. */
export const elu_ = (x: Tensor, alpha = 1.0): Tensor => F.elu_(x, alpha);
/** In-place selu: overwrites x and returns it. */
export const selu_ = (x: Tensor): Tensor => F.selu_(x);
/** In-place leakyRelu: overwrites x and returns it. */
export const leakyRelu_ = (x: Tensor, negativeSlope = 0.01): Tensor => F.leakyRelu_(x, negativeSlope);
/** Gaussian error linear unit (exact, or the tanh approximation). */
export const gelu = (x: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor => F.gelu(x, approximate);
/** log(1 + exp(beta x)) / beta */
export const softplus = (x: Tensor, beta = 1, threshold = 20): Tensor => F.softplus(x, beta, threshold);
/** Hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => F.tanh(x);
/** Logistic sigmoid. */
export const sigmoid = (x: Tensor): Tensor => F.sigmoid(x);
/** Softmax along dim. */
export const softmax = (x: Tensor, dim: number): Tensor => F.softmax(x, dim);
/** Log-softmax along dim. */
export const logSoftmax = (x: Tensor, dim: number): Tensor => F.logSoftmax(x, dim);

/** Options of interpolate. */
export interface InterpolateOptions {
  size?: number | number[];
  scaleFactor?: number;
  mode?: 'nearest' | 'linear' | 'bilinear' | 'bicubic';
  alignCorners?: boolean;
  /** For 'bilinear' and 'bicubic': low-pass filter when downsampling, as F.interpolate(antialias=True) and PIL. */
  antialias?: boolean;
}
/** Resizes (N, C, L) or (N, C, H, W) input. */
export function interpolate(input: Tensor, o: InterpolateOptions): Tensor {
  if (!o || typeof o !== 'object') throw new TypeError('interpolate(): expected options { size } or { scaleFactor }');
  return F.interpolate(input, o.size, o.scaleFactor, o.mode ?? 'nearest', o.alignCorners, o.antialias);
}

/** Options of the classification losses. */
export interface ClassLossOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}
/** Cross-entropy over logits with class indices (or probabilities) as targets. */
export function crossEntropy(input: Tensor, target: Tensor, o: ClassLossOptions = {}): Tensor {
  return F.crossEntropy(input, target, o.weight, o.reduction, o.ignoreIndex, o.labelSmoothing);
}
/** Negative log-likelihood over log-probabilities. */
export function nllLoss(input: Tensor, target: Tensor, o: ClassLossOptions = {}): Tensor {
  return F.nllLoss(input, target, o.weight, o.reduction, o.ignoreIndex);
}
/** Mean squared error. */
export function mseLoss(input: Tensor, target: Tensor, o: { reduction?: Reduction } = {}): Tensor {
  return F.mseLoss(input, target, o.reduction);
}
/** Mean absolute error. */
export function l1Loss(input: Tensor, target: Tensor, o: { reduction?: Reduction } = {}): Tensor {
  return F.l1Loss(input, target, o.reduction);
}
/** Huber-like smooth L1. */
export function smoothL1Loss(input: Tensor, target: Tensor, o: { reduction?: Reduction; beta?: number } = {}): Tensor {
  return F.smoothL1Loss(input, target, o.reduction, o.beta);
}
/** Binary cross-entropy over logits (numerically stable). */
export function binaryCrossEntropyWithLogits(
  input: Tensor,
  target: Tensor,
  o: { weight?: Tensor | null; reduction?: Reduction; posWeight?: Tensor | null } = {},
): Tensor {
  return F.binaryCrossEntropyWithLogits(input, target, o.weight, o.reduction, o.posWeight);
}
/** Binary cross-entropy over probabilities. */
export function binaryCrossEntropy(input: Tensor, target: Tensor, o: { weight?: Tensor | null; reduction?: Reduction } = {}): Tensor {
  return F.binaryCrossEntropy(input, target, o.weight, o.reduction);
}
/** max(0, -target * (input1 - input2) + margin): input1 should rank above input2 where target is 1. */
export function marginRankingLoss(input1: Tensor, input2: Tensor, target: Tensor, o: { margin?: number; reduction?: Reduction } = {}): Tensor {
  return F.marginRankingLoss(input1, input2, target, o.margin, o.reduction);
}
/** max(d(a, p) - d(a, n) + margin, 0) */
export function tripletMarginLoss(
  anchor: Tensor,
  positive: Tensor,
  negative: Tensor,
  o: { margin?: number; p?: number; eps?: number; swap?: boolean; reduction?: Reduction } = {},
): Tensor {
  return F.tripletMarginLoss(anchor, positive, negative, o.margin, o.p, o.eps, o.swap, o.reduction);
}
/** Kullback-Leibler divergence (input as log-probabilities). */
export function klDiv(input: Tensor, target: Tensor, o: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}): Tensor {
  if (o.reduction === 'batchmean') {
    const s = F.klDiv(input, target, 'sum', o.logTarget);
    const r = s.div(input.shape[0]);
    s.dispose();
    return r;
  }
  return F.klDiv(input, target, o.reduction, o.logTarget);
}
/** One-hot encoding of int64 indices. */
export function oneHot(indices: Tensor, numClasses = -1): Tensor {
  return F.oneHot(indices, numClasses);
}
/** Cosine similarity along dim. */
export function cosineSimilarity(x1: Tensor, x2: Tensor, dim = 1, eps = 1e-8): Tensor {
  return F.cosineSimilarity(x1, x2, dim, eps);
}
/** p-norm distance between rows. */
export function pairwiseDistance(x1: Tensor, x2: Tensor, p = 2, eps = 1e-6, keepdim = false): Tensor {
  return F.pairwiseDistance(x1, x2, p, eps, keepdim);
}
export { pad } from './pad';
export type { PadMode } from './pad';
// Composed from existing ops in their layer files until native kernels exist.
export { hardswish } from './layers/hardswish';
export { hardsigmoid } from './layers/hardsigmoid';
export { silu } from './layers/silu';
