/** Reads nested JavaScript arrays for tensor(): their shape and values, checked for depth, cycles, raggedness, holes and size. */
import { types } from 'node:util';

/** Most nesting levels tensor() reads: torch.tensor()'s own limit. */
export const MAX_NESTED_DIMS = 128;
/** Most values nested arrays may hold (a larger tensor comes from a TypedArray). */
export const MAX_NESTED_VALUES = 2 ** 31 - 1;

/** What nested arrays hold: their shape, the values in row-major order, and the narrowest kind that holds them all. */
export interface NestedData {
  shape: number[];
  values: Float64Array;
  /** 'bool' when every value is a boolean, 'int' when every one is an integer or a boolean, else 'float'. */
  kind: 'bool' | 'int' | 'float';
}

/** A position such as data[1][0]; a deep one keeps its first and last indices and says its depth. */
function at(path: number[]): string {
  const idx = (p: number[]) => p.map((i) => `[${i}]`).join('');
  return path.length <= 8 ? 'data' + idx(path) : `data${idx(path.slice(0, 3))}...${idx(path.slice(-3))} (depth ${path.length})`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Refuses what is not a plain array before anything of it is read: a Proxy's traps and length can say anything. */
function checkNode(v: unknown, path: number[]): void {
  if ((typeof v === 'object' || typeof v === 'function') && v !== null && types.isProxy(v))
    throw new TypeError(`tensor(): ${at(path)} is a Proxy; pass plain arrays (e.g. Array.from(proxy), or your framework's toRaw())`);
}

/** Reads a[i]; an element getter may run and throw, which becomes a TypeError naming the position. */
function element(a: unknown[], i: number, path: number[]): unknown {
  let v: unknown;
  try {
    v = a[i];
  } catch (e) {
    throw new TypeError(`tensor(): reading ${at([...path, i])} threw: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (v === undefined && !(i in a)) throw new TypeError(`tensor(): ${at([...path, i])} is a hole (a sparse array); every element must be given`);
  checkNode(v, [...path, i]);
  return v;
}

/** The shape the first elements describe, checked for depth and cycles. */
function inferShape(data: unknown): number[] {
  const shape: number[] = [];
  const path: number[] = [];
  const ancestors = new Set<unknown>();
  checkNode(data, path);
  for (let cur = data; Array.isArray(cur); cur = element(cur, 0, path), path.push(0)) {
    if (ancestors.has(cur)) throw new RangeError(`tensor(): ${at(path)} contains itself (a cycle in the nested arrays)`);
    if (shape.length === MAX_NESTED_DIMS)
      throw new RangeError(`tensor(): nested arrays deeper than ${MAX_NESTED_DIMS} levels (torch.tensor's limit) at ${at(path)}`);
    ancestors.add(cur);
    shape.push(cur.length);
    if (cur.length === 0) break;
  }
  return shape;
}

/** The number of values a shape holds; a RangeError past MAX_NESTED_VALUES, checked before anything is allocated. */
function countValues(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (n > MAX_NESTED_VALUES)
    throw new RangeError(
      `tensor(): nested arrays of shape [${shape.join(', ')}] describe ${n} values, more than ${MAX_NESTED_VALUES}; build a tensor this large from a TypedArray`,
    );
  return n;
}

/** Collects values in a buffer that grows with what was really read, never with what a length claims. */
class Values {
  buf: Float64Array;
  n = 0;
  bools = 0;
  nonIntegers = 0;
  constructor(readonly total: number) {
    this.buf = new Float64Array(Math.min(total, 1 << 16));
  }
  push(v: number | boolean): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(Math.min(this.total, this.buf.length * 2));
      next.set(this.buf);
      this.buf = next;
    }
    if (typeof v === 'boolean') {
      this.bools++;
      this.buf[this.n++] = v ? 1 : 0;
    } else {
      if (!Number.isInteger(v)) this.nonIntegers++;
      this.buf[this.n++] = v;
    }
  }
}

/** Reads a[i] on the fast path; an element getter may run and throw, which becomes a TypeError naming the position. */
function read(a: unknown[], i: number, path: number[]): unknown {
  try {
    return a[i];
  } catch (e) {
    throw new TypeError(`tensor(): reading ${at([...path, i])} threw: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/** The error for an element that is not what the shape says: a hole, a Proxy, ragged nesting or a wrong type. */
function badElement(a: unknown[], i: number, v: unknown, leaf: boolean, length: number, path: number[]): Error {
  const where = at([...path, i]);
  const like = at([...path, i].map(() => 0));
  if (v === undefined && !(i in a)) return new TypeError(`tensor(): ${where} is a hole (a sparse array); every element must be given`);
  if ((typeof v === 'object' || typeof v === 'function') && v !== null && types.isProxy(v))
    return new TypeError(`tensor(): ${where} is a Proxy; pass plain arrays (e.g. Array.from(proxy), or your framework's toRaw())`);
  if (leaf && Array.isArray(v)) return new RangeError(`tensor(): ragged nested arrays: ${where} is ${describe(v)}, expected a number like ${like}`);
  if (!leaf && (Array.isArray(v) || typeof v === 'number' || typeof v === 'boolean'))
    return new RangeError(`tensor(): ragged nested arrays: ${where} is ${describe(v)}, expected an array of length ${length} like ${like}`);
  return new TypeError(`tensor(): expected ${leaf ? 'numbers or booleans' : 'an array'}, got ${describe(v)} at ${where}`);
}

/** Appends the values under node (an array at dimension dim, already checked) in row-major order. */
function flatten(node: unknown[], shape: number[], dim: number, path: number[], ancestors: Set<unknown>, out: Values): void {
  ancestors.add(node);
  const n = shape[dim];
  const leaf = dim + 1 === shape.length;
  for (let i = 0; i < n; i++) {
    const v = read(node, i, path);
    if (leaf) {
      if (typeof v === 'number' || typeof v === 'boolean') out.push(v);
      else throw badElement(node, i, v, true, 0, path);
      continue;
    }
    if (types.isProxy(v) || !Array.isArray(v) || v.length !== shape[dim + 1]) throw badElement(node, i, v, false, shape[dim + 1], path);
    path.push(i);
    if (ancestors.has(v)) throw new RangeError(`tensor(): ${at(path)} contains itself (a cycle in the nested arrays)`);
    flatten(v, shape, dim + 1, path, ancestors, out);
    path.pop();
  }
  ancestors.delete(node);
}

/**
 * Reads a number, a boolean or nested arrays of them (at most MAX_NESTED_DIMS levels, MAX_NESTED_VALUES values).
 * Every bad input is a TypeError or RangeError naming the position: cycles, ragged or sparse arrays, Proxies,
 * elements of other types, getters that throw.
 */
export function readNested(data: unknown): NestedData {
  const shape = inferShape(data);
  const out = new Values(countValues(shape));
  if (shape.length === 0) {
    if (typeof data !== 'number' && typeof data !== 'boolean')
      throw new TypeError(`tensor(): expected a TypedArray, nested arrays, a number or a boolean, got ${describe(data)}`);
    out.push(data);
  } else flatten(data as unknown[], shape, 0, [], new Set(), out);
  const kind = out.n > 0 && out.bools === out.n ? 'bool' : out.n > 0 && out.nonIntegers === 0 ? 'int' : 'float';
  return { shape, values: out.buf.subarray(0, out.n), kind };
}
