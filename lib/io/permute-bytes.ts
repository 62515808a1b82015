/**
 * Dimension permutation of raw C-order element bytes in plain JavaScript, so a reader's worker thread can relayout
 * weights without the native library (the result equals `t.permute(perm).contiguous()`).
 */

type Elements = Uint8Array | Uint16Array | Uint32Array | Float64Array;

// Block edge for the two dimensions that are contiguous on one side each (32 x 32 x 8 bytes fits L1 twice).
const TILE = 32;

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
  // Input strides (in elements), taken in output order; output strides of the C-order result.
  const inStride = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) inStride[d] = inStride[d + 1] * shape[d + 1];
  const dims = perm.map((p) => shape[p]);
  const strides = perm.map((p) => inStride[p]);
  const outStrides = new Array<number>(rank).fill(1);
  for (let d = rank - 2; d >= 0; d--) outStrides[d] = outStrides[d + 1] * dims[d + 1];
  // The output's last dimension (contiguous writes) and the one that is the input's last (contiguous reads) run
  // in TILE x TILE blocks, so both sides stay in cache; an odometer walks the remaining dimensions.
  const a = rank - 1;
  const b = perm.indexOf(rank - 1);
  const rest = [...Array(rank).keys()].filter((d) => d !== a && d !== b);
  const index = new Array<number>(rest.length).fill(0);
  let inBase = 0;
  let outBase = 0;
  for (;;) {
    if (a === b) {
      for (let i = 0; i < dims[a]; i++) to[outBase + i] = from[inBase + i];
    } else {
      const na = dims[a], nb = dims[b], sa = strides[a], ob = outStrides[b];
      for (let b0 = 0; b0 < nb; b0 += TILE) {
        const b1 = Math.min(nb, b0 + TILE);
        for (let a0 = 0; a0 < na; a0 += TILE) {
          const a1 = Math.min(na, a0 + TILE);
          for (let y = b0; y < b1; y++) {
            const o = outBase + y * ob;
            for (let x = a0, i = inBase + y + a0 * sa; x < a1; x++, i += sa) to[o + x] = from[i];
          }
        }
      }
    }
    let k = rest.length - 1;
    for (; k >= 0; k--) {
      const d = rest[k];
      index[k]++;
      inBase += strides[d];
      outBase += outStrides[d];
      if (index[k] < dims[d]) break;
      inBase -= strides[d] * dims[d];
      outBase -= outStrides[d] * dims[d];
      index[k] = 0;
    }
    if (k < 0) break;
  }
  return out;
}
