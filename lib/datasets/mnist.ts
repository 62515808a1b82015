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
  // the grey levels of all the images asked for, in one piece: a view of the file's where they are one span of it
  const spans: [number, number][] = [];
  for (const { d, from, to } of parts) {
    if (to === from) continue;
    const [a, b] = [(starts[d] + from) * PIXELS, (starts[d] + to) * PIXELS];
    if (spans.length && spans[spans.length - 1][1] === a) spans[spans.length - 1][1] = b;
    else spans.push([a, b]);
  }
  let picked: Uint8Array;
  if (spans.length === 1) picked = levels.subarray(spans[0][0], spans[0][1]);
  else {
    picked = new Uint8Array(n * PIXELS);
    let o = 0;
    for (const [a, b] of spans) {
      picked.set(levels.subarray(a, b), o);
      o += b - a;
    }
  }
  const ys = new BigInt64Array(n);
  const offset = opts.labelOffset ?? 0;
  let row = 0;
  for (const { d, from, to } of parts) {
    if (to > from) ys.fill(BigInt(d - offset), row, row + to - from);
    row += to - from;
  }
  return { x: pixels(picked, n), y: tensor(ys, { shape: [n] }) };
}

/** float32(k * 1000/255) rounded is k/255 to 3 decimals, times 1000, for every grey level k (no level is near a tie). */
const LEVEL_SCALE = Math.fround(1000 / 255);

/** LibTorch's float32 `k * LEVEL_SCALE`, rounded, `/ 1000`, in place: the pixel values of grey levels k. */
function scaleLevels(x: Tensor): Tensor {
  return x.mul_(LEVEL_SCALE).round_().div_(1000);
}

let arithmeticExact: boolean | undefined;

/**
 * Whether scaleLevels gives PIXEL_VALUES exactly, bit for bit, for all 256 levels: IEEE float32 multiplication,
 * rounding and division do, and they are checked once rather than trusted (a LibTorch whose kernels computed
 * otherwise would take the table lookup instead).
 */
export function arithmeticIsExact(): boolean {
  if (arithmeticExact === undefined) {
    const all = scaleLevels(tensor(Uint8Array.from({ length: 256 }, (_, k) => k), { dtype: 'float32' }));
    const got = all.dataSync() as Float32Array;
    all.dispose();
    arithmeticExact = PIXEL_VALUES.every((v, k) => Object.is(v, got[k]));
  }
  return arithmeticExact;
}

/**
 * The (n, 784) float32 pixels of n images' grey levels. LibTorch widens the bytes to float32 and maps them in place
 * (one float32 allocation: first writes to fresh memory are most of the cost); else (or with `table`, for the tests)
 * a table lookup in JavaScript.
 */
export function pixels(levels: Uint8Array, n: number, table = !arithmeticIsExact()): Tensor {
  if (!table) return scaleLevels(tensor(levels, { shape: [n, PIXELS], dtype: 'float32' }));
  const xs = new Float32Array(n * PIXELS);
  for (let j = 0; j < xs.length; j++) xs[j] = PIXEL_VALUES[levels[j]];
  return tensor(xs, { shape: [n, PIXELS] });
}
