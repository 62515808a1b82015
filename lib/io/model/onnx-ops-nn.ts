/**
 * ONNX's layer operators on torchgraft's functional ops: Conv, Gemm, BatchNormalization (running statistics
 * updated in training mode as PyTorch does), MaxPool, AveragePool and GlobalAveragePool.
 */
import * as F from '../../nn/functional';
import type { Tensor } from '../../tensor';
import { OpContext, OpFn, checkRank, failNode, need } from './onnx-op-context';

/** Begin and end paddings per spatial axis from `pads` or `auto_pad` (NOTSET, VALID, SAME_UPPER, SAME_LOWER). */
function spatialPads(ctx: OpContext, inShape: number[], kernel: number[], strides: number[], dilations: number[]): [number[], number[]] {
  const n = kernel.length;
  const autoPad = ctx.attrs.string('auto_pad', 'NOTSET');
  if (autoPad === 'NOTSET') {
    const pads = ctx.attrs.ints('pads', new Array(2 * n).fill(0)) as number[];
    if (pads.length !== 2 * n || pads.some((p) => p < 0)) failNode(ctx, `pads [${pads.join(', ')}] must be ${2 * n} non-negative values`);
    // Padding beyond the dilated kernel only adds bias-only borders; refusing it bounds what a hostile file can allocate.
    pads.forEach((p, i) => {
      const extent = (kernel[i % n] - 1) * dilations[i % n] + 1;
      if (p > extent) failNode(ctx, `pad ${p} exceeds the kernel's extent ${extent} on spatial axis ${i % n}`);
    });
    return [pads.slice(0, n), pads.slice(n)];
  }
  if (autoPad === 'VALID') return [new Array(n).fill(0), new Array(n).fill(0)];
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') failNode(ctx, `auto_pad '${autoPad}' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER`);
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < n; i++) {
    const out = Math.ceil(inShape[i] / strides[i]);
    const total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inShape[i]);
    const small = Math.floor(total / 2);
    begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
    end.push(autoPad === 'SAME_UPPER' ? total - small : small);
  }
  return [begin, end];
}

/** A per-spatial-axis attribute (strides, dilations) with its default of ones, checked. */
function perAxis(ctx: OpContext, name: string, n: number): number[] {
  const v = ctx.attrs.ints(name, new Array(n).fill(1)) as number[];
  if (v.length !== n || v.some((x) => !Number.isInteger(x) || x < 1)) failNode(ctx, `${name} [${v.join(', ')}] must be ${n} positive integers`);
  return v;
}

/** F.pad's order: last axis first, begin then end. */
function padList(begin: number[], end: number[]): number[] {
  const out: number[] = [];
  for (let i = begin.length - 1; i >= 0; i--) out.push(begin[i], end[i]);
  return out;
}

const conv: OpFn = (ctx, inputs) => {
  const x = need(ctx, inputs, 0, 'X');
  const w = need(ctx, inputs, 1, 'W');
  const b = inputs[2];
  checkRank(ctx, w, [3, 4], 'weight W');
  if (x.ndim !== w.ndim) failNode(ctx, `input X has rank ${x.ndim} but weight W has rank ${w.ndim}`);
  const n = w.ndim - 2;
  const group = ctx.attrs.int('group', 1);
  if (group < 1 || x.shape[1] !== w.shape[1] * group || w.shape[0] % group)
    failNode(ctx, `X has ${x.shape[1]} channels, W is [${w.shape.join(', ')}] with group ${group}: they do not fit`);
  if (b && (b.ndim !== 1 || b.shape[0] !== w.shape[0])) failNode(ctx, `bias B has shape [${b.shape.join(', ')}], expected [${w.shape[0]}]`);
  const kernel = w.shape.slice(2);
  const ks = ctx.attrs.ints('kernel_shape');
  if (ks && ks.join() !== kernel.join()) failNode(ctx, `kernel_shape [${ks.join(', ')}] does not match W [${w.shape.join(', ')}]`);
  const strides = perAxis(ctx, 'strides', n);
  const dilations = perAxis(ctx, 'dilations', n);
  const [begin, end] = spatialPads(ctx, x.shape.slice(2), kernel, strides, dilations);
  const symmetric = begin.every((p, i) => p === end[i]);
  const input = symmetric ? x : F.pad(x, padList(begin, end));
  const opts = { stride: strides, padding: symmetric ? begin : new Array(n).fill(0), dilation: dilations, groups: group };
  return n === 2 ? F.conv2d(input, w, b ?? null, opts) : F.conv1d(input, w, b ?? null, opts);
};

