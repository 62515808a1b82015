/**
 * HDF5 through h5wasm (the HDF5 C library compiled to WebAssembly): opening a file in the sandbox with HDF5's errors
 * thrown instead of printed, and reading numeric datasets after checking their storage and declared size.
 */
import * as fs from 'node:fs';
import { TorchError } from '../errors';
import type { RawDType } from './decode';
import { refusedOpens, sandboxedH5wasm, withSandboxedFile } from './hdf5-sandbox';
import { multiFileDriver } from './hdf5-superblock';
import { oversizedLocalHeap } from './hdf5-heaps';

/** The parts of h5wasm's object model used here. */
export interface H5Attribute {
  value: unknown;
}
export interface H5Object {
  type: string;
  attrs: Record<string, H5Attribute>;
  keys?(): string[];
  get?(path: string): H5Object | null;
  metadata?: {
    type: number; size: number; signed: boolean; littleEndian: boolean; total_size: number; shape: number[] | null; vlen: boolean;
    virtual_sources?: { file_name: string; dset_name: string }[];
  };
  filters?: unknown[];
  value?: unknown;
}
interface H5File extends H5Object {
  file_id: bigint;
  close(): unknown;
}

/** TorchError `ERR_HDF5_EXTERNAL`: `what` (a dataset, link or the file) reaches `where`, outside the file. */
export function externalError(label: string, file: string, what: string, where: string): TorchError {
  return new TorchError(`${label}: '${file}': ${what} ${where}; torchgraft reads nothing outside the file it is given`, { code: 'ERR_HDF5_EXTERNAL' });
}

/** Throws `ERR_HDF5_EXTERNAL` naming `what` when HDF5 tried to open another path while working on it. */
export function assertStayedInFile(label: string, file: string, what: string): void {
  const paths = refusedOpens();
  if (paths.length) throw externalError(label, file, what, `tried to open another file ('${paths[0]}')`);
}

// HDF5's error stack becomes the message: keep its innermost, most specific lines.
function hdf5Message(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const minor = [...text.matchAll(/line \d+ in ([^\n]*)/g)].map((m) => m[1].trim());
  return minor.length ? minor.slice(-2).join('; ') : text.split('\n')[0];
}

