/** The Tensor façade: the JavaScript class (lib/tensor-class.ts), typed, with the JavaScript-side conveniences (data, printing, disposal). */
import { inspect } from 'node:util';
import './native';
import { TensorClass, isTensorObject } from './tensor-class';
import { noteValueRead } from './jit/trace-state';
import type { NativeTensor } from './binding';
import { AnyTypedArray, DType, Device, isDType, typedArrayFor } from './dtype';
import { formatTensor } from './format';
import { checkDevice } from './device';

type TensorOrNumber = Tensor | number | boolean;
type Dims = number | number[];

/** `{ values, indices }`, as `torch.max(x, dim)` returns. */
export interface ValuesIndices {
  values: Tensor;
  indices: Tensor;
}

/** Where and how `to()` moves or converts a tensor. */
export interface ToOptions {
  device?: Device | string;
  dtype?: DType;
  /** Always return a copy, even when nothing changes. */
  copy?: boolean;
  nonBlocking?: boolean;
}

/**
 * A tensor: an n-dimensional array in native (CPU or GPU) memory, with autograd.
 *
 * Methods are named after `torch.Tensor`'s in camelCase; a trailing `_` marks an in-place op that returns `this`.
 * Release it with `dispose()`, `tg.tidy()`, or `using`.
 */
export interface Tensor {
  /** Sizes of each dimension. */
  readonly shape: number[];
  readonly dtype: DType;
  /** `'cpu'` or `'cuda:N'`. */
  readonly device: string;
  readonly numel: number;
  readonly ndim: number;
  /** The number of dimensions, as `torch.Tensor.dim()` (same as `ndim`). */
  dim(): number;
  requiresGrad: boolean;
  /** The gradient accumulated by `backward()`, or undefined. */
  grad: Tensor | undefined;
  readonly isLeaf: boolean;
  readonly isDisposed: boolean;

  /** Releases the native memory now (idempotent). */
  dispose(): void;
  [Symbol.dispose](): void;
  /** The single value of a one-element tensor. */
  item(): number;
  /** Copies the values to a TypedArray off the JavaScript thread. */
  data(): Promise<AnyTypedArray>;
  /** Copies the values to a TypedArray on the JavaScript thread. */
  dataSync(): AnyTypedArray;
  /** The values as nested JavaScript arrays (int64 as numbers). */
  toArray(): unknown;
  /** Moves and/or converts: `to('cuda')`, `to('float16')`, `to({ device, dtype })`. */
  to(target: Device | DType | string | ToOptions): Tensor;
  /** Computes gradients of this tensor with respect to leaves that require grad. */
  backward(gradient?: Tensor, options?: { retainGraph?: boolean; createGraph?: boolean }): void;
  requiresGrad_(flag?: boolean): this;
  retainGrad(): this;

  // elementwise
  add(other: TensorOrNumber, alpha?: number): Tensor;
  sub(other: TensorOrNumber, alpha?: number): Tensor;
  mul(other: TensorOrNumber): Tensor;
  div(other: TensorOrNumber, roundingMode?: 'trunc' | 'floor'): Tensor;
  pow(exponent: TensorOrNumber): Tensor;
  remainder(other: TensorOrNumber): Tensor;
  fmod(other: TensorOrNumber): Tensor;
  maximum(other: TensorOrNumber): Tensor;
  minimum(other: TensorOrNumber): Tensor;
  atan2(other: TensorOrNumber): Tensor;
  eq(other: TensorOrNumber): Tensor;
  ne(other: TensorOrNumber): Tensor;
  lt(other: TensorOrNumber): Tensor;
  le(other: TensorOrNumber): Tensor;
  gt(other: TensorOrNumber): Tensor;
  ge(other: TensorOrNumber): Tensor;
  logicalAnd(other: TensorOrNumber): Tensor;
  logicalOr(other: TensorOrNumber): Tensor;
  logicalXor(other: TensorOrNumber): Tensor;
  logicalNot(): Tensor;
  bitwiseNot(): Tensor;
  clamp(min?: number | null, max?: number | null): Tensor;
  neg(): Tensor;
  abs(): Tensor;
  exp(): Tensor;
  expm1(): Tensor;
  log(): Tensor;
  log2(): Tensor;
  log10(): Tensor;
  log1p(): Tensor;
  sqrt(): Tensor;
  rsqrt(): Tensor;
  square(): Tensor;
  sin(): Tensor;
  cos(): Tensor;
  tan(): Tensor;
  asin(): Tensor;
  acos(): Tensor;
  atan(): Tensor;
  sinh(): Tensor;
  cosh(): Tensor;
  tanh(): Tensor;
  sigmoid(): Tensor;
  relu(): Tensor;
  floor(): Tensor;
  ceil(): Tensor;
  round(): Tensor;
  trunc(): Tensor;
  frac(): Tensor;
  sign(): Tensor;
  reciprocal(): Tensor;
  erf(): Tensor;
  erfinv(): Tensor;
  isnan(): Tensor;
  isinf(): Tensor;
  isfinite(): Tensor;
  bernoulli(): Tensor;
  softmax(dim: number): Tensor;
  logSoftmax(dim: number): Tensor;

