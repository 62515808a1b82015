/** Writes the disk feature cache's file (format version 2, see disk-layout.ts) progressively, then atomically renames it into place. */
import { promises as fsp } from 'node:fs';
import type { DType } from '../../dtype';
import type { Tensor } from '../../tensor';
import type { Fingerprint } from './fingerprint';
import { toHalfBits } from './half';
import { beginAtomicWrite, PendingWrite } from '../../io/atomic';
import { crc32c } from '../../io/crc32c';
import { blockCount, DiskHeader, FieldLayout, FORMAT, layoutFields, MAGIC_V2 } from './disk-layout';

/** Writes a cache file progressively: positioned writes per batch (in order), block checksums as they go, the trailer at the end, then an atomic rename. */
export class DiskWriter {
  private fields: FieldLayout[] = [];
  private dataEnd = 0;
  private crc: number[][] = [];

  private constructor(
    private readonly fh: fsp.FileHandle,
    private readonly pending: PendingWrite,
    private readonly length: number,
    private readonly blockRows: number,
  ) {}

  static async create(file: string, length: number, blockRows: number): Promise<DiskWriter> {
    const pending = beginAtomicWrite(file);
    return new DiskWriter(await fsp.open(pending.tmp, 'wx'), pending, length, blockRows);
  }

  /** Lays the fields out from the first batch (rows of each field, in their stored dtypes). */
  layout(fields: { dtype: DType; shape: number[] }[]): void {
    const l = layoutFields(fields, this.length);
    this.fields = l.fields;
    this.dataEnd = l.dataEnd;
    this.crc = this.fields.map(() => new Array<number>(blockCount(this.length, this.blockRows)).fill(0));
  }

  /**
   * Writes rows [start, start + t.shape[0]) of field k (t already in the field's dtype, or float32 for a 16-bit float
   * field). Batches arrive in order and never straddle a block (blockRows is a multiple of the batch size).
   */
  async write(k: number, start: number, t: Tensor): Promise<void> {
    const f = this.fields[k];
    const data = await t.data();
    const raw = f.dtype === 'float16' || f.dtype === 'bfloat16' ? toHalfBits(data as Float32Array, f.dtype) : data;
    const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    const b = Math.floor(start / this.blockRows);
    this.crc[k][b] = crc32c(bytes, this.crc[k][b]);
    await this.fh.write(bytes, 0, bytes.byteLength, f.offset + start * f.rowBytes);
  }

  /** Appends the trailer, flushes, and renames into place. */
  async finish(fingerprint: Fingerprint): Promise<DiskHeader> {
    const header: DiskHeader = { format: FORMAT, version: 2, length: this.length, blockRows: this.blockRows, fields: this.fields, fingerprint, crc: this.crc };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length);
    await this.fh.write(Buffer.concat([json, len, MAGIC_V2]), 0, json.length + 12, this.dataEnd);
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
