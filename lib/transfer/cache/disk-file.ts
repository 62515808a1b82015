/**
 * The disk cache's file: the fields' rows as raw little-endian bytes, field after field, then a JSON trailer, its
 * length (u32) and a magic. Written to a temporary name, fsynced and renamed, so a reader sees a whole file or
 * none; a missing magic or a size that does not add up marks a truncated or foreign file.
 */
import { promises as fsp, readSync, openSync, closeSync, fstatSync } from 'node:fs';
import type { DType } from '../../dtype';
import type { Tensor } from '../../tensor';
import type { Fingerprint } from './fingerprint';
import { toHalfBits } from './half';
import { beginAtomicWrite, PendingWrite } from '../../io/atomic';

const MAGIC = Buffer.from('TGFCACH1');
const FORMAT = 'torchgraft-feature-cache';

/** One stored field (0: features; then the dataset's other fields, such as labels). */
export interface FieldLayout {
  dtype: DType;
  /** Shape of one example. */
  shape: number[];
  offset: number;
  rowBytes: number;
}

/** The trailer's content. */
export interface DiskHeader {
  format: string;
  version: 1;
  length: number;
  fields: FieldLayout[];
  fingerprint: Fingerprint;
}

const BYTES: Partial<Record<DType, number>> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 };

/** Bytes per element of a dtype. */
export function elementBytes(d: DType): number {
  return BYTES[d] ?? 4;
}

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

/** An open cache file, or why it cannot be used. */
export type OpenResult = { fd: number; header: DiskHeader } | { missing: true } | { invalid: string };

/** Opens and validates a cache file: magic, trailer, and a size that matches the layout. */
export function openCacheFile(file: string): OpenResult {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    return { invalid: `cannot be opened (${(e as Error).message})` };
  }
  const fail = (why: string): OpenResult => {
    closeSync(fd);
    return { invalid: why };
  };
  const size = fstatSync(fd).size;
  if (size < 12) return fail('is too short to be a feature cache (truncated?)');
  const tail = Buffer.alloc(12);
  readSync(fd, tail, 0, 12, size - 12);
  if (!tail.subarray(4).equals(MAGIC)) return fail('does not end with the feature-cache magic (truncated or another kind of file)');
  const len = tail.readUInt32LE(0);
  if (len > size - 12) return fail('has a trailer longer than the file');
  const json = Buffer.alloc(len);
  readSync(fd, json, 0, len, size - 12 - len);
  let h: DiskHeader;
  try {
    h = JSON.parse(json.toString('utf8')) as DiskHeader;
  } catch {
    return fail('has an unreadable trailer');
  }
  if (h?.format !== FORMAT || h.version !== 1 || !Array.isArray(h.fields) || h.fields.length === 0) return fail('is not a version-1 torchgraft feature cache');
  const dataEnd = h.fields.reduce((a, f) => Math.max(a, f.offset + f.rowBytes * h.length), 0);
  if (dataEnd + len + 12 !== size) return fail(`is ${size} bytes, its layout needs ${dataEnd + len + 12} (truncated?)`);
  return { fd, header: h };
}
