/**
 * Reading a scheduler's state dict field by field: every problem is collected and reported at once (ERR_SCHEDULER_STATE),
 * before anything is assigned, so that a malformed or foreign state dict leaves the scheduler as it was. A field that is
 * absent keeps its current value (an older save may lack newer fields).
 */
import { TorchError } from '../../errors';
import { closest } from '../../known-keys';

const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : Array.isArray(v) ? `an array of ${v.length}` : String(v));

/** The checks of one state dict; `take*` return the value to assign (the current one when the field is absent). */
export class StateReader {
  private readonly problems: string[] = [];

  constructor(
    private readonly sd: Record<string, unknown>,
    private readonly where: string,
    private readonly known: readonly string[],
  ) {}

  /** A number passing `test` (described by `expected`). */
  number(key: string, current: number, test: (v: number) => boolean, expected: string): number {
    const v = this.sd[key];
    if (v === undefined) return current;
    if (typeof v !== 'number' || Number.isNaN(v) || !test(v)) {
      this.problems.push(`${key}: expected ${expected}, got ${show(v)}`);
      return current;
    }
    return v;
  }

  /** `n` numbers, each passing `test`. */
  numbers(key: string, current: number[], n: number, test: (v: number) => boolean, expected: string): number[] {
    const v = this.sd[key];
    if (v === undefined) return current;
    if (!Array.isArray(v) || v.length !== n) {
      this.problems.push(`${key}: expected ${n} numbers (one per parameter group), got ${show(v)}`);
      return current;
    }
    const bad = v.findIndex((x) => typeof x !== 'number' || Number.isNaN(x) || !test(x));
    if (bad >= 0) {
      this.problems.push(`${key}[${bad}]: expected ${expected}, got ${show(v[bad])}`);
      return current;
    }
    return [...(v as number[])];
  }

  /** Throws ERR_SCHEDULER_STATE naming every problem and every unknown key, if there were any. */
  done(): void {
    for (const k of Object.keys(this.sd)) {
      if (this.known.includes(k)) continue;
      const near = closest(k, this.known);
      this.problems.push(near === undefined ? `unknown key '${k}'` : `unknown key '${k}' (did you mean '${near}'?)`);
    }
    if (this.problems.length === 0) return;
    throw new TorchError(`${this.where}.loadStateDict: the state dict does not fit: ${this.problems.join('; ')}`, { code: 'ERR_SCHEDULER_STATE' });
  }
}

/** The object a loadStateDict was given, or a TypeError. */
export function stateObject(sd: unknown, where: string): Record<string, unknown> {
  if (sd === null || typeof sd !== 'object' || Array.isArray(sd)) throw new TypeError(`${where}.loadStateDict: expected an object from stateDict()`);
  return sd as Record<string, unknown>;
}

export const isFiniteNonNegative = (v: number): boolean => Number.isFinite(v) && v >= 0;
export const isPositiveInteger = (v: number): boolean => Number.isInteger(v) && v > 0;
export const isNonNegativeInteger = (v: number): boolean => Number.isInteger(v) && v >= 0;
