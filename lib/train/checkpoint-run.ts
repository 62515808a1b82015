/**
 * What a fit with ModelCheckpoint callbacks needs around its epochs: the loader they save the position of, and
 * SIGINT/SIGTERM handlers, installed for the duration of the fit only, that stop it after the current batch and end
 * the process with the signal once the run has finished its checkpoint work.
 */
import { constants } from 'node:os';
import type { DataLoader } from '../data/loader';
import type { Callback, FitContext } from './callbacks';

/** The signals that end a checkpointed fit. */
export type StopSignal = 'SIGINT' | 'SIGTERM';

/** What a ModelCheckpoint learns about the fit it runs in. */
export interface RunParts {
  /** The DataLoader behind the training data, when there is one (its epoch is saved, its seed checked). */
  loader?: DataLoader;
  /** The first epoch of the run: this fit call's, or the resumed call's (so a resumed run ends where the first would). */
  runStart?: number;
  /** The signal that interrupted the run, once one came. */
  signal?: StopSignal;
}

/** A callback that wants the run's signals handled (ModelCheckpoint). */
export interface SignalAware extends Callback {
  readonly handlesSignals: true;
}

const runs = new WeakMap<FitContext, RunParts>();
// A resumed fit's first epoch, keyed by the fit call's own callbacks array (new in every call).
const resumedStarts = new WeakMap<Callback[], number>();

/** Notes that the fit whose callbacks are `callbacks` resumes a run that began at `runStart`. */
export function noteResumedRun(callbacks: Callback[], runStart: number): void {
  resumedStarts.set(callbacks, runStart);
}
// Runs that a signal interrupted and that have not finished yet: the process ends when the last one has.
const pending = new Set<RunParts>();
let exitSignal: StopSignal | undefined;

/** The parts of the fit that `ctx` belongs to (an empty record outside fit: a callback driven by hand). */
export function runPartsOf(ctx: FitContext): RunParts {
  return runs.get(ctx) ?? {};
}

function isSignalAware(c: Callback): c is SignalAware {
  return (c as Partial<SignalAware>).handlesSignals === true;
}

/** Ends the process as the signal's default action would (128 + signal number to a shell). */
function exitBySignal(sig: StopSignal): void {
  // With no listener left, Node restores the default action, so the re-raised signal ends the process as if unhandled.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  process.exit(128 + (constants.signals[sig] ?? 15));
}

/**
 * Runs fit's epochs (`run`) with its parts registered for its callbacks and, when a callback handles signals, with
 * SIGINT and SIGTERM handlers: the first signal asks fit to stop after the current batch (the callbacks write their
 * checkpoints as the run winds down), and once `run` has finished the process ends with that signal, unless the
 * program has listeners of its own for it (then fit returns and they decide). A second signal ends the process at
 * once. The handlers are removed when `run` settles, whatever happens.
 */
export async function withCheckpointRun<T>(ctx: FitContext, loader: DataLoader | undefined, callbacks: Callback[], run: () => Promise<T>): Promise<T> {
  const parts: RunParts = { loader, runStart: resumedStarts.get(callbacks) ?? ctx.initialEpoch };
  runs.set(ctx, parts);
  // Checkpoints save what the other callbacks left at the end of an epoch (a scheduler stepped in onEpochEnd): last.
  const aware = callbacks.filter(isSignalAware);
  if (aware.length > 0) {
    const others = callbacks.filter((c) => !isSignalAware(c));
    callbacks.splice(0, callbacks.length, ...others, ...aware);
  }
  const handler = (sig: StopSignal): void => {
    if (parts.signal !== undefined || exitSignal !== undefined) {
      removeHandlers();
      exitBySignal(sig);
      return;
    }
    parts.signal = sig;
    pending.add(parts);
    ctx.stop(`interrupted by ${sig}`);
  };
  const signals: StopSignal[] = aware.length > 0 ? ['SIGINT', 'SIGTERM'] : [];
  const removeHandlers = () => signals.forEach((s) => process.removeListener(s, handler));
  signals.forEach((s) => process.on(s, handler));
  let ok = false;
  try {
    const result = await run();
    ok = true;
    return result;
  } finally {
    removeHandlers();
    if (parts.signal !== undefined) {
      pending.delete(parts);
      exitSignal ??= parts.signal;
      // A failed fit rejects as usual (the program sees why); a finished one ends the process as the signal asked.
      if (ok && pending.size === 0 && process.listenerCount(exitSignal) === 0) exitBySignal(exitSignal);
      if (pending.size === 0) exitSignal = undefined;
    }
  }
}
