/** Shared checks of transform options and inputs, and the random draws torchvision makes (same LibTorch calls). */
import { isTensor, Tensor } from '../tensor';
import { empty, randint } from '../creation';
import type { TransformSpec } from './transform';

/** Interpolation modes of the tensor transforms, as torchvision's InterpolationMode values. */
export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';

/** Throws a TypeError naming the transform unless `x` is a tensor image `[..., C, H, W]`. */
export function checkImage(x: unknown, who: string): Tensor {
  if (!isTensor(x)) throw new TypeError(`${who}: expected a tensor image [..., C, H, W], got ${describe(x)}`);
  if (x.ndim < 3) throw new TypeError(`${who}: expected a tensor image [..., C, H, W], got shape [${x.shape.join(', ')}]`);
  return x;
}

/** A short description of a value for error messages. */
export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object' ? (x.constructor?.name ?? 'an object') : `${typeof x} ${String(x)}`;
}

/** Throws a TypeError for option names the transform does not know (a typo would otherwise be ignored silently). */
export function checkKeys(who: string, options: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${who}: options must be an object, got ${describe(options)}`);
  }
  for (const k of Object.keys(options)) {
    if (!allowed.includes(k)) throw new TypeError(`${who}: unknown option '${k}' (known: ${allowed.join(', ')})`);
  }
  return options as Record<string, unknown>;
}

/** A positive integer, or a RangeError naming the option. */
export function positiveInt(v: unknown, who: string, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${who}: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** `size` as torchvision's crops read it: an int or [s] for a square, or [height, width]. */
export function cropSize(size: unknown, who: string): [number, number] {
  if (typeof size === 'number') {
    const s = positiveInt(size, who, 'size');
    return [s, s];
  }
  if (Array.isArray(size) && (size.length === 1 || size.length === 2)) {
    const h = positiveInt(size[0], who, 'size');
    return [h, positiveInt(size[size.length - 1], who, 'size')];
  }
  throw new RangeError(`${who}: size must be a positive integer or [height, width], got ${JSON.stringify(size)}`);
}

/** A probability in [0, 1]. */
export function probability(p: unknown, who: string): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new RangeError(`${who}: p must be a probability in [0, 1], got ${JSON.stringify(p)}`);
  return p;
}

/** One of `allowed` interpolation names. */
export function interpolation(v: unknown, who: string, allowed: readonly Interpolation[]): Interpolation {
  if (!allowed.includes(v as Interpolation)) {
    throw new RangeError(`${who}: interpolation must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${JSON.stringify(v)}`);
  }
  return v as Interpolation;
}

/** A boolean option. */
export function bool(v: unknown, who: string, what: string): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${who}: ${what} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

/** Python's round(): halves go to the even neighbour. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** `float(torch.empty(1).uniform_(lo, hi))`: one float32 draw from the global generator. */
export function uniform(lo: number, hi: number): number {
  const t = empty([1]);
  const v = t.uniform_(lo, hi).item();
  t.dispose();
  return v;
}

/** `torch.randint(lo, hi, size=(1,)).item()`. */
export function randomInt(lo: number, hi: number): number {
  const t = randint(lo, hi, [1]);
  const v = t.item();
  t.dispose();
  return v;
}

/**
 * `torch.randperm(n).tolist()` on the CPU generator: LibTorch shuffles with `random() % (n - i)` for small n, which is
 * the draw `torch.randint(0, n - i, (1,))` makes, so the permutation (and the generator's state after it) are PyTorch's.
 */
export function randomPermutation(n: number): number[] {
  const r = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n - 1; i++) {
    const z = randomInt(0, n - i);
    [r[i], r[i + z]] = [r[i + z], r[i]];
  }
  return r;
}

/** A spec's options without its name, after checking their names (for the factories `fromJSON` calls). */
export function specOptions(spec: TransformSpec, who: string, allowed: readonly string[]): Record<string, unknown> {
  const o = { ...checkKeys(who, spec, ['name', ...allowed]) };
  delete o.name;
  return o;
}
