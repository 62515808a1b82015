/**
 * Dimension permutation of raw C-order element bytes in plain JavaScript, so a reader's worker thread can relayout
 * weights without the native library (the result equals `t.permute(perm).contiguous()`).
 */

type Elements = Uint8Array | Uint16Array | Uint32Array | Float64Array;

// Copying whole elements through a typed view of their width is several times faster than byte by byte.
function view(bytes: Uint8Array, itemsize: number): Elements {
  const n = bytes.byteLength / itemsize;
  switch (itemsize) {
    case 1: return bytes;
    case 2: return new Uint16Array(bytes.buffer, bytes.byteOffset, n);
    case 4: return new Uint32Array(bytes.buffer, bytes.byteOffset, n);
    // Float64Array copies any 64-bit pattern (NaN payloads included) bit for bit: no arithmetic touches it.
    case 8: return new Float64Array(bytes.buffer, bytes.byteOffset, n);
    default: throw new RangeError(`permuteBytes: unsupported element size ${itemsize}`);
  }
}

/**
 * `bytes` (elements of `itemsize` bytes in C order with `shape`) permuted so that output dimension i is input
 * dimension `perm[i]`, in a fresh buffer. `bytes` must be aligned to `itemsize` (a copy is made when it is not).
 */
export function permuteBytes(bytes: Uint8Array, itemsize: number, shape: number[], perm: number[]): Uint8Array {
  const rank = shape.length;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((d, i) => d !== i)) throw new RangeError(`permuteBytes: [${perm}] is not a permutation of ${rank} dimensions`);
  const src = bytes.byteOffset % itemsize === 0 ? bytes : bytes.slice();
  const out = new Uint8Array(src.byteLength);
  const from = view(src, itemsize);
  const to = view(out, itemsize);
  const n = to.length;
  if (n === 0 || rank === 0) return out.set(src), out;
  // Input strides (in elements), taken in output order.
  const inStride = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) inStride[d] = inStride[d + 1] * shape[d + 1];
  const dims = perm.map((p) => shape[p]);
  const strides = perm.map((p) => inStride[p]);
  // The innermost output dimension runs in a tight loop; an odometer advances the others.
  const last = rank - 1;
  const inner = dims[last];
  const innerStride = strides[last];
  const index = new Array<number>(rank).fill(0);
  let base = 0;
  for (let o = 0; o < n; o += inner) {
    let s = base;
    for (let i = 0; i < inner; i++, s += innerStride) to[o + i] = from[s];
    for (let d = last - 1; d >= 0; d--) {
      index[d]++;
      base += strides[d];
      if (index[d] < dims[d]) break;
      base -= strides[d] * dims[d];
      index[d] = 0;
    }
  }
  return out;
}
