/** Optimizer option checks: each option's default and the domain PyTorch accepts for it. */

/** How one option is defaulted and checked; `check` throws TypeError (wrong type) or RangeError (out of domain). */
export interface OptionSpec {
  /** The default; undefined marks a required option (SGD's lr). */
  default: unknown;
  check(value: unknown, label: string): void;
}

/** One spec per option of O. */
export type OptionSpecs<O> = { [K in keyof O]-?: OptionSpec };

function number(value: unknown, label: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`${label}: expected a finite number, got ${typeof value === 'number' ? value : typeof value}`);
  }
  return value;
}

/** A finite number >= 0 (learning rates, weight decay, eps, momentum). */
export function nonNegative(def: number | undefined): OptionSpec {
  return {
    default: def,
    check(value, label) {
      if (number(value, label) < 0) throw new RangeError(`${label}: invalid value ${value} (expected >= 0)`);
    },
  };
}

/** Any finite number (SGD's dampening). */
export function finite(def: number): OptionSpec {
  return { default: def, check: (value, label) => void number(value, label) };
}

/** A boolean flag. */
export function flag(def: boolean): OptionSpec {
  return {
    default: def,
    check(value, label) {
      if (typeof value !== 'boolean') throw new TypeError(`${label}: expected a boolean, got ${typeof value}`);
    },
  };
}

/** Adam's [beta1, beta2], each in [0, 1). */
export function betas(def: [number, number]): OptionSpec {
  return {
    default: def,
    check(value, label) {
      if (!Array.isArray(value) || value.length !== 2) throw new TypeError(`${label}: expected [beta1, beta2]`);
      value.forEach((b, i) => {
        if (!(number(b, `${label}[${i}]`) >= 0 && b < 1)) throw new RangeError(`${label}[${i}]: invalid beta ${b} (expected 0 <= beta < 1)`);
      });
    },
  };
}

/**
 * Fills defaults into a group's options and checks every one; unknown names are a TypeError naming them.
 * With `partial` (the constructor's defaults), a required option may stay unset for the groups to give.
 */
export function resolveOptions<O>(specs: OptionSpecs<O>, base: Partial<O>, given: Partial<O>, where: string, partial = false): O {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(given)) {
    if (!(key in specs)) {
      throw new TypeError(`${where}: unknown option '${key}' (options: ${Object.keys(specs).join(', ')})`);
    }
  }
  for (const key of Object.keys(specs) as (keyof O & string)[]) {
    const value = (given as Record<string, unknown>)[key] !== undefined ? (given as Record<string, unknown>)[key] : (base as Record<string, unknown>)[key];
    if (value === undefined) {
      const def = specs[key].default;
      if (def === undefined && partial) continue;
      if (def === undefined) throw new TypeError(`${where}: option '${key}' is required (set it for the optimizer or for this group)`);
      out[key] = Array.isArray(def) ? [...def] : def;
    } else {
      specs[key].check(value, `${where}: ${key}`);
      out[key] = Array.isArray(value) ? [...value] : value;
    }
  }
  return out as O;
}
