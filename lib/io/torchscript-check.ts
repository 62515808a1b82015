/**
 * Checks a TorchScript archive before LibTorch reads it: every record lies inside the file with sizes that agree,
 * and every pickle declares only lengths it holds and memo slots in sequence. LibTorch's own reader trusts both, so a
 * single flipped byte could make it allocate gigabytes (a memo index of 2^30 fills a table that long). The code
 * records' class bodies are checked for the statements its importer crashes on (torchscript-code-check).
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { promisify } from 'node:util';
import { ZipEntry } from './zip-names';
import { scriptPickleProblem, RecordSize } from './torchscript-pickle';
import { scriptCodeProblem } from './torchscript-code-check';

const inflateRaw = promisify(zlib.inflateRaw);
const MAX_PICKLE_BYTES = 512 * 1024 * 1024; // far above any real archive's module structure or code
const DEFLATE_MAX_RATIO = 1032; // deflate cannot expand more than this

// Pickle opcodes by the size of their argument (protocols 0 to 5).
const NO_ARG = new Set('(.012NRabd}el]ostu)Q\x81\x85\x86\x87\x88\x89\x8f\x90\x91\x92\x93\x94\x97\x98'.split('').map((c) => c.charCodeAt(0)));
const FIXED: Record<number, number> = { 0x4b: 1, 0x71: 1, 0x68: 1, 0x80: 1, 0x82: 1, 0x4d: 2, 0x83: 2, 0x4a: 4, 0x72: 4, 0x6a: 4, 0x84: 4, 0x47: 8, 0x95: 8 };
const LEN1 = new Set([0x55, 0x43, 0x8c, 0x8a]); // SHORT_BINSTRING, SHORT_BINBYTES, SHORT_BINUNICODE, LONG1
const LEN4 = new Set([0x54, 0x58, 0x42, 0x8b]); // BINSTRING, BINUNICODE, BINBYTES, LONG4
const LEN8 = new Set([0x8d, 0x8e, 0x96]); // BINUNICODE8, BINBYTES8, BYTEARRAY8
const LINES: Record<number, number> = { 0x49: 1, 0x4c: 1, 0x46: 1, 0x53: 1, 0x56: 1, 0x70: 1, 0x67: 1, 0x50: 1, 0x63: 2, 0x69: 2 };
const [BINPUT, LONG_BINPUT, BINGET, LONG_BINGET, PUT, GET, MEMOIZE] = [0x71, 0x72, 0x68, 0x6a, 0x70, 0x67, 0x94];

/** The first problem of a pickle stream, or undefined when it is well formed as far as lengths and memo go. */
export function pickleProblem(b: Buffer): string | undefined {
  let memo = 0;
  let p = 0;
  while (p < b.length) {
    const op = b[p];
    const at = p++;
    let arg: number;
    if (NO_ARG.has(op)) {
      if (op === MEMOIZE) memo++;
      if (op === 0x2e) return undefined; // STOP
      continue;
    } else if (FIXED[op] !== undefined) {
      const n = FIXED[op];
      if (p + n > b.length) return `opcode 0x${op.toString(16)} at byte ${at} is cut short`;
      arg = n === 1 ? b[p] : n === 2 ? b.readUInt16LE(p) : n === 4 ? b.readUInt32LE(p) : Number(b.readBigUInt64LE(p));
      if (op === 0x95 && arg > b.length - p - n) return `a frame at byte ${at} declares ${arg} bytes, more than remain`;
      p += n;
    } else if (LEN1.has(op) || LEN4.has(op) || LEN8.has(op)) {
      const n = LEN1.has(op) ? 1 : LEN4.has(op) ? 4 : 8;
      if (p + n > b.length) return `opcode 0x${op.toString(16)} at byte ${at} is cut short`;
      const len = n === 1 ? b[p] : n === 4 ? b.readUInt32LE(p) : Number(b.readBigUInt64LE(p));
      if (len > b.length - p - n) return `a value at byte ${at} declares ${len} bytes, more than remain`;
      p += n + len;
      continue;
    } else if (LINES[op] !== undefined) {
      let text = '';
      for (let k = 0; k < LINES[op]; k++) {
        const end = b.indexOf(0x0a, p);
        if (end < 0) return `opcode 0x${op.toString(16)} at byte ${at} is cut short`;
        text = b.toString('latin1', p, end);
        p = end + 1;
      }
      if (op === PUT || op === GET) arg = Number(text);
      else continue;
    } else return `unknown opcode 0x${op.toString(16)} at byte ${at}`;
    if (op === BINPUT || op === LONG_BINPUT || op === PUT) {
      // Picklers number memo slots in order; a jump ahead would make the reader fill a table that long.
      if (!(arg <= memo)) return `memo slot ${arg} at byte ${at} skips ahead of the ${memo} stored so far`;
      if (arg === memo) memo++;
    } else if ((op === BINGET || op === LONG_BINGET || op === GET) && !(arg < memo)) {
      return `memo slot ${arg} read at byte ${at} was never stored`;
    }
  }
  return 'no STOP opcode';
}

