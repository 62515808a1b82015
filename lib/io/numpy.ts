/**
 * NumPy `.npy` (format versions 1, 2 and 3) and `.npz` (a zip of .npy members, stored or deflated). The header
 * is a Python dict literal read by a small literal parser (never evaluated); object arrays are refused, so no
 * pickle is ever read. Big-endian data are byte-swapped, Fortran-order arrays made C-contiguous.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { binding } from '../native';
import { TorchError } from '../errors';
import type { DType } from '../dtype';
import type { Tensor } from '../tensor';
import { LoadedWeights, WeightReader, recordOf } from './registry';
import { openZip, firstEntryName } from './zip';
import { tensorsFromJobs } from './decode-thread';
import type { DecodeJob } from './decode-bytes';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
/** numpy.lib.format refuses headers over 10000 bytes unless asked; weight arrays never need more. */
const MAX_HEADER = 65536;

/** A parsed .npy header. */
export interface NpyHeader {
  /** The dtype the tensor gets (uint16 widens to int32, uint32 to int64). */
  dtype: DType;
  /** The descr as written, e.g. `<f4`. */
  descr: string;
  shape: number[];
  fortranOrder: boolean;
  /** Byte offset of the data. */
  dataOffset: number;
  /** Bytes per element as stored. */
  itemSize: number;
  bigEndian: boolean;
}

const KINDS: Record<string, DType> = {
  f2: 'float16', f4: 'float32', f8: 'float64', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64', u1: 'uint8', b1: 'bool',
  u2: 'int32', u4: 'int64',
};

function fail(source: string, problem: string, code = 'ERR_NPY_HEADER'): never {
  throw new TorchError(`io: ${source}: ${problem}`, { code });
}

/** Parses the Python literal numpy writes: a dict of strings, booleans, integers and tuples. Nothing is evaluated. */
function parseLiteral(text: string, source: string): unknown {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const value = (depth: number): unknown => {
    if (depth > 8) fail(source, 'header nests too deeply');
    ws();
    const c = text[i];
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) fail(source, 'unterminated string in header');
      const s = text.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    if (c === '{' || c === '(' || c === '[') {
      const close = c === '{' ? '}' : c === '(' ? ')' : ']';
      i++;
      const items: unknown[] = [];
      const dict = new Map<unknown, unknown>();
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          break;
        }
        const v = value(depth + 1);
        ws();
        if (c === '{') {
          if (text[i] !== ':') fail(source, "expected ':' in header dict");
          i++;
          dict.set(v, value(depth + 1));
          ws();
        } else items.push(v);
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(source, `unexpected '${text[i] ?? 'end'}' in header`);
      }
      return c === '{' ? dict : items;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(text.slice(i, i + 32));
    if (!m) fail(source, `unexpected '${text.slice(i, i + 10)}' in header`);
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0].replace('L', ''));
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail(source, 'trailing characters after the header dict');
  return v;
}

/**
 * Parses and validates an .npy header against the buffer's length.
 * @param buf the whole .npy content; `source` names it in errors (quoted).
 * @throws TorchError ERR_NPY_MAGIC, ERR_NPY_HEADER, ERR_NPY_DTYPE, ERR_NPY_TRUNCATED.
 */
export function parseNpyHeader(buf: Uint8Array, source: string): NpyHeader {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) fail(source, 'not an .npy array (no \\x93NUMPY magic)', 'ERR_NPY_MAGIC');
  const major = b[6];
  if (major < 1 || major > 3) fail(source, `unknown .npy format version ${major}.${b[7]}`);
  const lenBytes = major === 1 ? 2 : 4;
  if (b.length < 8 + lenBytes) fail(source, 'truncated .npy header', 'ERR_NPY_TRUNCATED');
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const dataOffset = 8 + lenBytes + headerLen;
  if (headerLen > MAX_HEADER) fail(source, `header declares ${headerLen} bytes`);
  if (dataOffset > b.length) fail(source, `header declares ${headerLen} bytes, the file has ${b.length - 8 - lenBytes}`, 'ERR_NPY_TRUNCATED');
  const text = b.toString(major === 3 ? 'utf8' : 'latin1', 8 + lenBytes, dataOffset);
  const dict = parseLiteral(text, source);
  if (!(dict instanceof Map)) fail(source, 'header is not a dict');
  const d = dict as Map<unknown, unknown>;
  const descr = d.get('descr');
  const fortran = d.get('fortran_order');
  const shape = d.get('shape');
  if (typeof descr !== 'string') fail(source, Array.isArray(descr) ? 'structured dtypes are not supported' : 'header has no descr', 'ERR_NPY_DTYPE');
  if (typeof fortran !== 'boolean') fail(source, 'header has no boolean fortran_order');
  if (!Array.isArray(shape) || shape.length > 64 || !shape.every((x) => Number.isSafeInteger(x) && (x as number) >= 0))
    fail(source, 'header shape is not a tuple of non-negative integers');
  const m = /^([<>|=])([a-zA-Z])(\d+)$/.exec(descr as string);
  if ((descr as string).includes('O')) fail(source, `object arrays ('${descr}') are refused: they hold pickled Python objects`, 'ERR_NPY_DTYPE');
  const dtype = m ? KINDS[m[2] + m[3]] : undefined;
  if (!m || !dtype) fail(source, `dtype '${descr}' is not supported (float16/32/64, int8/16/32/64, uint8/16/32, bool)`, 'ERR_NPY_DTYPE');
  const itemSize = Number(m[3]);
  return { dtype, descr: descr as string, shape: shape as number[], fortranOrder: fortran as boolean, dataOffset, itemSize, bigEndian: m[1] === '>' && itemSize > 1 };
}