/** The whole of `file` (a regular file only: a FIFO or device is refused without blocking on it). */
function readRegularFile(file: string, label: string): Uint8Array {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below as not a regular file.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (e) {
    throw new TorchError(`${label}: cannot read '${file}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new TorchError(`${label}: '${file}' is not a regular file`, { code: 'ERR_IO' });
    const bytes = new Uint8Array(st.size);
    let got = 0;
    while (got < bytes.length) {
      const n = fs.readSync(fd, bytes, got, bytes.length - got, got);
      if (n === 0) break;
      got += n;
    }
    // A file that shrank while being read is read as it now is.
    return got === bytes.length ? bytes : bytes.subarray(0, got);
  } catch (e) {
    if (e instanceof TorchError) throw e;
    throw new TorchError(`${label}: cannot read '${file}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Opens `file` read-only, runs `fn` on its root group and the file's size, and closes it. The file's bytes are read
 * once and handed to HDF5 in the sandbox (hdf5-sandbox.ts), so HDF5 sees no other file. Files written with a
 * multi-file driver, and any attempt to open another path, are TorchError `ERR_HDF5_EXTERNAL`; HDF5 errors (thrown
 * while this runs) become `ERR_HDF5` naming the file. The synchronous `fn` keeps other callers out meanwhile.
 */
export async function withHdf5<T>(file: string, label: string, fn: (root: H5Object, fileSize: number) => T): Promise<T> {
  const { h5 } = await sandboxedH5wasm();
  const module = await h5.ready;
  const bytes = readRegularFile(file, label);
  const driver = multiFileDriver(bytes);
  if (driver) throw externalError(label, file, 'the file', `was written with ${driver}`);
  const heap = oversizedLocalHeap(bytes);
  if (heap) throw new TorchError(`${label}: '${file}': damaged HDF5 file: ${heap}`, { code: 'ERR_HDF5' });
  return withSandboxedFile(bytes, (inMemory) => {
    module.activate_throwing_error_handler();
    let f: H5File | undefined;
    try {
      try {
        f = new h5.File(inMemory, 'r') as H5File;
      } catch (e) {
        assertStayedInFile(label, file, 'the file');
        throw new TorchError(`${label}: '${file}': not a readable HDF5 file: ${hdf5Message(e)}`, { code: 'ERR_HDF5', cause: e });
      }
      if (!(f.file_id >= 0n)) throw new TorchError(`${label}: '${file}': not a readable HDF5 file`, { code: 'ERR_HDF5' });
      try {
        const out = fn(f, bytes.length);
        assertStayedInFile(label, file, 'the file');
        return out;
      } catch (e) {
        if (e instanceof TorchError) throw e;
        assertStayedInFile(label, file, 'the file');
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
  });
}

/**
 * `parent.get(name)`, refusing what reaches another file: an external link (by its target) or anything whose
 * lookup made HDF5 open another path. `what` names the object in errors.
 */
export function getLocal(parent: H5Object, name: string, label: string, file: string, what: string): H5Object | null {
  const obj = parent.get?.(name) ?? null;
  // h5wasm's lookup tries to follow the link (the sandbox refused that open); name the link's target first.
  if (obj?.type === 'ExternalLink') {
    const link = obj as unknown as { filename?: string; obj_path?: string };
    throw externalError(label, file, what, `is an external link to '${link.obj_path}' in '${link.filename}'`);
  }
  assertStayedInFile(label, file, what);
  return obj;
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
 * Reads a numeric dataset's bytes after checking its storage and declared size: a virtual dataset drawing on another
 * file, or data HDF5 would fetch from another file (external storage), is refused through `external` (no byte of
 * the other file is read: the sandbox refuses the open); unfiltered data must fit in the file, and compressed
 * (filtered) data at most MAX_EXPANSION times the file, so a lying header allocates nothing large.
 */
export function readDatasetBytes(
  ds: H5Object,
  fileSize: number,
  fail: (problem: string) => never,
  external: (problem: string) => never,
): { dtype: RawDType; shape: number[]; bytes: Uint8Array } {
  const md = ds.metadata;
  if (refusedOpens().length) external(`tried to open another file ('${refusedOpens()[0]}')`);
  if (ds.type !== 'Dataset' || !md) fail('is not a dataset');
  // '.' is the file itself; any other source name is another file.
  const foreign = md.virtual_sources?.find((v) => v.file_name !== '.');
  if (foreign) external(`is a virtual dataset whose data lies in '${foreign.file_name}' (dataset '${foreign.dset_name}')`);
  const dtype = rawTypeOf(md);
  // h5wasm 0.10 throws 'Float16 not supported' on reading half floats; Keras keeps variables in float32 anyway.
  if (dtype === 'float16') fail('holds float16 data, which the HDF5 reader (h5wasm 0.10) cannot read');
  if (!['float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32'].includes(dtype)) fail(`holds ${dtype}, not numbers torchgraft reads`);
  const shape = md.shape ?? [];
  const nbytes = md.total_size * md.size;
  const limit = (ds.filters?.length ?? 0) > 0 ? fileSize * MAX_EXPANSION : fileSize;
  if (!(nbytes <= limit))
    fail(`declares ${nbytes} bytes of data, more than a ${fileSize}-byte file can hold${limit > fileSize ? ` (compressed data may expand ${MAX_EXPANSION}x at most)` : ''}`);
  let v: unknown;
  try {
    v = ds.value;
  } finally {
    // External raw storage only shows when HDF5 tries to open its file: the sandbox refused it, name it here.
    if (refusedOpens().length) external(`stores its data in another file ('${refusedOpens()[0]}')`);
  }
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
