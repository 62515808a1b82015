/**
 * Opens the disk cache's file (format version 2, see disk-layout.ts) and proves its trailer describes it: the magic,
 * a trailer that parses, fields that are sane and lie end to end inside the file, a checksum per block. A trailer
 * is attacker-controlled input: every number is checked before it sizes a read or an allocation.
 */
import { readSync, openSync, closeSync, fstatSync } from 'node:fs';
import type { DType } from '../../dtype';
import { blockCount, DiskHeader, elementBytes, FieldLayout, FORMAT, isCrc32, MAGIC_V2 } from './disk-layout';

/** An open cache file, or why it cannot be used. */
export type OpenResult = { fd: number; header: DiskHeader } | { missing: true } | { invalid: string };

// A trailer holds a fingerprint and a checksum per block: 64 MiB is far beyond any real one.
const MAX_TRAILER = 64 << 20;
const DTYPES: DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];
const V1_MAGIC = Buffer.from('TGFCACH1');

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

// compared field by field with the model's fingerprint: every part must be the type the comparison reads
function isFingerprint(v: unknown): boolean {
  if (!isRecord(v) || !isRecord(v.weights)) return false;
  return typeof v.structure === 'string' && typeof v.cut === 'string' && typeof v.dataset === 'string' && Object.values(v.weights).every((d) => typeof d === 'string');
}

/** Why a parsed trailer does not describe a file of `dataEnd` data bytes, or undefined when it does. */
function headerProblem(h: DiskHeader, dataBytes: number): string | undefined {
  if (h === null || typeof h !== 'object' || h.format !== FORMAT) return 'is not a torchgraft feature cache';
  if (h.version !== 2) return `is format version ${String(h.version)}, this torchgraft reads version 2`;
  if (!isCount(h.length) || h.length < 1) return 'has a bad row count';
  if (!isCount(h.blockRows) || h.blockRows < 1) return 'has a bad block size';
  if (!Array.isArray(h.fields) || h.fields.length === 0 || h.fields.length > 64) return 'has a bad field list';
  if (!isFingerprint(h.fingerprint)) return 'has no valid fingerprint';
  const blocks = blockCount(h.length, h.blockRows);
  let offset = 0;
  for (const [k, f] of h.fields.entries()) {
    const bad = fieldProblem(f, offset, h.length);
    if (bad) return `has a bad field ${k} (${bad})`;
    offset += f.rowBytes * h.length;
  }
  if (offset !== dataBytes) return `is ${dataBytes} data bytes, its layout needs ${offset} (truncated?)`;
  if (!Array.isArray(h.crc) || h.crc.length !== h.fields.length) return 'has no checksum per field';
  for (const c of h.crc)
    if (!Array.isArray(c) || c.length !== blocks || !c.every(isCrc32)) return `needs ${blocks} block checksums per field`;
  return undefined;
}

function fieldProblem(f: FieldLayout, offset: number, length: number): string | undefined {
  if (f === null || typeof f !== 'object' || !DTYPES.includes(f.dtype)) return 'dtype';
  if (!Array.isArray(f.shape) || f.shape.length > 16 || !f.shape.every(isCount)) return 'shape';
  const numel = f.shape.reduce((a, b) => a * b, 1);
  if (!isCount(f.rowBytes) || f.rowBytes !== numel * elementBytes(f.dtype) || f.rowBytes === 0) return 'row size';
  if (f.offset !== offset) return 'offset';
  if (!Number.isSafeInteger(f.rowBytes * length)) return 'size';
  return undefined;
}

/** Opens and validates a cache file: magic, trailer, and a layout that adds up to the file's size. */
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
  const st = fstatSync(fd);
  if (!st.isFile()) return fail('is not a regular file');
  const size = st.size;
  if (size < 12) return fail('is too short to be a feature cache (truncated?)');
  const tail = Buffer.alloc(12);
  readSync(fd, tail, 0, 12, size - 12);
  if (tail.subarray(4).equals(V1_MAGIC)) return fail('is format version 1, this torchgraft reads version 2');
  if (!tail.subarray(4).equals(MAGIC_V2)) return fail('does not end with the feature-cache magic (truncated or another kind of file)');
  const len = tail.readUInt32LE(0);
  if (len > size - 12 || len > MAX_TRAILER) return fail('has a trailer longer than the file');
  const json = Buffer.alloc(len);
  if (readSync(fd, json, 0, len, size - 12 - len) !== len) return fail('changed while it was read');
  let h: DiskHeader;
  try {
    h = JSON.parse(json.toString('utf8')) as DiskHeader;
  } catch {
    return fail('has an unreadable trailer');
  }
  const bad = headerProblem(h, size - 12 - len);
  if (bad) return fail(bad);
  return { fd, header: h };
}
