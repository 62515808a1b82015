/** Writes the disk feature cache's file progressively, then atomically renames it into place. */
import { promises as fsp } from 'node:fs';
import type { DType } from '../../dtype';
import type { Tensor } from '../../tensor';
import type { Fingerprint } from './fingerprint';
import { toHalfBits } from './half';
import { beginAtomicWrite, PendingWrite } from '../../io/atomic';
import { DiskHeader, elementBytes, FieldLayout, FORMAT, MAGIC } from './disk-file';

/** Writes a cache file progressively: positioned writes per batch, the trailer at the end, then an atomic rename. */
export class DiskWriter {
  private fields: FieldLayout[] = [];
  private dataEnd = 0;

  private constructor(
    private readonly fh: fsp.FileHandle,
    private readonly pending: PendingWrite,
    private readonly length: number,
  ) {}

  static async create(file: string, length: number): Promise<DiskWriter> {
    const pending = beginAtomicWrite(file);
    return new DiskWriter(await fsp.open(pending.tmp, 'wx'), pending, length);
  }

  /** Lays the fields out from the first batch (rows of each field, in their stored dtypes). */
  layout(fields: { dtype: DType; shape: number[] }[]): void {
    let offset = 0;
    this.fields = fields.map((f) => {
      const rowBytes = f.shape.reduce((a, b) => a * b, 1) * elementBytes(f.dtype);
      const l = { dtype: f.dtype, shape: f.shape, offset, rowBytes };
      offset += rowBytes * this.length;
      return l;
    });
    this.dataEnd = offset;
  }

  /** Writes rows [start, start + t.shape[0]) of field k (t already in the field's dtype, or float32 for a 16-bit float field). */
  async write(k: number, start: number, t: Tensor): Promise<void> {
    const f = this.fields[k];
    const data = await t.data();
    const raw = f.dtype === 'float16' || f.dtype === 'bfloat16' ? toHalfBits(data as Float32Array, f.dtype) : data;
    const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    await this.fh.write(bytes, 0, bytes.byteLength, f.offset + start * f.rowBytes);
  }

  /** Appends the trailer, flushes, and renames into place. */
  async finish(fingerprint: Fingerprint): Promise<DiskHeader> {
    const header: DiskHeader = { format: FORMAT, version: 1, length: this.length, fields: this.fields, fingerprint };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length);
    await this.fh.write(Buffer.concat([json, len, MAGIC]), 0, json.length + 12, this.dataEnd);
    await this.fh.sync();
    await this.fh.close();
    await this.pending.commit();
    return header;
  }

  /** Removes the temporary file after a failure. */
  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await this.pending.abort();
  }
}
