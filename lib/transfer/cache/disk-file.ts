/**
 * The disk cache's file: the fields' rows as raw little-endian bytes, field after field, then a JSON trailer, its
 * length (u32) and a magic. Written to a temporary name, fsynced and renamed, so a reader sees a whole file or
 * none; a missing magic or a size that does not add up marks a truncated or foreign file.
 */
import { readSync, openSync, closeSync, fstatSync } from 'node:fs';
import type { DType } from '../../dtype';
import type { Fingerprint } from './fingerprint';

export const MAGIC = Buffer.from('TGFCACH1');
export const FORMAT = 'torchgraft-feature-cache';

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