const gemm: OpFn = (ctx, inputs) => {
  const a = need(ctx, inputs, 0, 'A');
  const b = need(ctx, inputs, 1, 'B');
  const c = inputs[2];
  checkRank(ctx, a, [2], 'A');
  checkRank(ctx, b, [2], 'B');
  const alpha = ctx.attrs.float('alpha', 1);
  const beta = ctx.attrs.float('beta', 1);
  const transA = ctx.attrs.int('transA', 0) !== 0;
  const transB = ctx.attrs.int('transB', 0) !== 0;
  const k = transA ? a.shape[0] : a.shape[1];
  const kb = transB ? b.shape[1] : b.shape[0];
  if (k !== kb) failNode(ctx, `A [${a.shape.join(', ')}] and B [${b.shape.join(', ')}] do not multiply (transA=${+transA}, transB=${+transB})`);
  // PyTorch's Linear exports as Gemm(transB=1): run it as linear, the same kernel as the original layer.
  if (!transA && transB && alpha === 1 && beta === 1 && (!c || (c.ndim === 1 && c.shape[0] === b.shape[0]))) return F.linear(a, b, c ?? null);
  let y = (transA ? a.t() : a).matmul(transB ? b.t() : b);
  if (alpha !== 1) y = y.mul(alpha);
  if (c) y = y.add(beta === 1 ? c : c.mul(beta));
  return y;
};

const batchNormalization: OpFn = (ctx, inputs) => {
  const x = need(ctx, inputs, 0, 'X');
  const names = ['scale', 'B', 'input_mean', 'input_var'];
  const [scale, bias, mean, variance] = names.map((what, i) => need(ctx, inputs, i + 1, what));
  if (x.ndim < 2) failNode(ctx, `X has rank ${x.ndim}, expected at least 2`);
  [scale, bias, mean, variance].forEach((t, i) => {
    if (t.ndim !== 1 || t.shape[0] !== x.shape[1]) failNode(ctx, `${names[i]} has shape [${t.shape.join(', ')}], expected [${x.shape[1]}]`);
  });
  const eps = ctx.attrs.float('epsilon', 1e-5);
  // ONNX: running = running * momentum + batch * (1 - momentum); PyTorch's momentum is the batch's weight.
  const momentum = ctx.attrs.float('momentum', 0.9);
  const y = F.batchNorm(x, mean, variance, { weight: scale, bias, training: ctx.training, momentum: 1 - momentum, eps });
  return [y, mean, variance];
};

/** kernel_shape, strides, dilations and paddings of a 2-D pool; asymmetric paddings are applied with `padValue`. */
function poolSetup(ctx: OpContext, x: Tensor, padValue: number | null) {
  checkRank(ctx, x, [4], 'input X');
  const kernel = ctx.attrs.ints('kernel_shape');
  if (!kernel || kernel.length !== 2 || kernel.some((k) => !Number.isInteger(k) || k < 1)) failNode(ctx, 'kernel_shape must be 2 positive integers');
  const strides = perAxis(ctx, 'strides', 2);
  const dilations = perAxis(ctx, 'dilations', 2);
  let [begin, end] = spatialPads(ctx, x.shape.slice(2), kernel, strides, dilations);
  let input = x;
  if (begin.some((p, i) => p !== end[i])) {
    if (padValue === null) failNode(ctx, `asymmetric pads [${begin.join(', ')}, ${end.join(', ')}] are not supported here`);
    input = F.pad(x, padList(begin, end), padValue);
    begin = [0, 0];
    end = [0, 0];
  }
  if (begin.some((p, i) => p * 2 > kernel[i])) failNode(ctx, `pads [${begin.join(', ')}] exceed half the kernel [${kernel.join(', ')}]`);
  return { input, kernel, strides, dilations, padding: begin, ceilMode: ctx.attrs.int('ceil_mode', 0) !== 0 };
}

const maxPool: OpFn = (ctx, inputs) => {
  if (ctx.attrs.int('storage_order', 0) !== 0) failNode(ctx, 'storage_order=1 is not supported');
  const p = poolSetup(ctx, need(ctx, inputs, 0, 'X'), -Infinity);
  return [F.maxPool2d(p.input, p.kernel, { stride: p.strides, padding: p.padding, dilation: p.dilations, ceilMode: p.ceilMode })];
};

const averagePool: OpFn = (ctx, inputs) => {
  const x = need(ctx, inputs, 0, 'X');
  const includePad = ctx.attrs.int('count_include_pad', 0) !== 0;
  const p = poolSetup(ctx, x, includePad ? 0 : null);
  if (p.dilations.some((d) => d !== 1)) failNode(ctx, 'dilations other than 1 are not supported');
  return F.avgPool2d(p.input, p.kernel, { stride: p.strides, padding: p.padding, ceilMode: p.ceilMode, countIncludePad: includePad });
};

const globalAveragePool: OpFn = (ctx, inputs) => {
  const x = need(ctx, inputs, 0, 'X');
  if (x.ndim < 3) failNode(ctx, `X has rank ${x.ndim}, expected at least 3`);
  return x.mean(x.shape.slice(2).map((_, i) => i + 2), true);
};

/** The layer operators by op type. */
export const NN_OPS: Record<string, OpFn> = {
  Conv: conv,
  Gemm: gemm,
  BatchNormalization: batchNormalization,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
};