  // in place
  add_(other: TensorOrNumber, alpha?: number): this;
  sub_(other: TensorOrNumber, alpha?: number): this;
  mul_(other: TensorOrNumber): this;
  div_(other: TensorOrNumber, roundingMode?: 'trunc' | 'floor'): this;
  pow_(exponent: TensorOrNumber): this;
  remainder_(other: TensorOrNumber): this;
  maximum_(other: TensorOrNumber): this;
  copy_(src: Tensor): this;
  fill_(value: TensorOrNumber): this;
  eq_(other: TensorOrNumber): this;
  lt_(other: TensorOrNumber): this;
  gt_(other: TensorOrNumber): this;
  addcmul_(t1: Tensor, t2: Tensor, value?: number): this;
  addcdiv_(t1: Tensor, t2: Tensor, value?: number): this;
  lerp_(end: Tensor, weight: number): this;
  clamp_(min?: number | null, max?: number | null): this;
  uniform_(from?: number, to?: number): this;
  normal_(mean?: number, std?: number): this;
  bernoulli_(p?: number): this;
  maskedFill_(mask: Tensor, value: TensorOrNumber): this;
  neg_(): this;
  abs_(): this;
  exp_(): this;
  log_(): this;
  sqrt_(): this;
  sigmoid_(): this;
  tanh_(): this;
  relu_(): this;
  zero_(): this;
  floor_(): this;
  ceil_(): this;
  round_(): this;
  reciprocal_(): this;
  square_(): this;
  detach_(): this;

  // reductions
  sum(dim?: Dims | null, keepdim?: boolean, dtype?: DType): Tensor;
  mean(dim?: Dims | null, keepdim?: boolean): Tensor;
  prod(dim?: number | null, keepdim?: boolean): Tensor;
  std(dim?: Dims | null, unbiased?: boolean, keepdim?: boolean): Tensor;
  var(dim?: Dims | null, unbiased?: boolean, keepdim?: boolean): Tensor;
  norm(p?: number, dim?: Dims | null, keepdim?: boolean): Tensor;
  logsumexp(dim: Dims, keepdim?: boolean): Tensor;
  amax(dim?: Dims | null, keepdim?: boolean): Tensor;
  amin(dim?: Dims | null, keepdim?: boolean): Tensor;
  max(): Tensor;
  max(dim: number, keepdim?: boolean): ValuesIndices;
  min(): Tensor;
  min(dim: number, keepdim?: boolean): ValuesIndices;
  argmax(dim?: number | null, keepdim?: boolean): Tensor;
  argmin(dim?: number | null, keepdim?: boolean): Tensor;
  all(dim?: number | null, keepdim?: boolean): Tensor;
  any(dim?: number | null, keepdim?: boolean): Tensor;
  cumsum(dim: number): Tensor;
  sort(dim?: number, descending?: boolean): ValuesIndices;
  topk(k: number, dim?: number, largest?: boolean, sorted?: boolean): ValuesIndices;

  // linear algebra
  matmul(other: Tensor): Tensor;
  mm(other: Tensor): Tensor;
  bmm(other: Tensor): Tensor;
  mv(other: Tensor): Tensor;
  dot(other: Tensor): Tensor;
  outer(other: Tensor): Tensor;
  t(): Tensor;

