/** The real MNIST digits bundled with the package (10,000 images, data/mnist-digits.bin.gz), as tensors. */
import { tensor } from '../creation';
import type { Tensor } from '../tensor';
import { readDigitsFile, PIXEL_VALUES, DigitsFile } from './digits-file';

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
let fileCache: DigitsFile | undefined;

/** The bundled digits, read (one read, one gunzip: 7.5 MiB of grey levels) on first use and kept. */
function digitsFile(): DigitsFile {
  fileCache ??= readDigitsFile();
  return fileCache;
}

/** How many images of digit d are bundled. */
export function digitCount(d: number): number {
  if (!Number.isInteger(d) || d < 0 || d > 9) throw new RangeError(`digitCount(): digit ${d} is not in 0-9`);
  const { starts } = digitsFile();
  return starts[d + 1] - starts[d];
}

/**
 * Loads bundled MNIST digits as tensors, digit by digit in order (shuffle with a DataLoader).
 * @example const { x, y } = tg.datasets.loadDigits({ digits: [0, 1, 2, 3, 4], end: 800 });
 * @throws RangeError for a digit outside 0-9; TorchError `ERR_IO`, `ERR_DIGITS_FORMAT`, `ERR_DIGITS_TRUNCATED` or
 *   `ERR_DIGITS_CORRUPT` when the bundled file cannot be read or is damaged.
 */
export function loadDigits(opts: LoadDigitsOptions = {}): DigitSet {
  const digits = opts.digits ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  for (const d of digits) if (!Number.isInteger(d) || d < 0 || d > 9) throw new RangeError(`loadDigits(): digit ${d} is not in 0-9`);
  const { levels, starts } = digitsFile();
  const parts: { d: number; from: number; to: number }[] = [];
  let n = 0;
  for (const d of digits) {
    const count = starts[d + 1] - starts[d];
    const from = Math.max(0, Math.min(opts.start ?? 0, count));
    const to = Math.max(from, Math.min(opts.end ?? count, count));
    parts.push({ d, from, to });
    n += to - from;
  }
  // one float32 buffer for all the images asked for, filled from the grey levels through the 256-value table
  const xs = new Float32Array(n * PIXELS);
  const ys = new BigInt64Array(n);
  const offset = opts.labelOffset ?? 0;
  let row = 0;
  for (const { d, from, to } of parts) {
    const src = (starts[d] + from) * PIXELS;
    const dst = row * PIXELS;
    const len = (to - from) * PIXELS;
    for (let j = 0; j < len; j++) xs[dst + j] = PIXEL_VALUES[levels[src + j]];
    if (to > from) ys.fill(BigInt(d - offset), row, row + to - from);
    row += to - from;
  }
  return { x: tensor(xs, { shape: [n, PIXELS] }), y: tensor(ys, { shape: [n] }) };
}
