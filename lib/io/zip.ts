/**
 * A read-only zip reader for weight archives (torch.save files, .npz): the central directory is parsed with every
 * offset and size checked against the file before anything is read, entries are read one at a time through a file
 * handle, stored entries are returned as read and deflated ones are inflated with node:zlib, capped at their
 * declared size. Nothing is extracted to disk, so entry names are never used as paths.
 */
import * as buffer from 'node:buffer';
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { TorchError } from '../errors';
import type { NodeBuffer } from '../portable-types';

/** One entry of the central directory, validated against the file size. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated; other methods are refused when the entry is read. */
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  crc32: number;
  /** Offset of the entry's local header. */
  localOffset: number;
}

/** An open archive: its entries by name, and a way to read one. Close it when done. */
export interface ZipArchive {
  readonly file: string;
  readonly size: number;
  /** Entries in central directory order. */
  readonly entries: ZipEntry[];
  get(name: string): ZipEntry | undefined;
  /**
   * The entry's uncompressed bytes (a fresh buffer).
   * @param maxBytes refuse entries larger than this (a cap on what one entry may allocate).
   */
  read(entry: ZipEntry, maxBytes?: number): Promise<NodeBuffer>;
  close(): Promise<void>;
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;
const MAX_ENTRIES = 1_000_000;
/** Largest single entry read into memory: Node's Buffer limit. */
export const MAX_ENTRY_BYTES = buffer.constants.MAX_LENGTH;

function fail(file: string, problem: string, code = 'ERR_ZIP_CORRUPT'): never {
  throw new TorchError(`io: '${file}': ${problem}`, { code });
}

async function readAt(fh: fs.promises.FileHandle, file: string, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) fail(file, `unexpected end of file at byte ${pos + got}`, 'ERR_ZIP_TRUNCATED');
    got += bytesRead;
  }
  return buf;
}

/** A 64-bit little-endian field as a Number, refusing values beyond 2^53 (no file is that large). */
function u64(buf: Buffer, at: number, file: string, what: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(file, `zip64 ${what} ${v} is too large`);
  return Number(v);
}

/** Finds the end-of-central-directory record in the file's last 64 KiB + 22 bytes (the comment may precede it). */
async function findEocd(fh: fs.promises.FileHandle, file: string, size: number): Promise<{ tail: Buffer; at: number; tailStart: number }> {
  if (size < 22) fail(file, `too short to be a zip archive (${size} bytes)`, 'ERR_ZIP_TRUNCATED');
  const tailLen = Math.min(size, 22 + 0xffff + 20);
  const tailStart = size - tailLen;
  const tail = await readAt(fh, file, tailStart, tailLen);
  for (let i = tail.length - 22; i >= 0; i--) {
    // The comment length must reach exactly to the end of the file, so a signature inside a comment is skipped.
    if (tail.readUInt32LE(i) === EOCD_SIG && i + 22 + tail.readUInt16LE(i + 20) === tail.length) return { tail, at: i, tailStart };
  }
  fail(file, 'no zip end-of-central-directory record (not a zip archive, or truncated)', 'ERR_ZIP_TRUNCATED');
}

/**
 * Opens a zip archive and validates its central directory: every entry's local header offset and compressed size
 * must lie inside the file, before the central directory.
 * @throws TorchError ERR_ZIP_TRUNCATED, ERR_ZIP_CORRUPT or ERR_ZIP_UNSUPPORTED (multi-disk, encrypted), or ERR_IO.
 */
