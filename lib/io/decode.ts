/**
 * Little-endian bytes to tensors, for the readers of foreign formats (ONNX, TF.js, HDF5 payloads): `tensorFromLE`
 * on the calling thread for small payloads, `tensorsFromJobs` (decode-thread.ts) for big ones.
 */
import * as os from 'node:os';
import { tensor } from '../creation';
import { ITEMSIZE, type RawDType } from './decode-bytes';
import { halfToFloat } from './decode-half';
import type { Tensor } from '../tensor';
import { TorchError } from '../errors';

export { ITEMSIZE } from './decode-bytes';
export type { RawDType } from './decode-bytes';
export { halfToFloat } from './decode-half';
export { tensorsFromJobs } from './decode-thread';

const LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * The element count of `shape`, or a message saying why the shape is unusable (negative, fractional,
 * or a product beyond 2^53: such a file lies, and nothing of that size is ever allocated).
 */
export function elementCount(shape: readonly unknown[]): number | string {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) return `dimension ${String(d)} is not a non-negative integer`;
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return `shape [${shape.join(', ')}] has more than 2^53 elements`;
  }
  return n;
}

/** A copy of `bytes` in a fresh, aligned ArrayBuffer (file slices sit at any offset; Buffer's slice() would not copy). */
export function aligned(bytes: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
}

/**
 * A tensor from `bytes`, little-endian elements of `dtype`, in C order with `shape`. The caller has checked that
 * `bytes.length` equals the element count times the item size. uint16 becomes int32 and uint32 int64 (exact).
 * @throws TorchError `ERR_UNSUPPORTED_PLATFORM` on a big-endian host (no foreign file format here stores big-endian tensors).
 */
export function tensorFromLE(bytes: Uint8Array, dtype: RawDType, shape: number[]): Tensor {
  if (!LITTLE_ENDIAN && ITEMSIZE[dtype] > 1) throw new TorchError('reading little-endian tensors on a big-endian host is not supported', { code: 'ERR_UNSUPPORTED_PLATFORM' });
  switch (dtype) {
    case 'float32':
      return tensor(new Float32Array(aligned(bytes)), { shape });
    case 'float64':
      return tensor(new Float64Array(aligned(bytes)), { shape });
    case 'int64':
      return tensor(new BigInt64Array(aligned(bytes)), { shape });
    case 'int32':
      return tensor(new Int32Array(aligned(bytes)), { shape });
    case 'uint32':
      return tensor(BigInt64Array.from(new Uint32Array(aligned(bytes)), (v) => BigInt(v)), { shape });
    case 'int16':
      return tensor(new Int16Array(aligned(bytes)), { shape });
    case 'uint16':
      return tensor(Int32Array.from(new Uint16Array(aligned(bytes))), { shape });
    case 'int8':
      return tensor(new Int8Array(aligned(bytes)), { shape });
    case 'uint8':
      return tensor(new Uint8Array(aligned(bytes)), { shape });
    case 'bool':
      return tensor(Uint8Array.from(bytes, (b) => (b ? 1 : 0)), { shape, dtype: 'bool' });
    case 'float16':
      return tensor(Float32Array.from(new Uint16Array(aligned(bytes)), halfToFloat), { shape, dtype: 'float16' });
    case 'bfloat16': {
      // A bfloat16 is the high half of a float32: widening is a shift, narrowing back is exact.
      const hi = new Uint16Array(aligned(bytes));
      const wide = new Uint32Array(hi.length);
      for (let i = 0; i < hi.length; i++) wide[i] = hi[i] << 16;
      return tensor(new Float32Array(wide.buffer), { shape, dtype: 'bfloat16' });
    }
  }
}
