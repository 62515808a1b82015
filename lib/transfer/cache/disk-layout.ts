/**
 * The disk feature cache's format, version 2: where each block of rows lies, and the names of the files a build
 * leaves while it runs.
 *
 * The file holds each field's rows (field 0: features; then the dataset's other fields, such as labels) as raw
 * little-endian bytes, field after field, then a JSON trailer (DiskHeader), its length (u32 LE) and the 8-byte magic
 * 'TGFCACH2'. Rows are grouped in blocks of `blockRows` (the last block may be shorter); the trailer keeps the
 * CRC-32C of every block of every field (`crc[field][block]`, over that field's bytes of the block's rows), so a
 * reader can prove each block it serves. A build writes `<file>.partial` (the same layout, no trailer yet) and
 * `<file>.journal` (one JSON line describing the build, then one line per block made durable), and renames the
 * partial file into place only when it is whole: a file under the cache's own name is always complete.
 */
import type { DType } from '../../dtype';
import type { Fingerprint } from './fingerprint';

/** The trailer's magic, last in the file. */
export const MAGIC_V2: Uint8Array = Buffer.from('TGFCACH2');
/** The trailer's `format`. */
export const FORMAT = 'torchgraft-feature-cache';
/** Rows per block when none is asked for, rounded up to a multiple of the build's batch size. */
export const DEFAULT_BLOCK_ROWS = 256;

/** One stored field. */
export interface FieldLayout {
  dtype: DType;
  /** Shape of one example. */
  shape: number[];
  /** Where the field's first row starts in the file. */
  offset: number;
  rowBytes: number;
}

/** The trailer's content (version 2). */
export interface DiskHeader {
  format: string;
  version: 2;
  /** Rows. */
  length: number;
  blockRows: number;
  fields: FieldLayout[];
  fingerprint: Fingerprint;
  /** CRC-32C per field, per block. */
  crc: number[][];
}

const BYTES: Partial<Record<DType, number>> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 };

/** Bytes per element of a dtype. */
export function elementBytes(d: DType): number {
  return BYTES[d] ?? 4;
}

/** Lays fields out one after the other for `length` rows. */
export function layoutFields(fields: { dtype: DType; shape: number[] }[], length: number): { fields: FieldLayout[]; dataEnd: number } {
  let offset = 0;
  const out = fields.map((f) => {
    const rowBytes = f.shape.reduce((a, b) => a * b, 1) * elementBytes(f.dtype);
    const l = { dtype: f.dtype, shape: f.shape, offset, rowBytes };
    offset += rowBytes * length;
    return l;
  });
  return { fields: out, dataEnd: offset };
}

/** Whether `v` can be a CRC-32C as the trailer and the journal store it: an integer in [0, 2^32). */
export function isCrc32(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
}

/** Blocks in a cache of `length` rows. */
export function blockCount(length: number, blockRows: number): number {
  return Math.ceil(length / blockRows);
}

/** Rows [start, end) of block `b`. */
export function blockRowRange(b: number, length: number, blockRows: number): { start: number; end: number } {
  const start = b * blockRows;
  return { start, end: Math.min(length, start + blockRows) };
}

/** The bytes of field `f` that block `b` covers. */
export function blockSpan(f: FieldLayout, b: number, length: number, blockRows: number): { offset: number; bytes: number; rows: number } {
  const { start, end } = blockRowRange(b, length, blockRows);
  return { offset: f.offset + start * f.rowBytes, bytes: (end - start) * f.rowBytes, rows: end - start };
}

/** Rows per block for a build with batches of `batchSize`: `asked`, or the default rounded up to whole batches. */
export function resolveBlockRows(batchSize: number, asked?: number): number {
  return asked ?? Math.ceil(DEFAULT_BLOCK_ROWS / batchSize) * batchSize;
}

/** The file a build writes before the rename. */
export function partialPath(file: string): string {
  return `${file}.partial`;
}

/** The build's journal: what the partial file holds so far. */
export function journalPath(file: string): string {
  return `${file}.journal`;
}
