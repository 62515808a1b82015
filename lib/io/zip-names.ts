/** Reads a zip's central directory (names, sizes, offsets), to tell TorchScript archives from torch.save files and check them. */
import * as fs from 'node:fs';

/** What kind of PyTorch zip a file is. */
export type TorchZipKind = 'torchscript' | 'torch.save' | 'zip' | 'not-zip';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024; // far above any real archive's; a lying size is refused, not allocated

/** Up to `length` bytes at `position` (fewer at the end of the file). */
export function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = fs.readSync(fd, buf, 0, length, position);
  return n === length ? buf : buf.subarray(0, n);
}

/** One entry of a zip's central directory. */
export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  compressedSize: number;
  size: number;
  /** Where its local header starts. */
  offset: number;
}

/** The ZIP64 extended information extra field replaces the 32-bit fields that read 0xffffffff, in this order. */
function applyZip64(extra: Buffer, e: ZipEntry): void {
  for (let p = 0; p + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(p);
    const len = extra.readUInt16LE(p + 2);
    if (id === 1) {
      let q = p + 4;
      const next = (): number => {
        if (q + 8 > p + 4 + len || q + 8 > extra.length) return NaN;
        const v = Number(extra.readBigUInt64LE(q));
        q += 8;
        return v;
      };
      if (e.size === 0xffffffff) e.size = next();
      if (e.compressedSize === 0xffffffff) e.compressedSize = next();
      if (e.offset === 0xffffffff) e.offset = next();
      return;
    }
    p += 4 + len;
  }
}

/**
 * The central directory of the zip file open as `fd` (`size` bytes), or undefined when it has no valid one.
 * Synchronous on purpose: it reads only the file's tail and directory (kilobytes), and the registry's sniff is sync.
 */
export function zipEntries(fd: number, size: number): ZipEntry[] | undefined {
  if (size < 22) return undefined;
  const tailLength = Math.min(size, 65535 + 22);
  const tail = readAt(fd, size - tailLength, tailLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) if (tail.readUInt32LE(i) === EOCD) { at = i; break; }
  if (at < 0) return undefined;
  let count = tail.readUInt16LE(at + 10);
  let dirSize = tail.readUInt32LE(at + 12);
  let dirOffset = tail.readUInt32LE(at + 16);
  if (dirOffset === 0xffffffff || dirSize === 0xffffffff || count === 0xffff) {
    // ZIP64: the locator right before the end record points at the 64-bit end record.
    const eocdPos = size - tailLength + at;
    if (eocdPos < 20) return undefined;
    const loc = readAt(fd, eocdPos - 20, 20);
    if (loc.length < 20 || loc.readUInt32LE(0) !== ZIP64_LOCATOR) return undefined;
    const recPos = Number(loc.readBigUInt64LE(8));
    if (recPos + 56 > size) return undefined;
    const rec = readAt(fd, recPos, 56);
    if (rec.length < 56 || rec.readUInt32LE(0) !== ZIP64_EOCD) return undefined;
    count = Number(rec.readBigUInt64LE(32));
    dirSize = Number(rec.readBigUInt64LE(40));
    dirOffset = Number(rec.readBigUInt64LE(48));
  }
  if (dirSize > MAX_DIRECTORY_BYTES || dirOffset + dirSize > size) return undefined;
  const dir = readAt(fd, dirOffset, dirSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL_HEADER) return undefined;
    const nameLength = dir.readUInt16LE(p + 28);
    const extraLength = dir.readUInt16LE(p + 30);
    const next = p + 46 + nameLength + extraLength + dir.readUInt16LE(p + 32);
    if (next > dir.length) return undefined;
    const e: ZipEntry = {
      name: dir.toString('utf8', p + 46, p + 46 + nameLength),
      method: dir.readUInt16LE(p + 10),
      compressedSize: dir.readUInt32LE(p + 20),
      size: dir.readUInt32LE(p + 24),
      offset: dir.readUInt32LE(p + 42),
    };
    applyZip64(dir.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength), e);
    entries.push(e);
    p = next;
  }
  return entries;
}

/** The entry names of the zip file open as `fd`, or undefined when it has no valid central directory. */
export function zipEntryNames(fd: number, size: number): string[] | undefined {
  return zipEntries(fd, size)?.map((e) => e.name);
}

/**
 * Classifies a PyTorch zip by its entry names (each under one archive folder, `archive/...`): TorchScript archives
 * hold `code/` and `constants.pkl`, torch.save files hold `data.pkl` alone.
 */
export function torchZipKind(names: string[] | undefined): TorchZipKind {
  if (!names) return 'not-zip';
  const inner = names.map((n) => n.slice(n.indexOf('/') + 1));
  if (inner.some((n) => n.startsWith('code/') || n === 'constants.pkl')) return 'torchscript';
  if (inner.includes('data.pkl')) return 'torch.save';
  return 'zip';
}

/** The kind of PyTorch zip a file is, with its directory and size; throws the system's error when it cannot be read. */
export function inspectTorchZip(file: string): { kind: TorchZipKind; entries: ZipEntry[]; size: number } {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    const entries = zipEntries(fd, st.size);
    return { kind: torchZipKind(entries?.map((e) => e.name)), entries: entries ?? [], size: st.size };
  } finally {
    fs.closeSync(fd);
  }
}
