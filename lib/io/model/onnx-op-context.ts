/**
 * What an ONNX operator implementation receives (its node's attributes, the opset, the training flag) and the
 * helpers they share to read inputs and refuse bad ones with `ERR_ONNX_NODE`.
 */
import { TorchError } from '../../errors';
import type { Tensor } from '../../tensor';
import type { Attributes } from './onnx-attributes';

/** One node's run: its attributes, the model's default-domain opset and whether the module is training. */
export interface OpContext {
  attrs: Attributes;
  opset: number;
  training: boolean;
  /** "node 'name' (OpType)", for messages. */
  where: string;
}

/** An operator: the node's inputs (undefined for an absent optional one) to its outputs. */
export type OpFn = (ctx: OpContext, inputs: (Tensor | undefined)[]) => Tensor | (Tensor | undefined)[];

// Tensors read as shape or axes lists (Reshape, Unsqueeze, ...) are small; a longer one is not a shape.
const MAX_LIST = 64;

/** Throws `ERR_ONNX_NODE` naming the node. */
export function failNode(ctx: OpContext, problem: string): never {
  throw new TorchError(`onnx: ${ctx.where}: ${problem}`, { code: 'ERR_ONNX_NODE' });
}

/** Input `i`, which the operator requires. */
export function need(ctx: OpContext, inputs: (Tensor | undefined)[], i: number, what: string): Tensor {
  const t = inputs[i];
  if (!t) failNode(ctx, `input ${i} (${what}) is missing`);
  return t;
}

/** Requires a rank (or one of several). */
export function checkRank(ctx: OpContext, t: Tensor, ranks: number[], what: string): void {
  if (!ranks.includes(t.ndim)) failNode(ctx, `${what} has rank ${t.ndim} (shape [${t.shape.join(', ')}]), expected ${ranks.join(' or ')}`);
}

/** The values of a small integer tensor (a shape, axes), as numbers. */
export function intList(ctx: OpContext, t: Tensor, what: string): number[] {
  if (t.ndim > 1 || t.numel > MAX_LIST) failNode(ctx, `${what} must be a list of at most ${MAX_LIST} integers, got shape [${t.shape.join(', ')}]`);
  if (t.dtype !== 'int64' && t.dtype !== 'int32') failNode(ctx, `${what} must be int64, got ${t.dtype}`);
  return Array.from(t.detach().cpu().dataSync() as ArrayLike<number | bigint>, (v) => {
    if (typeof v === 'bigint' && (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))) failNode(ctx, `${what} value ${v} is out of range`);
    return Number(v);
  });
}

/** A one-element tensor's value. */
export function scalarOf(ctx: OpContext, t: Tensor, what: string): number {
  if (t.numel !== 1) failNode(ctx, `${what} must hold one value, got shape [${t.shape.join(', ')}]`);
  return Number(t.detach().cpu().dataSync()[0]);
}

/** An axis in [-rank, rank) made non-negative. */
export function axisOf(ctx: OpContext, axis: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) failNode(ctx, `${what} ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + rank : axis;
}

/** The product of a list of sizes. */
export function product(dims: number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}
