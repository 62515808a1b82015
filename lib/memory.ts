/** Deterministic release of native memory: tidy scopes, keep, dispose, and the memory report. */
import { binding } from './native';
import type { Tensor } from './tensor';
import { findTensors, isThenable } from './find-tensors';

/** Live tensors and the native bytes they hold (shared storages counted once). */
export interface MemoryInfo {
  tensors: number;
  bytes: number;
  cudaBytes: number;
  /** Open tidy scopes. */
  scopes: number;
}

/**
 * Runs fn and disposes every tensor created inside it, except those it returns (in an array, a plain object or a
 * Map too; getters are not run). Scopes nest. fn must be synchronous: a Promise or other thenable result is refused.
 * The scope closes whatever fn or its result does; when fn throws, or its result cannot be searched (a Proxy
 * whose trap throws), every tensor made inside is disposed and the error is thrown.
 * @example const loss = tg.tidy(() => net.forward(x).sub(y).square().mean());
 */
export function tidy<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError('tidy(): expected a function');
  const depth: number = binding.scopeBegin();
  let keep: Tensor[] = [];
  try {
    const result = fn();
    keep = tensorsToKeep(result);
    return result;
  } finally {
    binding.scopeEnd(depth, keep);
  }
}

/** The tensors a tidy() result returns; a TypeError for an asynchronous or unsearchable result. */
function tensorsToKeep(result: unknown): Tensor[] {
  try {
    if (!isThenable(result)) return findTensors(result);
  } catch (e) {
    throw new TypeError(`tidy(): could not search fn's result for the tensors it returns: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  throw new TypeError('tidy(): fn returned a Promise or a thenable; tidy() takes synchronous functions only (dispose tensors in async code yourself)');
}

/** Takes a tensor out of every tidy scope: it lives until disposed. Returns it. */
export function keep<T extends Tensor>(t: T): T {
  return binding.keep(t);
}

/** Disposes every tensor in a value (a tensor, an array, a plain object or a Map of them). */
export function dispose(value: unknown): void {
  for (const t of findTensors(value)) t.dispose();
}

/** Counts of live tensors and their native bytes. */
export function memory(): MemoryInfo {
  return binding.memory();
}