  // shapes, views and indexing
  reshape(shape: number[]): Tensor;
  view(shape: number[]): Tensor;
  viewAs(other: Tensor): Tensor;
  reshapeAs(other: Tensor): Tensor;
  expandAs(other: Tensor): Tensor;
  typeAs(other: Tensor): Tensor;
  permute(dims: number[]): Tensor;
  transpose(dim0: number, dim1: number): Tensor;
  flatten(startDim?: number, endDim?: number): Tensor;
  squeeze(dim?: number): Tensor;
  unsqueeze(dim: number): Tensor;
  expand(shape: number[]): Tensor;
  repeat(repeats: number[]): Tensor;
  flip(dims: Dims): Tensor;
  contiguous(): Tensor;
  clone(): Tensor;
  /** A tensor that shares storage but has no autograd history (`stop_gradient`). */
  detach(): Tensor;
  select(dim: number, index: number): Tensor;
  narrow(dim: number, start: number, length: number): Tensor;
  slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor;
  indexSelect(dim: number, index: Tensor): Tensor;
  index(indices: Tensor): Tensor;
  gather(dim: number, index: Tensor): Tensor;
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor;
  maskedFill(mask: Tensor, value: TensorOrNumber): Tensor;
  maskedSelect(mask: Tensor): Tensor;
  /** `torch.where(condition, this, other)`. */
  where(condition: Tensor, other: TensorOrNumber): Tensor;
  nonzero(): Tensor;
  split(sizeOrSizes: number | number[], dim?: number): Tensor[];
  chunk(chunks: number, dim?: number): Tensor[];
  /** The shape, as `torch.Tensor.size()`. */
  size(): number[];
  /** The size of dimension `dim` (negative counts from the end), as `torch.Tensor.size(dim)`. */
  size(dim: number): number;
  stride(): number[];
  isContiguous(): boolean;
  equal(other: Tensor): boolean;
  allclose(other: Tensor, rtol?: number, atol?: number): boolean;

  // conversions
  float(): Tensor;
  double(): Tensor;
  long(): Tensor;
  int(): Tensor;
  bool(): Tensor;
  half(): Tensor;
  cpu(): Tensor;
}

/** The Tensor class (created by factories such as `tg.tensor`, never with `new`). */
export const Tensor: { prototype: Tensor; new (): never } = TensorClass as unknown as { prototype: Tensor; new (): never };

/** Whether a value is a torchgraft tensor (by its private handle, not by its shape or prototype). */
export function isTensor(v: unknown): v is Tensor {
  return isTensorObject(v);
}

// inspect.custom is Node's hook, not a tensor member: typed here only
const proto = TensorClass.prototype as unknown as NativeTensor & { [inspect.custom]?: () => string };

proto.dataSync = function dataSync(this: Tensor): AnyTypedArray {
  noteValueRead('dataSync()');
  return typedArrayFor(this.dtype, (this as NativeTensor)._dataSync());
};

proto.data = async function data(this: Tensor): Promise<AnyTypedArray> {
  const dtype = this.dtype;
  return typedArrayFor(dtype, await (this as NativeTensor)._dataAsync());
};

proto.toArray = function toArray(this: Tensor): unknown {
  const flat = Array.from(this.dataSync() as ArrayLike<number | bigint>, (v) =>
    typeof v === 'bigint' ? Number(v) : this.dtype === 'bool' ? v !== 0 : v,
  );
  const shape = this.shape;
  if (shape.length === 0) return flat[0];
  const build = (dim: number, offset: number): unknown[] => {
    const n = shape[dim];
    const stride = shape.slice(dim + 1).reduce((a, b) => a * b, 1);
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = dim === shape.length - 1 ? flat[offset + i] : build(dim + 1, offset + i * stride);
    return out;
  };
  return build(0, 0);
};

proto.to = function to(this: Tensor, target: Device | DType | string | ToOptions): Tensor {
  if (typeof target === 'string') {
    if (isDType(target)) return (this as NativeTensor)._to(undefined, target);
    if (/^(cpu|cuda)(:|$)/.test(target)) return (this as NativeTensor)._to(checkDevice(target, 'to()'), undefined);
    throw new TypeError(`to(): '${target}' is neither a device ('cpu', 'cuda', 'cuda:N') nor a dtype (float32, float16, int64, ...)`);
  }
  if (target === null || typeof target !== 'object') throw new TypeError('to(): expected a device, a dtype or { device, dtype }');
  const device = target.device === undefined || target.device === null ? undefined : checkDevice(target.device, 'to()');
  return (this as NativeTensor)._to(device, target.dtype, target.copy ?? false, target.nonBlocking ?? false);
};

proto.dim = function dim(this: Tensor): number {
  return this.ndim;
};

// size() without a dimension is the shape, as in PyTorch; the addon's size(dim) checks the dimension
const nativeSize = proto.size as (this: Tensor, dim: number) => number;
proto.size = function size(this: Tensor, ...args: [] | [number]): number & number[] {
  return (args.length === 0 ? this.shape : nativeSize.call(this, args[0])) as number & number[];
} as Tensor['size'];

proto.backward = function backward(this: Tensor, gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}) {
  (this as NativeTensor)._backward(gradient, options.retainGraph, options.createGraph);
};

proto[Symbol.dispose] = function (this: Tensor) {
  this.dispose();
};

proto.toString = function toString(this: Tensor): string {
  if (this.isDisposed) return 'tensor(<disposed>)';
  return formatTensor(this);
};

proto[inspect.custom] = function (this: Tensor): string {
  return this.toString();
};
