/** The cached features as datasets: rows of in-memory tensors, or rows read by offset from the disk file. */
import { closeSync, readSync } from 'node:fs';
import { checkIndex, Dataset } from '../../data/dataset';
import type { Batch } from '../../data/example';
import { TensorDataset } from '../../data/tensor-dataset';
import type { DType } from '../../dtype';
import { fromTypedArray } from '../../creation';
import type { Tensor } from '../../tensor';
import type { DiskHeader } from './disk-layout';
import { TorchError } from '../../errors';

/** A cache's examples; `dispose` frees the tensors or closes the file. */
export interface CachedDataset extends Dataset {
  dispose(): void;
}

/** Features (field 0) stored in a narrower dtype are cast back to `headDtype` when batched. */
export class MemoryFeatures extends TensorDataset implements CachedDataset {
  constructor(
    fields: Tensor[],
    private readonly headDtype: DType,
  ) {
    super(...fields);
  }

  /** @internal */
  gatherPlan(): { tensors: Tensor[]; casts: (DType | null)[] } {
    return { tensors: this.tensors, casts: this.tensors.map((_, i) => (i === 0 ? this.headDtype : null)) };
  }

  getBatch(indices: number[]): Batch {
    const b = super.getBatch(indices);
    if (b[0].dtype === this.headDtype) return b;
    const cast = b[0].to({ dtype: this.headDtype });
    b[0].dispose();
    b[0] = cast;
    return b;
  }

  getItem(index: number): Tensor[] {
    const b = this.getBatch([index]);
    const out = b.map((t) => t.squeeze(0));
    b.forEach((t) => t.dispose());
    return out;
  }

  dispose(): void {
    for (const t of this.tensors) t.dispose();
  }
}

// fromBuffer takes a TypedArray of the source dtype's element size; 16-bit floats travel as Int16Array.
function view(buf: Buffer, dtype: DType): NodeJS.TypedArray {
  const b = buf.buffer;
  const o = buf.byteOffset;
  switch (dtype) {
    case 'float64':
      return new Float64Array(b, o, buf.byteLength / 8);
    case 'int64':
      return new BigInt64Array(b, o, buf.byteLength / 8);
    case 'int32':
      return new Int32Array(b, o, buf.byteLength / 4);
    case 'float16':
    case 'bfloat16':
    case 'int16':
      return new Int16Array(b, o, buf.byteLength / 2);
    case 'int8':
      return new Int8Array(b, o, buf.byteLength);
    case 'uint8':
    case 'bool':
      return new Uint8Array(b, o, buf.byteLength);
    default:
      return new Float32Array(b, o, buf.byteLength / 4);
  }
}

/**
 * Rows read from the cache file with positioned reads per batch (contiguous runs of rows in one read), so only
 * one batch is in memory at a time: a cache larger than memory trains. The other fields (labels) are small and
 * read whole at open.
 */
export class DiskFeatures implements CachedDataset {
  readonly length: number;
  private others: Tensor[];
  private closed = false;

  constructor(
    private readonly fd: number,
    private readonly header: DiskHeader,
    private readonly headDtype: DType,
  ) {
    this.length = header.length;
    const all = Array.from({ length: header.length }, (_, i) => i);
    this.others = header.fields.slice(1).map((_, k) => this.readField(k + 1, all));
  }

  private readField(k: number, indices: number[], dtype?: DType): Tensor {
    const f = this.header.fields[k];
    const buf = Buffer.allocUnsafe(indices.length * f.rowBytes);
    for (let j = 0; j < indices.length; ) {
      let run = 1; // consecutive rows are read in one call
      while (j + run < indices.length && indices[j + run] === indices[j] + run) run++;
      const want = run * f.rowBytes;
      const got = readSync(this.fd, buf, j * f.rowBytes, want, f.offset + indices[j] * f.rowBytes);
      if (got !== want) throw new TorchError(`feature cache: short read (${got} of ${want} bytes): the file changed after it was opened`, { code: 'ERR_IO' });
      j += run;
    }
    const src = f.dtype === 'bool' ? 'uint8' : f.dtype;
    return fromTypedArray(view(buf, f.dtype), [indices.length, ...f.shape], src, dtype ?? f.dtype);
  }

  getBatch(indices: number[]): Batch {
    if (this.closed) throw new TorchError('feature cache: the cache was disposed', { code: 'ERR_CACHE_DISPOSED' });
    for (const i of indices) checkIndex(i, this.length, 'FeatureCache (disk)');
    const idx = fromTypedArray(Int32Array.from(indices), [indices.length], 'int32', 'int64');
    try {
      return [this.readField(0, indices, this.headDtype), ...this.others.map((t) => t.indexSelect(0, idx))];
    } finally {
      idx.dispose();
    }
  }

  getItem(index: number): Tensor[] {
    const b = this.getBatch([index]);
    const out = b.map((t) => t.squeeze(0));
    b.forEach((t) => t.dispose());
    return out;
  }

  dispose(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    for (const t of this.others) t.dispose();
  }
}
