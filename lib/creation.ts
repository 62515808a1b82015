/** Tensor factories: from data, constant fills, ranges, random draws (reproducible with manualSeed). */
import { types } from 'node:util';
import { binding } from './native';
import { AnyTypedArray, DType, Device, isDType } from './dtype';
import { Tensor, isTensor } from './tensor';
import { readNested } from './nested-data';
import type { AnyTypedArrayView } from './portable-types';
import { checkDevice } from './device';

/** Options shared by the factories. */
export interface TensorOptions {
  dtype?: DType;
  device?: Device | string;
  requiresGrad?: boolean;
}

/** Options of `tensor()`: a TypedArray's shape must be given when it is not 1-D. */
export interface FromDataOptions extends TensorOptions {
  shape?: number[];
}

type Nested = number | boolean | Nested[];

// Integer dtypes: the values torch.tensor() accepts for them (PyTorch's c10::overflows rules; uint8 lets -255..-1 wrap).
const INT_RANGES: Partial<Record<DType, { ints: [number, number]; floats: [number, number] }>> = {
  uint8: { ints: [-255, 255], floats: [0, 255] },
  int8: { ints: [-128, 127], floats: [-128, 127] },
  int16: { ints: [-32768, 32767], floats: [-32768, 32767] },
  int32: { ints: [-(2 ** 31), 2 ** 31 - 1], floats: [-(2 ** 31), 2 ** 31 - 1] },
  // 2 ** 63 itself is out: doubles cannot hold 2 ** 63 - 1, and the first double past it is 2 ** 63.
  int64: { ints: [-(2 ** 63), 2 ** 63 - 1], floats: [-(2 ** 63), 2 ** 63 - 1] },
};

function finish(t: Tensor, opts?: TensorOptions): Tensor {
  if (opts?.requiresGrad) t.requiresGrad = true;
  return t;
}

function checkOptions(opts: unknown, fn: string): void {
  if (opts !== undefined && (opts === null || typeof opts !== 'object' || Array.isArray(opts) || isTensor(opts)))
    throw new TypeError(`${fn}(): options must be an object such as { dtype, device }`);
  const d = (opts as TensorOptions | undefined)?.dtype;
  if (d !== undefined && !isDType(d)) throw new TypeError(`${fn}(): unknown dtype '${String(d)}'`);
  const device = (opts as TensorOptions | undefined)?.device;
  if (device !== undefined) checkDevice(device, `${fn}()`);
}

function sourceDType(a: AnyTypedArray): { dtype: DType; data: AnyTypedArray } {
  if (a instanceof Float32Array) return { dtype: 'float32', data: a };
  if (a instanceof Float64Array) return { dtype: 'float64', data: a };
  if (a instanceof BigInt64Array) return { dtype: 'int64', data: a };
  if (a instanceof Int32Array) return { dtype: 'int32', data: a };
  if (a instanceof Int16Array) return { dtype: 'int16', data: a };
  if (a instanceof Int8Array) return { dtype: 'int8', data: a };
  if (a instanceof Uint8Array || a instanceof Uint8ClampedArray) return { dtype: 'uint8', data: new Uint8Array(a.buffer, a.byteOffset, a.length) };
  if (a instanceof Uint16Array) return { dtype: 'int32', data: Int32Array.from(a) };
  if (a instanceof Uint32Array) return { dtype: 'int64', data: BigInt64Array.from(a, (v) => BigInt(v)) };
  throw new TypeError('tensor(): unsupported TypedArray');
}

/**
 * The buffer that carries nested-array values to the addon: exact for the target dtype, never wrapped. Values
 * travel as integers (int32 when they fit, else int64) towards an integer dtype, after the range checks
 * torch.tensor() makes; floating and bool targets get float64.
 */
