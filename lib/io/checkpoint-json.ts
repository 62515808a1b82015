/**
 * The JSON half of a checkpoint: plain values with tensors replaced by references to the file's tensors, and the
 * numbers JSON cannot write (Infinity in ReduceLROnPlateau's `best`, NaN) kept exactly.
 */
import { Tensor, isTensor } from '../tensor';

/** Collects the tensors met while encoding, under the names their references use. */
export interface TensorSink {
  add(t: Tensor): string;
}

// Special forms are one-key objects whose key starts with '$'; user keys starting with '$' get one more '$'.
const TENSOR = '$tensor';
const NUMBER = '$number';

/**
 * A JSON-safe copy of value: tensors become `{ $tensor: name }` (the sink stores them), non-finite numbers
 * `{ $number: 'Infinity' }`; undefined object entries are dropped.
 * @throws TypeError naming the path of a value JSON cannot hold (a function, a bigint, a class instance, a cycle).
 */
export function encodeValue(value: unknown, sink: TensorSink, path: string, seen = new Set<object>()): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : { [NUMBER]: String(value) };
  if (isTensor(value)) return { [TENSOR]: sink.add(value) };
  if (typeof value !== 'object') throw new TypeError(`checkpoint: ${path} is a ${typeof value}, which a checkpoint cannot hold`);
  if (seen.has(value)) throw new TypeError(`checkpoint: ${path} refers back to itself (a cycle)`);
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((v, i) => encodeValue(v === undefined ? null : v, sink, `${path}[${i}]`, seen));
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null)
      throw new TypeError(`checkpoint: ${path} is a ${(value as object).constructor?.name ?? 'class instance'}; only plain objects, arrays, numbers, strings, booleans, null and tensors can be saved`);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      out[k.startsWith('$') ? '$' + k : k] = encodeValue(v, sink, `${path}.${k}`, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}

/** The inverse of encodeValue; `tensor(name)` returns the file's tensor or throws naming what is missing. */
export function decodeValue(value: unknown, tensor: (name: string) => Tensor): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => decodeValue(v, tensor));
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === TENSOR) return tensor(String((value as Record<string, unknown>)[TENSOR]));
  if (keys.length === 1 && keys[0] === NUMBER) return Number((value as Record<string, unknown>)[NUMBER]);
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    // defineProperty: a saved key "__proto__" stays a plain own key.
    Object.defineProperty(out, k.startsWith('$$') ? k.slice(1) : k, {
      value: decodeValue((value as Record<string, unknown>)[k], tensor),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}
