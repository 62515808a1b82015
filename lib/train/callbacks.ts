/** Callbacks: hooks fit calls at the begin and end of training, epochs and batches; any of them may stop training. */
import type { History } from './history';
import type { BatchLogs, EpochLogs, StepOptimizer, Trainable } from './types';

/** What callbacks see of the run, and how they stop it. */
export interface FitContext {
  /** The model being trained (with a feature cache: the part above the cut). */
  readonly model: Trainable;
  readonly optimizer: StepOptimizer;
  readonly history: History;
  /** Number of the first epoch of this call and of the epoch after its last (epochs run in [initialEpoch, endEpoch)). */
  readonly initialEpoch: number;
  readonly endEpoch: number;
  /** Asks fit to stop: after the current batch when called during an epoch, else before the next epoch. */
  stop(reason?: string): void;
  /** Whether stop() was called. */
  readonly stopRequested: boolean;
  /** This process's rank under fit({ distributed: true }), else undefined: callbacks that write files do so on rank 0 only. */
  readonly rank?: number;
}

/**
 * Hooks into fit; every method is optional and may return a Promise (fit awaits it), except onBackward,
 * which runs inside the training step between backward and the optimizer step (gradient clipping goes there).
 */
export interface Callback {
  onTrainBegin?(ctx: FitContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: FitContext): void | Promise<void>;
  onBackward?(ctx: FitContext): void;
  onBatchEnd?(batch: number, logs: BatchLogs, ctx: FitContext): void | Promise<void>;
  /** Called with the epoch's logs after validation; it may add keys to them (they go into the history). */
  onEpochEnd?(epoch: number, logs: EpochLogs, ctx: FitContext): void | Promise<void>;
  onTrainEnd?(history: History, ctx: FitContext): void | Promise<void>;
}

type Hook = 'onTrainBegin' | 'onEpochBegin' | 'onBatchEnd' | 'onEpochEnd' | 'onTrainEnd';

/** Calls one hook on every callback in order, awaiting each. */
export async function callAll(callbacks: Callback[], hook: Hook, ...args: unknown[]): Promise<void> {
  for (const cb of callbacks) {
    const fn = cb[hook] as ((...a: unknown[]) => unknown) | undefined;
    if (fn) await fn.apply(cb, args);
  }
}

/** Throws unless callbacks is an array of objects. */
export function checkCallbacks(callbacks: unknown, where: string): Callback[] {
  if (callbacks === undefined) return [];
  if (!Array.isArray(callbacks)) throw new TypeError(`${where}: callbacks must be an array of objects with hooks such as onEpochEnd`);
  callbacks.forEach((c, i) => {
    if (c === null || typeof c !== 'object') throw new TypeError(`${where}: callbacks[${i}] must be an object with hooks such as onEpochEnd`);
  });
  return callbacks as Callback[];
}