/** The header of an .npy buffer, checked against the data the buffer really holds. */
function checkedHeader(buf: Uint8Array, source: string): { h: NpyHeader; numel: number; have: number } {
  const h = parseNpyHeader(buf, source);
  let numel = 1;
  for (const d of h.shape) numel *= d;
  const need = numel * h.itemSize;
  const have = buf.length - h.dataOffset;
  if (!Number.isSafeInteger(need) || need !== have)
    fail(source, `shape (${h.shape}) of '${h.descr}' needs ${need} data bytes, the file has ${have}`, need > have ? 'ERR_NPY_TRUNCATED' : 'ERR_NPY_SIZE');
  return { h, numel, have };
}

/** Reads an .npy buffer to a contiguous CPU tensor on the calling thread; `source` names it in errors (quoted). */
export function npyToTensor(buf: Uint8Array, source: string): Tensor {
  const { h, numel, have } = checkedHeader(buf, source);
  // A private, aligned copy: byte swaps and widening must not touch the caller's buffer.
  let data = Buffer.alloc(have); // never pooled, so aligned for the typed views below
  data.set(buf.subarray(h.dataOffset));
  if (h.bigEndian) {
    if (h.itemSize === 2) data.swap16();
    else if (h.itemSize === 4) data.swap32();
    else data.swap64();
  }
  if (h.descr.endsWith('u2')) data = Buffer.from(Int32Array.from(new Uint16Array(data.buffer, data.byteOffset, numel)).buffer);
  else if (h.descr.endsWith('u4')) data = Buffer.from(BigInt64Array.from(new Uint32Array(data.buffer, data.byteOffset, numel), (v) => BigInt(v)).buffer);
  else if (h.dtype === 'bool') for (let k = 0; k < data.length; k++) data[k] = data[k] ? 1 : 0;
  // Fortran order: element (i0, i1, ...) sits at i0 + n0 * (i1 + n1 * ...), i.e. strides 1, n0, n0*n1, ...
  const strides = new Array<number>(h.shape.length);
  let s = 1;
  const order = h.shape.map((_, k) => k);
  if (!h.fortranOrder) order.reverse();
  for (const k of order) {
    strides[k] = s;
    s *= h.shape[k];
  }
  try {
    return binding.tensorFromBytes(new Uint8Array(data.buffer, data.byteOffset, data.length), h.dtype, h.shape, strides, 0) as Tensor;
  } catch (e) {
    fail(source, (e as Error).message, 'ERR_NPY_SIZE');
  }
}

/**
 * Reads an .npy buffer to a contiguous CPU tensor without holding the JavaScript thread: byte swaps, widening and
 * Fortran reordering run in the decode thread when the array is big, and `buf` is then handed over (do not reuse it).
 * @throws TorchError ERR_NPY_* naming `source`.
 */
export async function npyToTensorAsync(buf: Uint8Array, source: string): Promise<Tensor> {
  const { h, have } = checkedHeader(buf, source);
  const job: DecodeJob = { op: 'npy', descr: h.descr, dtype: h.dtype, itemSize: h.itemSize, bigEndian: h.bigEndian, shape: h.shape, fortran: h.fortranOrder, buffer: 0, offset: h.dataOffset, length: have };
  try {
    return (await tensorsFromJobs([buf], [job], [h.shape]))[0];
  } catch (e) {
    fail(source, (e as Error).message, 'ERR_NPY_SIZE');
  }
}

/**
 * Reads an .npy file: one tensor named after the file (its base name without `.npy`).
 * @throws TorchError ERR_NPY_* naming the file and the problem, or ERR_IO.
 */
export async function loadNpy(file: string): Promise<LoadedWeights> {
  const buf = await fs.promises.readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new TorchError(`io: cannot read '${file}': ${e.message}`, { code: 'ERR_IO', cause: e });
  });
  const name = path.basename(file).replace(/\.npy$/i, '');
  const t = await npyToTensorAsync(buf, `'${file}'`);
  return { format: 'numpy', names: [name], tensors: recordOf([[name, t]]), metadata: {} };
}

/**
 * Reads an .npz file (`np.savez` or `np.savez_compressed`): one tensor per member, named without `.npy`.
 * @throws TorchError ERR_ZIP_*, ERR_NPZ_MEMBER for a member that is not .npy, ERR_NPY_* naming the file and member.
 */
export async function loadNpz(file: string): Promise<LoadedWeights> {
  const zip = await openZip(file);
  const out: [string, Tensor][] = [];
  try {
    for (const e of zip.entries) {
      if (!e.name.endsWith('.npy')) fail(`'${file}'`, `member '${e.name}' is not an .npy array`, 'ERR_NPZ_MEMBER');
      const buf = await zip.read(e);
      out.push([e.name.slice(0, -4), await npyToTensorAsync(buf, `'${file}' (${e.name})`)]);
    }
  } catch (err) {
    for (const [, t] of out) t.dispose();
    throw err;
  } finally {
    await zip.close();
  }
  return { format: 'npz', names: out.map((e) => e[0]), tensors: recordOf(out), metadata: {} };
}

/** The registry entry for .npy files: the \x93NUMPY magic. */
export const npyReader: WeightReader = {
  format: 'numpy',
  extensions: ['.npy'],
  sniff: (head) => head.length >= 6 && Buffer.from(head.buffer, head.byteOffset, 6).equals(MAGIC),
  read: loadNpy,
};

/** The registry entry for .npz files: a zip whose first member is an .npy. */
export const npzReader: WeightReader = {
  format: 'npz',
  extensions: ['.npz'],
  sniff: (head) => firstEntryName(head)?.endsWith('.npy') === true,
  read: loadNpz,
};
