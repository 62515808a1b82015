/** Deterministic release of native memory: tidy scopes, keep, dispose, and the memory report. */
import { binding } from './native';
import { Tensor, isTensor } from './tensor';

/** Live tensors and the native bytes they hold (shared storages counted once). */
export interface MemoryInfo {
  tensors: number;
  bytes: number;
  cudaBytes: number;
  /** Open tidy scopes. */
  scopes: number;
}

function collect(value: unknown, out: Tensor[], seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isTensor(value)) {
    out.push(value);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, seen);
}

/**
 * Runs fn and disposes every tensor created inside it, except those it returns (in an array or plain object too).
 * Scopes nest. fn must be synchronous.
 * @example const loss = tg.tidy(() => net.forward(x).sub(y).square().mean());
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError('tidy(): expected a function');
  const depth: number = binding.scopeBegin();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    binding.scopeEnd(depth, []);
    throw e;
  }
  if (result instanceof Promise) {
    binding.scopeEnd(depth, []);
    throw new TypeError('tidy(): fn returned a Promise; tidy() takes synchronous functions only (dispose tensors in async code yourself)');
  }
  const keep: Tensor[] = [];
  collect(result, keep, new Set());
  binding.scopeEnd(depth, keep);
  return result;
}

/** Takes a tensor out of every tidy scope: it lives until disposed. Returns it. */
export function keep<T extends Tensor>(t: T): T {
  return binding.keep(t);
}

/** Disposes every tensor in a value (a tensor, an array, a plain object or a Map of them). */
export function dispose(value: unknown): void {
  const all: Tensor[] = [];
  collect(value, all, new Set());
  for (const t of all) t.dispose();
}

/** Counts of live tensors and their native bytes. */
export function memory(): MemoryInfo {
  return binding.memory();
}
