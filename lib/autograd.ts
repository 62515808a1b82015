/** Gradient mode: run code with autograd off or on (thread-local in LibTorch; set on the calling thread). */
import { binding } from './native';

function withGrad<T>(enabled: boolean, fn: () => T): T {
  const prev: boolean = binding.setGradEnabled(enabled);
  try {
    const r = fn();
    if (r instanceof Promise) {
      throw new TypeError('noGrad()/enableGrad(): fn must be synchronous (grad mode is per call on the JavaScript thread)');
    }
    return r;
  } finally {
    binding.setGradEnabled(prev);
  }
}

/** Runs fn without recording operations for autograd (inference, weight updates). */
export function noGrad<T>(fn: () => T): T {
  return withGrad(false, fn);
}

/** Runs fn with autograd recording, even inside noGrad. */
export function enableGrad<T>(fn: () => T): T {
  return withGrad(true, fn);
}

/** Whether autograd records operations now. */
export function isGradEnabled(): boolean {
  return binding.isGradEnabled();
}
