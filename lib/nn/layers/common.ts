/** Shared helpers for layers: factory options and argument checks with messages that name the layer. */
import type { DType, Device } from '../../dtype';
import { isDType, isFloatingDType } from '../../dtype';
import { empty } from '../../creation';
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import * as init from '../init';

/** Where a layer creates its parameters (PyTorch's `device=` / `dtype=` factory arguments). */
export interface FactoryOptions {
  device?: Device | string;
  dtype?: DType;
}

/** An uninitialised floating tensor for a parameter or buffer, on the requested device and dtype. */
export function newTensor(shape: number[], o: FactoryOptions, layer: string): Tensor {
  if (o.dtype !== undefined && (!isDType(o.dtype) || !isFloatingDType(o.dtype)))
    throw new TypeError(`${layer}: dtype must be a floating dtype, got '${String(o.dtype)}'`);
  return empty(shape, { dtype: o.dtype, device: o.device });
}

/** Checks an integer argument is >= min. */
export function checkInt(v: unknown, what: string, layer: string, min = 1): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new TypeError(`${layer}: ${what} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks a number argument is finite (and within [lo, hi] when given). */
export function checkNumber(v: unknown, what: string, layer: string, lo = -Infinity, hi = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) {
    const range = lo === -Infinity && hi === Infinity ? 'a finite number' : `a number in [${lo}, ${hi}]`;
    throw new RangeError(`${layer}: ${what} must be ${range}, got ${JSON.stringify(v)}`);
  }
  return v;
}

/** Expands an int or a list into `n` ints (`3` -> `[3, 3]`), checking each. */
export function tuple(v: number | number[], n: number, what: string, layer: string, min = 1): number[] {
  const list = typeof v === 'number' ? new Array<number>(n).fill(v) : v;
  if (!Array.isArray(list) || list.length !== n) throw new TypeError(`${layer}: ${what} must be an integer or ${n} integers, got ${JSON.stringify(v)}`);
  for (const x of list) checkInt(x, what, layer, min);
  return list;
}

/** Checks that an input is a tensor with one of the allowed numbers of dimensions. */
export function checkInput(x: unknown, dims: number[], layer: string, what = 'input'): Tensor {
  if (!isTensor(x)) throw new TypeError(`${layer}: expected a Tensor as ${what}, got ${x === null ? 'null' : typeof x}`);
  if (!dims.includes(x.ndim)) {
    const want = dims.length === 1 ? `${dims[0]}-D` : `${dims.slice(0, -1).join('-D, ')}-D or ${dims[dims.length - 1]}-D`;
    throw new RangeError(`${layer}: expected ${want} ${what}, got shape [${x.shape.join(', ')}]`);
  }
  return x;
}

/** `true`/`false`/numbers/arrays printed the way extraRepr shows them. */
export function repr(v: unknown): string {
  if (Array.isArray(v)) return `[${v.join(', ')}]`;
  return String(v);
}

/** PyTorch's default initialisation of Linear and Conv layers: weight Kaiming uniform (a = √5), bias U(±1/√fanIn). */
export function resetWeightAndBias(weight: Tensor, bias: Tensor | null | undefined): void {
  init.kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const { fanIn } = init.computeFans(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    init.uniform_(bias, -bound, bound);
  }
}
