/**
 * Pure byte work of the foreign-format readers (no native calls, so it runs in a worker thread as well as on the
 * main one): little-endian elements to the bytes of a torchgraft dtype, TF.js dequantization, .npy byte swaps,
 * widening and Fortran-to-C reordering. Each job reads its own slice and returns a fresh, aligned buffer.
 */
import type { DType } from '../dtype';
import { halfToFloat } from './decode-half';

/** Element types found in foreign files; those torchgraft lacks (uint16, uint32) are widened exactly. */
export type RawDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'bool';

/** Bytes per element of each raw type. */
export const ITEMSIZE: Record<RawDType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8, bool: 1,
};

/** Little-endian elements of `dtype`, kept as they are except uint16 (to int32), uint32 (to int64) and bool (to 0/1). */
export interface LeJob { op: 'le'; dtype: RawDType }
/** TF.js quantized weights: q * scale + min in float32 (then rounded for int32 weights); float16 widened. */
export interface DequantJob { op: 'dequant'; stored: 'uint8' | 'uint16' | 'float16'; scale?: number; min?: number; to: 'float32' | 'int32' }
/** .npy data: byte order, uint16/uint32 widening, bool normalisation, and Fortran order made C order. */
export interface NpyJob { op: 'npy'; descr: string; dtype: DType; itemSize: number; bigEndian: boolean; shape: number[]; fortran: boolean }
/** One slice of input bytes (of `buffers[buffer]`, or of all buffers joined when `buffer` is -1) and what to make of it. */
export type DecodeJob = (LeJob | DequantJob | NpyJob) & { buffer: number; offset: number; length: number };

/** A decoded slice: native-order element bytes of `dtype`, in C order, in a buffer of its own. */
export interface Decoded {
  dtype: DType;
  bytes: Uint8Array;
}

/** A copy of `bytes` in a fresh, aligned ArrayBuffer. */
function copy(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

const asBytes = (a: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function le(bytes: Uint8Array, dtype: RawDType): Decoded {
  const b = copy(bytes);
  switch (dtype) {
    case 'uint16':
      return { dtype: 'int32', bytes: asBytes(Int32Array.from(new Uint16Array(b.buffer))) };
    case 'uint32':
      return { dtype: 'int64', bytes: asBytes(BigInt64Array.from(new Uint32Array(b.buffer), (v) => BigInt(v))) };
    case 'bool':
      for (let i = 0; i < b.length; i++) b[i] = b[i] ? 1 : 0;
      return { dtype: 'bool', bytes: b };
    default:
      return { dtype, bytes: b };
  }
}

function dequant(bytes: Uint8Array, j: DequantJob): Decoded {
  const b = copy(bytes);
  const q = j.stored === 'uint8' ? b : new Uint16Array(b.buffer);
  const vals = new Float32Array(q.length);
  if (j.stored === 'float16') for (let i = 0; i < q.length; i++) vals[i] = halfToFloat(q[i]);
  else {
    const scale = j.scale as number;
    const min = j.min as number;
    for (let i = 0; i < q.length; i++) vals[i] = q[i] * scale + min;
  }
  if (j.to === 'float32') return { dtype: 'float32', bytes: asBytes(vals) };
  const ints = new Int32Array(vals.length);
  for (let i = 0; i < vals.length; i++) ints[i] = Math.round(vals[i]);
  return { dtype: 'int32', bytes: asBytes(ints) };
}

/** Fortran order to C order: element (i0, i1, ...) moves from i0 + n0 * (i1 + ...) to (... * n1 + i1) * ... */
function fortranToC(src: Uint8Array, shape: number[], size: number): Uint8Array {
  const n = shape.length;
  const out = new Uint8Array(src.length);
  const count = src.length / size;
  if (n < 2 || count === 0) return src;
  const fStride = new Array<number>(n);
  for (let k = 0, s = 1; k < n; k++) {
    fStride[k] = s;
    s *= shape[k];
  }
  const idx = new Array<number>(n).fill(0);
  let from = 0;
  for (let to = 0; to < count; to++) {
    out.set(src.subarray(from * size, from * size + size), to * size);
    // advance the C-order index (last dimension fastest) and its Fortran offset
    for (let k = n - 1; k >= 0; k--) {
      idx[k]++;
      from += fStride[k];
      if (idx[k] < shape[k]) break;
      from -= fStride[k] * shape[k];
      idx[k] = 0;
    }
  }
  return out;
}

function npy(bytes: Uint8Array, j: NpyJob): Decoded {
  let b = copy(bytes);
  if (j.bigEndian) {
    const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
    if (j.itemSize === 2) buf.swap16();
    else if (j.itemSize === 4) buf.swap32();
    else if (j.itemSize === 8) buf.swap64();
  }
  if (j.fortran) b = fortranToC(b, j.shape, j.itemSize);
  if (j.descr.endsWith('u2')) b = asBytes(Int32Array.from(new Uint16Array(b.buffer, b.byteOffset, b.length / 2)));
  else if (j.descr.endsWith('u4')) b = asBytes(BigInt64Array.from(new Uint32Array(b.buffer, b.byteOffset, b.length / 4), (v) => BigInt(v)));
  else if (j.dtype === 'bool') for (let k = 0; k < b.length; k++) b[k] = b[k] ? 1 : 0;
  return { dtype: j.dtype, bytes: b };
}

/** Runs one job over its slice of `buffers` (`joined`: all of them end to end, for slices that span two). */
function runJob(buffers: Uint8Array[], joined: () => Uint8Array, j: DecodeJob): Decoded {
  const from = j.buffer === -1 ? joined() : buffers[j.buffer];
  if (!from || j.offset < 0 || j.offset + j.length > from.length) throw new RangeError(`decode: slice ${j.offset}+${j.length} is outside its buffer`);
  const src = from.subarray(j.offset, j.offset + j.length);
  if (j.op === 'le') return le(src, j.dtype);
  if (j.op === 'dequant') return dequant(src, j);
  return npy(src, j);
}

/** Runs every job; buffers are joined (once) only when a job asks for their concatenation. */
export function runJobs(buffers: Uint8Array[], jobs: DecodeJob[]): Decoded[] {
  let all: Uint8Array | undefined;
  const joined = () => (all ??= buffers.length === 1 ? buffers[0] : Buffer.concat(buffers));
  return jobs.map((j) => runJob(buffers, joined, j));
}

/** Whether a job's output is its input bytes as they are (no widening, swapping, reordering or normalising). */
export function isPassthrough(j: DecodeJob): boolean {
  if (j.op === 'le') return j.dtype !== 'uint16' && j.dtype !== 'uint32' && j.dtype !== 'bool';
  if (j.op === 'npy') return !j.bigEndian && !j.fortran && j.dtype !== 'bool' && !j.descr.endsWith('u2') && !j.descr.endsWith('u4');
  return false;
}

/** The output of a passthrough job: a view of its input slice, no copy (the tensor is filled from it in slices). */
export function passthrough(buffers: Uint8Array[], j: DecodeJob): Decoded {
  const from = j.buffer === -1 && buffers.length === 1 ? buffers[0] : buffers[j.buffer];
  if (!from || j.offset < 0 || j.offset + j.length > from.length) throw new RangeError(`decode: slice ${j.offset}+${j.length} is outside its buffer`);
  const dtype = j.op === 'npy' ? j.dtype : (j as LeJob).dtype;
  return { dtype: dtype as DType, bytes: from.subarray(j.offset, j.offset + j.length) };
}
