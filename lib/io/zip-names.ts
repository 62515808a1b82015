/** Lists the entry names of a zip file from its central directory, to tell TorchScript archives from torch.save files. */
import * as fs from 'node:fs';

/** What kind of PyTorch zip a file is. */
export type TorchZipKind = 'torchscript' | 'torch.save' | 'zip' | 'not-zip';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL_HEADER = 0x02014b50;
const MAX_DIRECTORY_BYTES = 64 * 1024 * 1024; // far above any real archive's; a lying size is refused, not allocated

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  const n = fs.readSync(fd, buf, 0, length, position);
  return n === length ? buf : buf.subarray(0, n);
}

/**
 * The entry names of the zip file open as `fd` (`size` bytes), or undefined when it has no valid central directory.
 * Synchronous on purpose: it reads only the file's tail and directory (kilobytes), and the registry's sniff is sync.
 */
export function zipEntryNames(fd: number, size: number): string[] | undefined {
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
  const names: string[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > dir.length || dir.readUInt32LE(p) !== CENTRAL_HEADER) return undefined;
    const nameLength = dir.readUInt16LE(p + 28);
    const next = p + 46 + nameLength + dir.readUInt16LE(p + 30) + dir.readUInt16LE(p + 32);
    if (next > dir.length) return undefined;
    names.push(dir.toString('utf8', p + 46, p + 46 + nameLength));
    p = next;
  }
  return names;
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

/** The kind of PyTorch zip a file is; throws the system's error when it cannot be read. */
export function torchZipKindOfFile(file: string): TorchZipKind {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    return torchZipKind(zipEntryNames(fd, st.size));
  } finally {
    fs.closeSync(fd);
  }
}
