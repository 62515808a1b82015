/** Runs a random transform under an example's own seed, without disturbing the generator state around it. */
import { getCudaRngStates, getRngState, manualSeed, setCudaRngStates, setRngState } from '../creation';
import { dispose } from '../memory';
import type { Tensor } from '../tensor';

/**
 * A lock over LibTorch's global generator shared by the threads of one loader (an Int32Array over a
 * SharedArrayBuffer): the generator is one per process, so seeding and drawing must not interleave between threads.
 */
export type RngLock = Int32Array;

/** A new lock, to share with workers through workerData. */
export function newRngLock(): RngLock {
  return new Int32Array(new SharedArrayBuffer(4));
}

function acquire(lock: RngLock): void {
  // short timed waits: a terminated thread never leaves another one blocked for good
  while (Atomics.compareExchange(lock, 0, 0, 1) !== 0) Atomics.wait(lock, 0, 1, 50);
}

function release(lock: RngLock): void {
  Atomics.store(lock, 0, 0);
  Atomics.notify(lock, 0, 1);
}

/**
 * Calls `fn` with LibTorch's generators seeded with `seed` (`tg.manualSeed`), holding `lock`, then puts the CPU and
 * CUDA generator states back as they were: the caller's own random stream goes on as if nothing was drawn.
 */
export function withSeed<T>(seed: number, lock: RngLock | undefined, fn: () => T): T {
  if (lock) acquire(lock);
  let saved: Tensor | undefined;
  let savedCuda: Tensor[] = [];
  try {
    saved = getRngState();
    savedCuda = getCudaRngStates();
    manualSeed(seed);
    return fn();
  } finally {
    try {
      if (saved) setRngState(saved);
      if (savedCuda.length) setCudaRngStates(savedCuda);
    } finally {
      dispose([saved, ...savedCuda].filter((t): t is Tensor => t !== undefined));
      if (lock) release(lock);
    }
  }
}
