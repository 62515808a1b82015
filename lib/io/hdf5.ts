/**
 * HDF5 through h5wasm (the HDF5 C library compiled to WebAssembly): opening a file with HDF5's errors thrown
 * instead of printed, and reading numeric datasets after checking their declared size against the file.
 */
import { TorchError } from '../errors';
import type { RawDType } from './decode';

/** The parts of h5wasm's object model used here. */
export interface H5Attribute {
  value: unknown;
}
export interface H5Object {
  type: string;
  attrs: Record<string, H5Attribute>;
  keys?(): string[];
  get?(path: string): H5Object | null;
  metadata?: { type: number; size: number; signed: boolean; littleEndian: boolean; total_size: number; shape: number[] | null; vlen: boolean };
  filters?: unknown[];
  value?: unknown;
}
interface H5File extends H5Object {
  file_id: bigint;
  close(): unknown;
}
interface H5Module {
  File: new (path: string, mode: string) => H5File;
  ready: Promise<{ activate_throwing_error_handler(): number; deactivate_throwing_error_handler(): number }>;
}

// h5wasm ships only as an ES module; a Function-made import() survives compilation to CommonJS.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<{ default: H5Module }>;
let loading: Promise<H5Module> | undefined;

async function h5wasm(): Promise<H5Module> {
  loading ??= importEsm('h5wasm/node').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return loading.catch((e) => {
    loading = undefined;
    throw new TorchError(`hdf5: cannot load h5wasm (${(e as Error).message}); reinstall torchgraft's dependencies`, { code: 'ERR_HDF5_UNAVAILABLE', cause: e });
  });
}

// HDF5's error stack becomes the message: keep its innermost, most specific lines.
function hdf5Message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const minor = [...text.matchAll(/line \d+ in ([^\n]*)/g)].map((m) => m[1].trim());
  return minor.length ? minor.slice(-2).join('; ') : text.split('\n')[0];
}

/**
 * Opens `file` read-only, runs `fn` on its root group and closes it. HDF5 errors (thrown while this runs) become
 * TorchError `ERR_HDF5` naming the file; the synchronous `fn` keeps other callers out while the handler is set.
 */
export async function withHdf5<T>(file: string, label: string, fn: (root: H5Object) => T): Promise<T> {
  const h5 = await h5wasm();
  const module = await h5.ready;
  module.activate_throwing_error_handler();
  let f: H5File | undefined;
  try {
    try {
      f = new h5.File(file, 'r');
    } catch (e) {
      throw new TorchError(`${label}: '${file}': not a readable HDF5 file: ${hdf5Message(e)}`, { code: 'ERR_HDF5', cause: e });
    }
    if (!(f.file_id >= 0n)) throw new TorchError(`${label}: '${file}': not a readable HDF5 file`, { code: 'ERR_HDF5' });
    try {
      return fn(f);
    } catch (e) {
      if (e instanceof TorchError) throw e;
      throw new TorchError(`${label}: '${file}': HDF5 error: ${hdf5Message(e)}`, { code: 'ERR_HDF5', cause: e });
    }
  } finally {
    try {
      if (f && f.file_id >= 0n) f.close();
    } catch {
      // A file HDF5 could not read fully may also fail to close; its handle is dropped either way.
    }
    module.deactivate_throwing_error_handler();
  }
}

/** The raw element type of a numeric dataset, or a message saying why it is not one. */
export function rawTypeOf(md: NonNullable<H5Object['metadata']>): RawDType | string {
  if (md.vlen) return 'variable-length data';
  if (!md.littleEndian && md.size > 1) return 'big-endian data';
  if (md.type === 1) return md.size === 4 ? 'float32' : md.size === 8 ? 'float64' : md.size === 2 ? 'float16' : `${md.size * 8}-bit floats`;
  if (md.type === 0) {
    const m: Record<number, RawDType> = md.signed ? { 1: 'int8', 2: 'int16', 4: 'int32', 8: 'int64' } : { 1: 'uint8', 2: 'uint16', 4: 'uint32' };
    return m[md.size] ?? `${md.signed ? '' : 'unsigned '}${md.size * 8}-bit integers`;
  }
  return `HDF5 type class ${md.type}`;
}

/**
 * How much larger than the whole file compressed weights may be: float weights barely compress (about 1.1x);
 * DEFLATE could reach 1032x, but allowing that would let a small lying file claim gigabytes.
 */
export const MAX_EXPANSION = 64;

/**
 * Reads a numeric dataset's bytes after checking its declared size: unfiltered data must fit in the file, and
 * compressed (filtered) data at most MAX_EXPANSION times the file, so a lying header allocates nothing large.
 */
export function readDatasetBytes(ds: H5Object, fileSize: number, fail: (problem: string) => never): { dtype: RawDType; shape: number[]; bytes: Uint8Array } {
  const md = ds.metadata;
  if (ds.type !== 'Dataset' || !md) fail('is not a dataset');
  const dtype = rawTypeOf(md);
  // h5wasm 0.10 throws 'Float16 not supported' on reading half floats; Keras keeps variables in float32 anyway.
  if (dtype === 'float16') fail('holds float16 data, which the HDF5 reader (h5wasm 0.10) cannot read');
  if (!['float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32'].includes(dtype)) fail(`holds ${dtype}, not numbers torchgraft reads`);
  const shape = md.shape ?? [];
  const nbytes = md.total_size * md.size;
  const limit = (ds.filters?.length ?? 0) > 0 ? fileSize * MAX_EXPANSION : fileSize;
  if (!(nbytes <= limit))
    fail(`declares ${nbytes} bytes of data, more than a ${fileSize}-byte file can hold${limit > fileSize ? ` (compressed data may expand ${MAX_EXPANSION}x at most)` : ''}`);
  let v = ds.value;
  // A scalar dataset reads as a plain number or BigInt: put it in the typed array of its type.
  if ((typeof v === 'number' || typeof v === 'bigint') && md.total_size === 1) v = scalarArray(dtype as RawDType, v);
  if (!ArrayBuffer.isView(v) || v.byteLength !== nbytes) fail(`read ${ArrayBuffer.isView(v) ? v.byteLength : 'no'} bytes, expected ${nbytes}`);
  return { dtype: dtype as RawDType, shape, bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) };
}

function scalarArray(dtype: RawDType, v: number | bigint): ArrayBufferView | undefined {
  const n = Number(v);
  switch (dtype) {
    case 'float32': return new Float32Array([n]);
    case 'float64': return new Float64Array([n]);
    case 'int64': return new BigInt64Array([BigInt(v)]);
    case 'int32': return new Int32Array([n]);
    case 'uint32': return new Uint32Array([n]);
    case 'int16': return new Int16Array([n]);
    case 'uint16': return new Uint16Array([n]);
    case 'int8': return new Int8Array([n]);
    case 'uint8': return new Uint8Array([n]);
    default: return undefined;
  }
}