function sourceFor(values: Float64Array, kind: 'bool' | 'int' | 'float', dtype: DType): [AnyTypedArray, DType] {
  if (kind === 'bool') return [Uint8Array.from(values), 'uint8'];
  const range = INT_RANGES[dtype];
  if (!range) return [values, 'float64'];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const [lo, hi] = Number.isInteger(v) ? range.ints : range.floats;
    // NaN fails both comparisons; infinities fail one.
    if (!(v >= lo && v <= hi) || (dtype === 'int64' && v === 2 ** 63))
      throw new RangeError(`tensor(): value ${v} at flat index ${i} cannot be converted to ${dtype} without overflow${dtype === 'int64' && Number.isInteger(v) && kind === 'int' ? " (integers are int64 unless a dtype is given: pass { dtype: 'float32' } or 'float64' for values this large)" : ''}`);
  }
  // Towards an integer dtype values truncate as Python's int() does, then cast from int64 as torch.tensor() does.
  const ints = kind === 'float' ? values.map(Math.trunc) : values;
  if (ints.every((v) => v >= -(2 ** 31) && v < 2 ** 31)) return [Int32Array.from(ints), 'int32'];
  return [BigInt64Array.from(ints, (v) => BigInt(v)), 'int64'];
}

/**
 * Creates a tensor from a TypedArray (with `shape`), nested arrays, a number or a boolean.
 * Integers in plain arrays give int64 and other numbers float32, as `torch.tensor` does.
 * @example tg.tensor(new Float32Array(6), { shape: [2, 3] }); tg.tensor([[1, 2], [3, 4]], { dtype: 'float32' })
 */
export function tensor(data: AnyTypedArray | Nested | Tensor, opts?: FromDataOptions): Tensor {
  checkOptions(opts, 'tensor');
  if (isTensor(data)) return finish((data as Tensor).detach().to({ device: opts?.device, dtype: opts?.dtype, copy: true }), opts);
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    const { dtype, data: src } = sourceDType(data as AnyTypedArray);
    const shape = opts?.shape ?? [src.length];
    return finish(binding.fromBuffer(src, shape, dtype, opts?.dtype, opts?.device), opts);
  }
  // A Proxy is refused by readNested before Array.isArray can run its traps (or throw on a revoked one).
  if (typeof data === 'number' || typeof data === 'boolean' || types.isProxy(data) || Array.isArray(data)) {
    const { shape, values, kind } = readNested(data);
    if (opts?.shape) {
      const n = opts.shape.reduce((a, b) => a * b, 1);
      if (n !== values.length) throw new RangeError(`tensor(): shape [${opts.shape}] needs ${n} values, got ${values.length}`);
    }
    const dtype = opts?.dtype ?? (kind === 'bool' ? 'bool' : kind === 'int' ? 'int64' : 'float32');
    const [src, srcType] = sourceFor(values, kind, dtype);
    return finish(binding.fromBuffer(src, opts?.shape ?? shape, srcType, dtype, opts?.device), opts);
  }
  throw new TypeError(`tensor(): expected a TypedArray, nested arrays, a number or a boolean, got ${data === null ? 'null' : typeof data}`);
}

/**
 * A tensor of dtype (default srcDtype) from values stored as srcDtype in a TypedArray of the same element size
 * (float16 bits in an Int16Array, bools in a Uint8Array): for readers of raw rows, which know what the bytes hold.
 */
export function fromTypedArray(data: AnyTypedArrayView, shape: number[], srcDtype: DType, dtype?: DType): Tensor {
  return binding.fromBuffer(data, shape, srcDtype, dtype);
}