/** How LibTorch finds the storages of `<archive>/data.pkl` (in `data/`) and `constants.pkl` (in `constants/`). */
function storageRecords(name: string, sizes: Map<string, number>): RecordSize | undefined {
  const m = /^(.*\/)?(data|constants)\.pkl$/.exec(name);
  if (!m) return undefined; // other pickles (debug info) never read storages
  const folder = `${m[1] ?? ''}${m[2]}/`;
  return (key) => sizes.get(folder + key);
}

/** Where a record's data start, or its problem. */
async function locateRecord(fh: fs.promises.FileHandle, e: ZipEntry, fileSize: number): Promise<{ start: number } | { problem: string }> {
  if (e.method !== 0 && e.method !== 8) return { problem: `compression method ${e.method}, which PyTorch archives do not use` };
  if (!Number.isSafeInteger(e.offset) || !Number.isSafeInteger(e.size) || !Number.isSafeInteger(e.compressedSize) || e.offset + 30 > fileSize)
    return { problem: 'its local header lies outside the file' };
  const local = Buffer.alloc(30);
  await fh.read(local, 0, 30, e.offset);
  if (local.readUInt32LE(0) !== 0x04034b50) return { problem: 'no local header where the directory says' };
  const start = e.offset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  if (start + e.compressedSize > fileSize) return { problem: `its ${e.compressedSize} bytes run past the end of the file` };
  if (e.method === 0 ? e.size !== e.compressedSize : e.size > e.compressedSize * DEFLATE_MAX_RATIO + 1024)
    return { problem: `it declares ${e.size} bytes from ${e.compressedSize} stored` };
  return { start };
}

/**
 * The first problem of the archive's records and pickles, as `entry: problem`, or undefined when they check out.
 * @param entries the central directory (zipEntries).
 */
export async function torchScriptProblem(file: string, entries: ZipEntry[], fileSize: number): Promise<string | undefined> {
  const sizes = new Map<string, number>();
  for (const e of entries) {
    // Which of two same-named records LibTorch would read is not defined: refuse rather than guess.
    if (sizes.has(e.name)) return `record '${e.name}' appears twice`;
    sizes.set(e.name, e.size);
  }
  const fh = await fs.promises.open(file, 'r');
  try {
    for (const e of entries) {
      const where = await locateRecord(fh, e, fileSize);
      if ('problem' in where) return `record '${e.name}': ${where.problem}`;
      const isCode = /(^|\/)code\/.*\.py$/.test(e.name);
      if (!isCode && !/\.(debug_)?pkl$/.test(e.name)) continue;
      if (e.size > MAX_PICKLE_BYTES) return `record '${e.name}': ${isCode ? 'code' : 'a pickle'} of ${e.size} bytes`;
      const raw = Buffer.alloc(e.compressedSize);
      await fh.read(raw, 0, raw.length, where.start);
      let data: Buffer;
      try {
        data = e.method === 0 ? raw : await inflateRaw(raw, { maxOutputLength: Math.max(e.size, 1) });
      } catch (err) {
        return `record '${e.name}': cannot be inflated (${(err as Error).message})`;
      }
      const problem = isCode ? scriptCodeProblem(data.toString('utf8')) : pickleProblem(data) ?? scriptPickleProblem(data, storageRecords(e.name, sizes));
      if (problem) return `record '${e.name}': ${problem}`;
    }
    return undefined;
  } finally {
    await fh.close();
  }
}
