/**
 * The ONNX operators `loadOnnxModel` can run (default domain), by op type: elementwise arithmetic and
 * activations here, layers in onnx-ops-nn.ts, shape operators in onnx-ops-shape.ts. Constant is handled by the
 * graph builder, which turns its value into a buffer at load time.
 */
import * as F from '../../nn/functional';
import type { Tensor } from '../../tensor';
import { OpContext, OpFn, failNode, need, product, scalarOf } from './onnx-op-context';
import { NN_OPS } from './onnx-ops-nn';
import { SHAPE_OPS } from './onnx-ops-shape';

const binary =
  (name: string, fn: (a: Tensor, b: Tensor) => Tensor): OpFn =>
  (ctx, inputs) => {
    const a = need(ctx, inputs, 0, 'A');
    const b = need(ctx, inputs, 1, 'B');
    // Numpy-style broadcasting, checked here so the error names the node.
    const n = Math.max(a.ndim, b.ndim);
    for (let i = 1; i <= n; i++) {
      const da = a.shape[a.ndim - i] ?? 1;
      const db = b.shape[b.ndim - i] ?? 1;
      if (da !== db && da !== 1 && db !== 1) failNode(ctx, `${name}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not broadcast`);
    }
    return fn(a, b);
  };

const unary =
  (fn: (x: Tensor) => Tensor): OpFn =>
  (ctx, inputs) =>
    fn(need(ctx, inputs, 0, 'X'));

const clip: OpFn = (ctx, inputs) => {
  const x = need(ctx, inputs, 0, 'input');
  let lo: number | null;
  let hi: number | null;
  if (ctx.opset < 11) {
    lo = ctx.attrs.float('min', -Infinity);
    hi = ctx.attrs.float('max', Infinity);
  } else {
    lo = inputs[1] ? scalarOf(ctx, inputs[1], 'min') : null;
    hi = inputs[2] ? scalarOf(ctx, inputs[2], 'max') : null;
  }
  if (Number.isNaN(lo) || Number.isNaN(hi)) failNode(ctx, 'min or max is NaN');
  if (lo === -Infinity) lo = null;
  if (hi === Infinity) hi = null;
  return lo === null && hi === null ? x : x.clamp(lo, hi);
};

/** Softmax and LogSoftmax: before opset 13 the input is coerced to 2-D at `axis` (default 1); from 13, per axis (default -1). */
const softmaxLike =
  (log: boolean): OpFn =>
  (ctx, inputs) => {
    const x = need(ctx, inputs, 0, 'input');
    const r = Math.max(x.ndim, 1);
    const axis = ctx.attrs.int('axis', ctx.opset < 13 ? 1 : -1);
    if (axis < -r || axis >= r) failNode(ctx, `axis ${axis} is out of range for rank ${x.ndim}`);
    const a = axis < 0 ? axis + r : axis;
    const f = (t: Tensor, d: number) => (log ? F.logSoftmax(t, d) : F.softmax(t, d));
    if (ctx.opset >= 13 || x.ndim === 0) return f(x, a);
    const flat = x.reshape([product(x.shape.slice(0, a)), product(x.shape.slice(a))]);
    return f(flat, 1).reshape(x.shape);
  };

const dropout: OpFn = (ctx, inputs) => {
  const x = need(ctx, inputs, 0, 'data');
  const ratio = ctx.opset < 12 ? ctx.attrs.float('ratio', 0.5) : inputs[1] ? scalarOf(ctx, inputs[1], 'ratio') : 0.5;
  if (!(ratio >= 0 && ratio < 1)) failNode(ctx, `ratio ${ratio} is not in [0, 1)`);
  // Identity at inference; in training mode it drops as the module's other Dropout layers do.
  return ctx.training && ratio > 0 ? F.dropout(x, ratio, true) : x;
};

/** Every supported op type (default domain) to its implementation. */
export const ONNX_OPS: Record<string, OpFn> = {
  Add: binary('Add', (a, b) => a.add(b)),
  Sub: binary('Sub', (a, b) => a.sub(b)),
  Mul: binary('Mul', (a, b) => a.mul(b)),
  Div: binary('Div', (a, b) => a.div(b)),
  MatMul: (ctx, inputs) => {
    const a = need(ctx, inputs, 0, 'A');
    const b = need(ctx, inputs, 1, 'B');
    if (a.ndim < 1 || b.ndim < 1) failNode(ctx, 'MatMul of a scalar');
    const ka = a.shape[a.ndim - 1];
    const kb = b.shape[b.ndim === 1 ? 0 : b.ndim - 2];
    if (ka !== kb) failNode(ctx, `A [${a.shape.join(', ')}] and B [${b.shape.join(', ')}] do not multiply`);
    return a.matmul(b);
  },
  Relu: unary((x) => x.relu()),
  Sigmoid: unary((x) => x.sigmoid()),
  Tanh: unary((x) => x.tanh()),
  Identity: unary((x) => x),
  Clip: clip,
  Softmax: softmaxLike(false),
  LogSoftmax: softmaxLike(true),
  Dropout: dropout,
  ...NN_OPS,
  ...SHAPE_OPS,
};

/** Op types handled by the graph builder itself rather than at run time. */
export const BUILDER_OPS = new Set(['Constant']);

/** Whether `opType` in `domain` can be run. */
export function isSupportedOp(domain: string, opType: string): boolean {
  return (domain === '' || domain === 'ai.onnx') && (Object.prototype.hasOwnProperty.call(ONNX_OPS, opType) || BUILDER_OPS.has(opType));
}

export type { OpContext };
