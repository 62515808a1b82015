/**
 * The HDF5 sandbox: h5wasm's in-memory build (MEMFS only, no NODEFS mount) holding exactly one file's bytes, with
 * every other open refused and recorded, so nothing a file says (external storage, external links, virtual
 * datasets, devices) can reach another path on the machine.
 */
import { randomBytes } from 'node:crypto';
import { TorchError } from '../errors';

/** The parts of emscripten's FS used here. */
interface EmFS {
  open(path: unknown, flags: unknown, mode?: unknown): unknown;
  writeFile(path: string, data: Uint8Array, opts?: { canOwn?: boolean }): void;
  mkdir(path: string): void;
  unlink(path: string): void;
  rmdir(path: string): void;
  ErrnoError: new (errno: number) => Error;
}

/** The h5wasm module object (ESM build), as far as this file and hdf5.ts use it. */
export interface H5Module {
  File: new (path: string, mode: string) => { file_id: bigint; close(): unknown };
  ready: Promise<{
    FS: EmFS;
    activate_throwing_error_handler(): number;
    deactivate_throwing_error_handler(): number;
    get_plugin_search_paths(): string[];
    remove_plugin_search_path(index: number): number;
  }>;
}

// h5wasm ships only as an ES module; a Function-made import() survives compilation to CommonJS.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<{ default: H5Module }>;

// emscripten's EACCES: what a refused open reports to HDF5.
const EACCES = 2;
// emscripten's O_CREAT (0o100) | O_EXCL (0o200), as in Linux.
const O_CREAT_EXCL = 0o300;

/** Paths the file tried to open besides itself, in order (reset for each file). */
let refused: string[] = [];
/** The one path the sandbox lets HDF5 open. */
let allowed: string | undefined;
let loading: Promise<{ h5: H5Module; fs: EmFS }> | undefined;

async function load(): Promise<{ h5: H5Module; fs: EmFS }> {
  // 'h5wasm' (not 'h5wasm/node'): the node build mounts the whole real file system through NODERAWFS.
  const h5 = (await importEsm('h5wasm')).default;
  const module = await h5.ready;
  const fs = module.FS;
  // No plugin folders: HDF5 would look there for filters and connectors a file names (loading code is never wanted).
  for (let n = module.get_plugin_search_paths().length; n > 0; n--) module.remove_plugin_search_path(0);
  if (module.get_plugin_search_paths().length) throw new TorchError('hdf5: could not clear the HDF5 plugin search paths', { code: 'ERR_HDF5_UNAVAILABLE' });
  const open = fs.open.bind(fs);
  // Every open HDF5 makes goes through FS.open: only the sandboxed file's own path gets through.
  fs.open = (path: unknown, flags: unknown, mode?: unknown) => {
    // O_CREAT|O_EXCL makes a new empty in-memory file (libc's tmpfile(), used to format HDF5's error stack): it can
    // reach no existing byte. Anything else must be the sandboxed file itself.
    const fresh = typeof flags === 'number' && (flags & O_CREAT_EXCL) === O_CREAT_EXCL;
    if (typeof path !== 'string' || (path !== allowed && !fresh)) {
      refused.push(typeof path === 'string' ? path : '(a file system node)');
      throw new fs.ErrnoError(EACCES);
    }
    return open(path, flags, mode);
  };
  return { h5, fs };
}

/** The sandboxed h5wasm, loaded once per thread. */
export async function sandboxedH5wasm(): Promise<{ h5: H5Module; fs: EmFS }> {
  loading ??= load();
  return loading.catch((e) => {
    loading = undefined;
    throw new TorchError(`hdf5: cannot load h5wasm (${(e as Error).message}); reinstall torchgraft's dependencies`, { code: 'ERR_HDF5_UNAVAILABLE', cause: e });
  });
}

/** The paths refused since the sandboxed file was placed (a file reaching elsewhere shows up here). */
export function refusedOpens(): readonly string[] {
  return refused;
}

/**
 * Puts `bytes` in the sandbox under an unguessable name and runs `fn` with that name; the file is removed after.
 * Only that name can be opened while `fn` runs.
 */
export async function withSandboxedFile<T>(bytes: Uint8Array, fn: (path: string) => T): Promise<T> {
  const { fs } = await sandboxedH5wasm();
  // A random folder: a file cannot name its own sandbox path to pass the open filter.
  const dir = `/tg-${randomBytes(12).toString('hex')}`;
  const file = `${dir}/model.h5`;
  refused = [];
  allowed = file;
  fs.mkdir(dir);
  try {
    fs.writeFile(file, bytes, { canOwn: true });
    return fn(file);
  } finally {
    allowed = undefined;
    try {
      fs.unlink(file);
      fs.rmdir(dir);
    } catch {
      // Nothing else uses the folder; a failed removal only keeps its memory until the thread ends.
    }
  }
}
