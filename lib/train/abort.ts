/** Cancelling fit, evaluate and predict with an AbortSignal, as Node's own APIs are cancelled. */
import type { AbortSignalLike } from '../portable-types';

/**
 * What fit, evaluate and predict reject with when their signal was aborted before they started (and evaluate and
 * predict when it is aborted while they run): like Node's AbortError, name 'AbortError', code 'ABORT_ERR', and the
 * signal's reason as `cause`.
 */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR';
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AbortError';
  }
}

/** The signal option checked: undefined, or an AbortSignal (anything with `aborted` and addEventListener). */
export function checkSignal(signal: unknown, where: string): AbortSignalLike | undefined {
  if (signal === undefined) return undefined;
  const s = signal as AbortSignalLike;
  if (s === null || typeof s !== 'object' || typeof s.aborted !== 'boolean' || typeof s.addEventListener !== 'function')
    throw new TypeError(`${where}: signal must be an AbortSignal (from an AbortController), got ${signal === null ? 'null' : typeof signal}`);
  return s;
}

/** Throws the AbortError when the signal is aborted. */
export function throwIfAborted(signal: AbortSignalLike | undefined, where: string): void {
  if (signal?.aborted) throw new AbortError(`${where}: the operation was aborted`, { cause: signal.reason });
}