/** Uninitialised values. */
export function empty(shape: number[], opts?: TensorOptions): Tensor {
  checkOptions(opts, 'empty');
  return finish(binding.empty(shape, opts?.dtype, opts?.device), opts);
}
/** All zeros. */
export function zeros(shape: number[], opts?: TensorOptions): Tensor {
  checkOptions(opts, 'zeros');
  return finish(binding.zeros(shape, opts?.dtype, opts?.device), opts);
}
/** All ones. */
export function ones(shape: number[], opts?: TensorOptions): Tensor {
  checkOptions(opts, 'ones');
  return finish(binding.ones(shape, opts?.dtype, opts?.device), opts);
}
/** Every element equal to `value`; without a dtype, like `torch.full`: bool for a boolean, int64 for an integer, else float32. */
export function full(shape: number[], value: number | boolean, opts?: TensorOptions): Tensor {
  checkOptions(opts, 'full');
  return finish(binding.full(shape, value, opts?.dtype, opts?.device), opts);
}
/** Uniform on [0, 1). */
export function rand(shape: number[], opts?: TensorOptions): Tensor {
  checkOptions(opts, 'rand');
  return finish(binding.rand(shape, opts?.dtype, opts?.device), opts);
}
/** Standard normal. */
export function randn(shape: number[], opts?: TensorOptions): Tensor {
  checkOptions(opts, 'randn');
  return finish(binding.randn(shape, opts?.dtype, opts?.device), opts);
}
/** Integers uniform on [low, high); int64 unless a dtype is given. */
export function randint(low: number, high: number, shape: number[], opts?: TensorOptions): Tensor {
  checkOptions(opts, 'randint');
  return finish(binding.randint(low, high, shape, opts?.dtype, opts?.device), opts);
}
/** `arange(end)` or `arange(start, end, step?)`; integer bounds give int64 as in PyTorch. */
export function arange(startOrEnd: number, end?: number, step = 1, opts?: TensorOptions): Tensor {
  checkOptions(opts, 'arange');
  const [s, e] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
  return finish(binding.arange(s, e, step, opts?.dtype, opts?.device), opts);
}
/** `steps` values evenly spaced from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, opts?: TensorOptions): Tensor {
  checkOptions(opts, 'linspace');
  return finish(binding.linspace(start, end, steps, opts?.dtype, opts?.device), opts);
}
/** Identity matrix n x m. */
export function eye(n: number, m?: number, opts?: TensorOptions): Tensor {
  checkOptions(opts, 'eye');
  return finish(binding.eye(n, m, opts?.dtype, opts?.device), opts);
}

function like(t: Tensor, opts?: TensorOptions): TensorOptions {
  checkLike(t);
  return { dtype: opts?.dtype ?? t.dtype, device: opts?.device ?? t.device, requiresGrad: opts?.requiresGrad };
}
// the addon's private handle, not instanceof: an object made from Tensor.prototype has no tensor behind it
function checkLike(t: Tensor): number[] {
  if (!binding.isTensor(t)) throw new TypeError('expected a Tensor as the first argument');
  return t.shape;
}
/** Zeros with the shape, dtype and device of t. */
export const zerosLike = (t: Tensor, opts?: TensorOptions) => zeros(checkLike(t), like(t, opts));
/** Ones with the shape, dtype and device of t. */
export const onesLike = (t: Tensor, opts?: TensorOptions) => ones(checkLike(t), like(t, opts));
/** `value` everywhere, with the shape, dtype and device of t. */
export const fullLike = (t: Tensor, value: number, opts?: TensorOptions) => full(checkLike(t), value, like(t, opts));
/** Uninitialised, with the shape, dtype and device of t. */
export const emptyLike = (t: Tensor, opts?: TensorOptions) => empty(checkLike(t), like(t, opts));
/** Uniform [0, 1) with the shape, dtype and device of t. */
export const randLike = (t: Tensor, opts?: TensorOptions) => rand(checkLike(t), like(t, opts));
/** Standard normal with the shape, dtype and device of t. */
export const randnLike = (t: Tensor, opts?: TensorOptions) => randn(checkLike(t), like(t, opts));
/** Integers in [low, high) with the shape and device of t. */
export const randintLike = (t: Tensor, low: number, high: number, opts?: TensorOptions) =>
  randint(low, high, checkLike(t), { device: opts?.device ?? t.device, dtype: opts?.dtype ?? t.dtype });

export { manualSeed, Generator, defaultGenerator } from './generator';
export { randperm } from './randperm';
export type { RandpermOptions } from './randperm';

/** The CPU generator's state (a uint8 tensor owned by the caller), as `torch.get_rng_state()`. */
export function getRngState(): Tensor {
  return binding.rngGetState();
}
/** Restores the CPU generator from a state getRngState returned. */
export function setRngState(state: Tensor): void {
  binding.rngSetState(state);
}
/** Each CUDA device's generator state, owned by the caller; empty without CUDA. */
export function getCudaRngStates(): Tensor[] {
  return binding.rngGetCudaStates();
}
/** Restores device i from states[i] for each device there is; states past the device count are ignored. */
export function setCudaRngStates(states: Tensor[]): void {
  binding.rngSetCudaStates(states);
}

/** Concatenates along an existing dimension. */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return binding.cat(tensors, dim);
}
/** Stacks along a new dimension. */
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return binding.stack(tensors, dim);
}
/** Elements of x where condition holds, else of y. */
export function where(condition: Tensor, x: Tensor | number, y: Tensor | number): Tensor {
  return binding.where(condition, x, y);
}
