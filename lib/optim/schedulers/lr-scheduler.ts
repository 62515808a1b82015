/** The base of epoch-driven LR schedules: PyTorch's _LRScheduler, computing each group's lr on every step(). */
import { Optimizer } from '../optimizer';
import { isFiniteNonNegative, isNonNegativeInteger, StateReader, stateObject } from './state-check';

/** Any optimizer: schedulers drive the options every optimizer has (lr; momentum or betas for one-cycle). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyOptimizer = Optimizer<any>;

/** A scheduler's saved progress: plain numbers, JSON-safe. */
export type SchedulerStateDict = Record<string, unknown>;

/** Checks that `optimizer` is a tg.optim optimizer. */
export function checkOptimizer(optimizer: unknown, where: string): asserts optimizer is AnyOptimizer {
  if (!(optimizer instanceof Optimizer)) throw new TypeError(`${where}: expected a tg.optim optimizer`);
}

/** Checks a number option. */
export function checkNumber(value: unknown, label: string, test: (v: number) => boolean, expected: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || !test(value)) throw new RangeError(`${label}: expected ${expected}, got ${String(value)}`);
  return value;
}

/**
 * Base class of the LR schedules: on construction and on each `step()` it sets every group's `lr` from
 * `getLr()`, per group, as PyTorch's `_LRScheduler` does (so the same calls give the same learning rates).
 */
export abstract class LRScheduler {
  /** The optimizer whose groups' learning rates this schedules. */
  readonly optimizer: AnyOptimizer;
  /** Each group's starting lr (its `initialLr`). */
  baseLrs: number[];
  /** Index of the last epoch (or batch) stepped; -1 before the first. */
  lastEpoch: number;
  /** Number of step() calls, the construction's included. */
  protected stepCount = 0;
  #lastLr: number[] = [];
  /** The class's name in messages. */
  protected readonly where: string;

  protected constructor(optimizer: AnyOptimizer, lastEpoch: number, where: string) {
    checkOptimizer(optimizer, where);
    this.optimizer = optimizer;
    this.where = where;
    const groups = optimizer.paramGroups;
    if (lastEpoch === -1) {
      for (const g of groups) if (g.initialLr === undefined) g.initialLr = g.lr;
    } else {
      groups.forEach((g, i) => {
        if (g.initialLr === undefined) throw new TypeError(`${where}: paramGroups[${i}] has no initialLr, needed to resume at lastEpoch ${lastEpoch}`);
      });
    }
    this.baseLrs = groups.map((g) => g.initialLr as number);
    this.lastEpoch = lastEpoch;
  }

  /** The learning rate of each group for `lastEpoch` (called by step()). */
  protected abstract getLr(): number[];

  /** Subclasses call this at the end of their constructor: it sets the first epoch's learning rates. */
  protected initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** Advances one epoch (or batch, for OneCycleLR) and sets every group's lr. Call it after `optimizer.step()`. */
  step(): void {
    this.stepCount++;
    this.lastEpoch++;
    const values = this.getLr();
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = values[i];
    });
    this.#lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The learning rates the last step() set, one per group. */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  /** The scheduler's progress and settings, to resume with loadStateDict(). */
  stateDict(): SchedulerStateDict {
    return { ...this.settings(), baseLrs: [...this.baseLrs], lastEpoch: this.lastEpoch, stepCount: this.stepCount, lastLr: [...this.#lastLr] };
  }

  /**
   * Restores what stateDict() returned. A malformed state dict (a field of the wrong type or range, a list of another
   * length than the groups, an unknown key) is refused with ERR_SCHEDULER_STATE naming every problem, and changes
   * nothing; absent fields keep their values.
   */
  loadStateDict(sd: SchedulerStateDict): void {
    const s = stateObject(sd, this.where);
    const n = this.optimizer.paramGroups.length;
    const r = new StateReader(s, this.where, ['baseLrs', 'lastEpoch', 'stepCount', 'lastLr', ...Object.keys(this.settings())]);
    const baseLrs = r.numbers('baseLrs', this.baseLrs, n, isFiniteNonNegative, 'a finite number >= 0');
    const lastEpoch = r.number('lastEpoch', this.lastEpoch, (v) => Number.isInteger(v) && v >= -1, 'an integer >= -1');
    const stepCount = r.number('stepCount', this.stepCount, isNonNegativeInteger, 'an integer >= 0');
    const lastLr = r.numbers('lastLr', this.#lastLr, n, isFiniteNonNegative, 'a finite number >= 0');
    const applySettings = this.readSettings(r);
    r.done();
    this.baseLrs = baseLrs;
    this.lastEpoch = lastEpoch;
    this.stepCount = stepCount;
    this.#lastLr = lastLr;
    applySettings();
  }

  /** The subclass's own fields for stateDict(). */
  protected abstract settings(): Record<string, unknown>;
  /** Checks the subclass's own fields of a state dict (problems go to `r`); returns what assigns them. */
  protected abstract readSettings(r: StateReader): () => void;
}
