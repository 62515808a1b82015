/**
 * ONNX's shape operators: Reshape (0 copies a dimension, -1 infers one), Flatten, Concat, Gather, Transpose,
 * Unsqueeze and Squeeze (axes as an attribute before opset 13, as an input from 13).
 */
import { cat } from '../../creation';
import type { Tensor } from '../../tensor';
import { OpContext, OpFn, axisOf, failNode, intList, need, product } from './onnx-op-context';

// No framework goes beyond this many dimensions; more is a hostile graph.
const MAX_RANK = 64;

const reshape: OpFn = (ctx, inputs) => {
  const x = need(ctx, inputs, 0, 'data');
  // Before opset 5 the shape was an attribute.
  const shape = ctx.opset < 5 ? (ctx.attrs.ints('shape') ?? failNode(ctx, 'attribute shape is missing')) : intList(ctx, need(ctx, inputs, 1, 'shape'), 'shape');
  const allowZero = ctx.attrs.int('allowzero', 0) !== 0;
  const out = shape.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (i >= x.ndim) failNode(ctx, `shape [${shape.join(', ')}] copies dimension ${i}, but the input has rank ${x.ndim}`);
      return x.shape[i];
    }
    if (d < -1) failNode(ctx, `shape [${shape.join(', ')}] has a negative size ${d}`);
    return d;
  });
  if (out.length > MAX_RANK) failNode(ctx, `shape has ${out.length} dimensions (at most ${MAX_RANK})`);
  if (product(out.filter((d) => d > 0)) > Number.MAX_SAFE_INTEGER) failNode(ctx, `shape [${shape.join(', ')}] is too large`);
  const inferred = out.filter((d) => d === -1).length;
  if (inferred > 1) failNode(ctx, `shape [${shape.join(', ')}] has more than one -1`);
  const known = product(out.filter((d) => d !== -1));
  const ok = inferred ? known > 0 && x.numel % known === 0 : known === x.numel;
  if (!ok) failNode(ctx, `cannot reshape [${x.shape.join(', ')}] (${x.numel} elements) to [${shape.join(', ')}]`);
  return x.reshape(out);
};

const flatten: OpFn = (ctx, inputs) => {
  const x = need(ctx, inputs, 0, 'input');
  let axis = ctx.attrs.int('axis', 1);
  if (axis < -x.ndim || axis > x.ndim) failNode(ctx, `axis ${axis} is out of range for rank ${x.ndim}`);
  if (axis < 0) axis += x.ndim;
  return x.reshape([product(x.shape.slice(0, axis)), product(x.shape.slice(axis))]);
};

const concat: OpFn = (ctx, inputs) => {
  const xs = inputs.filter((t): t is Tensor => t !== undefined);
  if (!xs.length) failNode(ctx, 'no inputs');
  const rank = xs[0].ndim;
  const axis = axisOf(ctx, ctx.attrs.int('axis'), rank);
  for (const t of xs) {
    if (t.ndim !== rank || t.shape.some((d, i) => i !== axis && d !== xs[0].shape[i]))
      failNode(ctx, `inputs [${xs.map((u) => `[${u.shape.join(', ')}]`).join(', ')}] do not fit together on axis ${axis}`);
  }
  return cat(xs, axis);
};

const gather: OpFn = (ctx, inputs) => {
  const data = need(ctx, inputs, 0, 'data');
  const indices = need(ctx, inputs, 1, 'indices');
  if (data.ndim < 1) failNode(ctx, 'data is a scalar');
  if (indices.dtype !== 'int64' && indices.dtype !== 'int32') failNode(ctx, `indices must be int64 or int32, got ${indices.dtype}`);
  const axis = axisOf(ctx, ctx.attrs.int('axis', 0), data.ndim);
  const size = data.shape[axis];
  let flat = indices.reshape([-1]).to({ dtype: 'int64' });
  if (flat.numel) {
    const lo = Number(flat.min().item());
    const hi = Number(flat.max().item());
    if (lo < -size || hi >= size) failNode(ctx, `indices run from ${lo} to ${hi}, outside [-${size}, ${size}) on axis ${axis}`);
    if (lo < 0) flat = flat.where(flat.ge(0), flat.add(size));
  }
  const picked = data.indexSelect(axis, flat);
  return picked.reshape([...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)]);
};

const transpose: OpFn = (ctx, inputs) => {
  const x = need(ctx, inputs, 0, 'data');
  const perm = ctx.attrs.ints('perm', x.shape.map((_, i) => x.ndim - 1 - i)) as number[];
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== x.ndim || sorted.some((p, i) => p !== i)) failNode(ctx, `perm [${perm.join(', ')}] is not a permutation of ${x.ndim} axes`);
  return x.permute(perm);
};

/** Unsqueeze's and Squeeze's axes: an attribute before opset 13, the optional second input from 13. */
function axesOf(ctx: OpContext, inputs: (Tensor | undefined)[]): number[] | undefined {
  if (ctx.opset < 13) return ctx.attrs.ints('axes');
  return inputs[1] ? intList(ctx, inputs[1], 'axes') : undefined;
}

function checkUnique(ctx: OpContext, axes: number[]): void {
  if (new Set(axes).size !== axes.length) failNode(ctx, `axes [${axes.join(', ')}] repeat an axis`);
}

const unsqueeze: OpFn = (ctx, inputs) => {
  const x = need(ctx, inputs, 0, 'data');
  const raw = axesOf(ctx, inputs) ?? failNode(ctx, 'axes are missing');
  const rank = x.ndim + raw.length;
  if (rank > MAX_RANK) failNode(ctx, `the result would have ${rank} dimensions (at most ${MAX_RANK})`);
  const axes = raw.map((a) => axisOf(ctx, a, rank)).sort((a, b) => a - b);
  checkUnique(ctx, axes);
  return axes.reduce((t, a) => t.unsqueeze(a), x);
};

const squeeze: OpFn = (ctx, inputs) => {
  const x = need(ctx, inputs, 0, 'data');
  const raw = axesOf(ctx, inputs);
  const axes = raw ? raw.map((a) => axisOf(ctx, a, x.ndim)) : x.shape.flatMap((d, i) => (d === 1 ? [i] : []));
  checkUnique(ctx, axes);
  for (const a of axes) if (x.shape[a] !== 1) failNode(ctx, `axis ${a} has size ${x.shape[a]}, not 1`);
  return x.reshape(x.shape.filter((_, i) => !axes.includes(i)));
};

/** The shape operators by op type. */
export const SHAPE_OPS: Record<string, OpFn> = {
  Reshape: reshape,
  Flatten: flatten,
  Concat: concat,
  Gather: gather,
  Transpose: transpose,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
};