export async function openZip(file: string): Promise<ZipArchive> {
  const fh = await fs.promises.open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new TorchError(`io: cannot open '${file}': ${e.message}`, { code: 'ERR_IO', cause: e });
  });
  try {
    const size = (await fh.stat()).size;
    const { tail, at, tailStart } = await findEocd(fh, file, size);
    if (tail.readUInt16LE(at + 4) !== 0 || tail.readUInt16LE(at + 6) !== 0) fail(file, 'multi-disk zip archives are not supported', 'ERR_ZIP_UNSUPPORTED');
    let count = tail.readUInt16LE(at + 10);
    let cdSize = tail.readUInt32LE(at + 12);
    let cdOffset = tail.readUInt32LE(at + 16);
    const eocdPos = tailStart + at;
    let cdEnd = eocdPos;
    // Zip64: the classic fields saturate and a locator just before the record points to the 64-bit record.
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      if (eocdPos < 20) fail(file, 'zip64 fields without a zip64 locator');
      const loc = await readAt(fh, file, eocdPos - 20, 20);
      if (loc.readUInt32LE(0) !== ZIP64_LOCATOR_SIG) fail(file, 'zip64 fields without a zip64 locator');
      const recPos = u64(loc, 8, file, 'record offset');
      if (recPos + 56 > eocdPos - 20) fail(file, `zip64 end record offset ${recPos} is outside the file`);
      const rec = await readAt(fh, file, recPos, 56);
      if (rec.readUInt32LE(0) !== ZIP64_EOCD_SIG) fail(file, 'bad zip64 end-of-central-directory signature');
      count = u64(rec, 32, file, 'entry count');
      cdSize = u64(rec, 40, file, 'central directory size');
      cdOffset = u64(rec, 48, file, 'central directory offset');
      cdEnd = recPos;
    }
    if (cdOffset + cdSize > cdEnd) fail(file, `central directory (offset ${cdOffset}, ${cdSize} bytes) lies outside the file`);
    if (count > MAX_ENTRIES || count * 46 > cdSize) fail(file, `central directory declares ${count} entries in ${cdSize} bytes`);
    const cd = await readAt(fh, file, cdOffset, cdSize);
    const entries: ZipEntry[] = [];
    const byName = new Map<string, ZipEntry>();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) fail(file, `central directory entry ${i} is malformed`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const crc32 = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let uncompressedSize = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      if (cd.readUInt16LE(p + 34) !== 0) fail(file, 'multi-disk zip archives are not supported', 'ERR_ZIP_UNSUPPORTED');
      let localOffset = cd.readUInt32LE(p + 42);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > cd.length) fail(file, `central directory entry ${i} runs past the directory`);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      if (flags & 1) fail(file, `entry '${name}' is encrypted`, 'ERR_ZIP_UNSUPPORTED');
      // Zip64 extended information: the saturated fields, in order, in extra field 0x0001.
      if (uncompressedSize === 0xffffffff || compressedSize === 0xffffffff || localOffset === 0xffffffff) {
        let q = p + 46 + nameLen;
        const qEnd = q + extraLen;
        let found = false;
        while (q + 4 <= qEnd) {
          const id = cd.readUInt16LE(q);
          const len = cd.readUInt16LE(q + 2);
          if (q + 4 + len > qEnd) break;
          if (id === 1) {
            let r = q + 4;
            const next = (what: string): number => {
              if (r + 8 > q + 4 + len) fail(file, `entry '${name}': zip64 extra field too short for its ${what}`);
              const v = u64(cd, r, file, what);
              r += 8;
              return v;
            };
            if (uncompressedSize === 0xffffffff) uncompressedSize = next('size');
            if (compressedSize === 0xffffffff) compressedSize = next('compressed size');
            if (localOffset === 0xffffffff) localOffset = next('offset');
            found = true;
            break;
          }
          q += 4 + len;
        }
        if (!found) fail(file, `entry '${name}' has zip64 sizes but no zip64 extra field`);
      }
      if (localOffset + 30 + compressedSize > cdOffset)
        fail(file, `entry '${name}' (offset ${localOffset}, ${compressedSize} bytes) lies outside the archive data`);
      if (method === 0 && compressedSize !== uncompressedSize)
        fail(file, `stored entry '${name}' declares ${compressedSize} bytes stored but ${uncompressedSize} bytes long`);
      if (byName.has(name)) fail(file, `entry '${name}' appears twice`);
      const entry = { name, method, compressedSize, uncompressedSize, crc32, localOffset };
      entries.push(entry);
      byName.set(name, entry);
      p = end;
    }
    return {
      file,
      size,
      entries,
      get: (name) => byName.get(name),
      read: (entry, maxBytes = MAX_ENTRY_BYTES) => readEntry(fh, file, cdOffset, entry, maxBytes),
      close: () => fh.close(),
    };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

async function readEntry(fh: fs.promises.FileHandle, file: string, dataEnd: number, e: ZipEntry, maxBytes: number): Promise<Buffer> {
  const cap = Math.min(maxBytes, MAX_ENTRY_BYTES);
  if (e.uncompressedSize > cap || e.compressedSize > MAX_ENTRY_BYTES)
    fail(file, `entry '${e.name}' declares ${e.uncompressedSize} bytes (more than the ${cap} one entry may take in memory)`);
  const local = await readAt(fh, file, e.localOffset, 30);
  if (local.readUInt32LE(0) !== LOCAL_SIG) fail(file, `entry '${e.name}': bad local header signature at byte ${e.localOffset}`);
  const start = e.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  if (start + e.compressedSize > dataEnd) fail(file, `entry '${e.name}': data (${e.compressedSize} bytes at ${start}) runs past the archive data`);
  const raw = await readAt(fh, file, start, e.compressedSize);
  let out: Buffer;
  if (e.method === 0) out = raw;
  else if (e.method === 8) {
    try {
      // maxOutputLength: a lying size or a zip bomb stops at the declared size instead of filling memory.
      out = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(1, e.uncompressedSize) });
    } catch (err) {
      fail(file, `entry '${e.name}': cannot inflate: ${(err as Error).message}`);
    }
  } else fail(file, `entry '${e.name}' uses compression method ${e.method} (only stored and deflate are supported)`, 'ERR_ZIP_UNSUPPORTED');
  if (out.length !== e.uncompressedSize) fail(file, `entry '${e.name}' holds ${out.length} bytes, the directory says ${e.uncompressedSize}`);
  // zlib.crc32 exists from Node 20.15 / 22.2; older Nodes skip the check.
  const crc = (zlib as unknown as { crc32?: (b: Uint8Array) => number }).crc32;
  if (crc && crc(out) >>> 0 !== e.crc32 >>> 0) fail(file, `entry '${e.name}' fails its CRC-32 check (corrupted)`);
  return out;
}

/** The name of the first entry when `head` starts with a zip local header whose name fits in it, else undefined. */
export function firstEntryName(head: Uint8Array): string | undefined {
  if (head.length < 30) return undefined;
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.readUInt32LE(0) !== LOCAL_SIG) return undefined;
  const n = b.readUInt16LE(26);
  if (30 + n > b.length) return undefined;
  return b.toString('utf8', 30, 30 + n);
}
