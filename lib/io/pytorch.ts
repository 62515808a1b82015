/**
 * PyTorch `torch.save` files, the zip format of PyTorch 1.6 and later and the legacy pickled format: the pickle is
 * read by a restricted unpickler (an allowlist, never executing anything), tensors are rebuilt on the CPU from their
 * storage records whatever device the file names, and the result is flattened to a dotted-name state dict with the
 * common wrappers unwrapped.
 */
import * as fs from 'node:fs';
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';
import { LoadedWeights, WeightReader, recordOf } from './registry';
import { openZip, firstEntryName, ZipArchive } from './zip';
import { readLegacy } from './pytorch-legacy';
import { unpickle, storageFromPid, StorageRef, TensorRef, PyDict, PySet, PyGlobal, PyDevice, NpDType, ELEMENT_SIZE, describe } from './pickle';
import { PickleGraph, MAX_DEPTH } from './pickle-graph';
import { StorageViews, MAX_EXPANDED_BYTES } from './storage-views';

/** Options of `loadPytorch`. */
export interface PytorchLoadOptions {
  /**
   * Unwrap `{state_dict: ...}`, `{model: ...}`, `{model_state_dict: ...}` and strip a `module.` prefix that every
   * name shares (DataParallel). Default true. With false, every tensor of the file is returned under its full path.
   */
  unwrap?: boolean;
}

/** Wrapper keys of training scripts' checkpoints, in the order they are tried. */
const WRAPPER_KEYS = ['state_dict', 'model_state_dict', 'model'];
/** Leading bytes of the legacy (PyTorch < 1.6, or `_use_new_zipfile_serialization=False`) format: its pickled magic number. */
const LEGACY_MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
/** Names, metadata values and string bytes a pickle may expand to, per byte of pickle (plus a floor for small files). */
const EXPANSION_PER_BYTE = 8;
const EXPANSION_FLOOR = 2 ** 24;

function fail(file: string, problem: string, code: string): never {
  throw new TorchError(`io: '${file}': ${problem}`, { code });
}

/**
 * The folder prefix (`archive/`) of the one `<folder>/data.pkl` of a torch.save or TorchScript archive, or what is
 * wrong (for the caller's own error).
 * @param what names the kind of file expected, for the problem when there is no data.pkl.
 */
export function dataPklPrefix(zip: ZipArchive, what: string): { prefix: string } | { problem: string } {
  const pkls = zip.entries.filter((e) => /^[^/]+\/data\.pkl$/.test(e.name));
  if (pkls.length !== 1) return { problem: pkls.length ? 'holds more than one data.pkl' : `is a zip archive without a <folder>/data.pkl: not ${what}` };
  return { prefix: pkls[0].name.slice(0, -'data.pkl'.length) };
}

/** The prefix of the archive's data.pkl (any top-level folder name), refusing TorchScript archives. */
function findPickle(zip: ZipArchive): string {
  const found = dataPklPrefix(zip, 'a torch.save file');
  if ('problem' in found) fail(zip.file, found.problem, 'ERR_PYTORCH_FORMAT');
  const { prefix } = found as { prefix: string };
  if (zip.get(`${prefix}constants.pkl`) || zip.entries.some((e) => e.name.startsWith(`${prefix}code/`)))
    fail(zip.file, 'is a TorchScript archive (torch.jit.save): load it with tg.io.loadTorchScript()', 'ERR_PYTORCH_TORCHSCRIPT');
  return prefix;
}

/** The byte order a torch.save or TorchScript archive declares (little when it has no `byteorder` record). */
export async function byteOrder(zip: ZipArchive, prefix: string): Promise<'little' | 'big'> {
  const e = zip.get(`${prefix}byteorder`);
  if (!e) return 'little'; // written from PyTorch 2.x on; older files are little-endian
  const v = (await zip.read(e, 16)).toString('latin1');
  if (v !== 'little' && v !== 'big') fail(zip.file, `byteorder record says '${v.slice(0, 16)}'`, 'ERR_PYTORCH_FORMAT');
  return v as 'little' | 'big';
}

/** Reads a storage record, checks its size against the pickle's and swaps the bytes of big-endian files. */
export async function storageBytes(zip: ZipArchive, prefix: string, s: StorageRef, order: 'little' | 'big'): Promise<Uint8Array> {
  const e = zip.get(`${prefix}data/${s.key}`);
  if (!e) fail(zip.file, `storage record 'data/${s.key}' is missing`, 'ERR_PYTORCH_STORAGE');
  if (e.uncompressedSize !== s.nbytes)
    fail(zip.file, `storage record 'data/${s.key}' holds ${e.uncompressedSize} bytes, the pickle says ${s.numel} elements (${s.nbytes} bytes)`, 'ERR_PYTORCH_STORAGE');
  const bytes = await zip.read(e, s.nbytes);
  const size = ELEMENT_SIZE[s.dtype];
  if (order === 'big' && size > 1) {
    if (size === 2) bytes.swap16();
    else if (size === 4) bytes.swap32();
    else bytes.swap64();
  }
  return bytes;
}

/** A plain JSON value for metadata; bytes as base64, big integers as decimal strings, globals by name. */
function toJson(v: unknown, file: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) fail(file, `a value nests deeper than ${MAX_DEPTH} levels (or refers to itself)`, 'ERR_PICKLE_LIMIT');
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Uint8Array) return { bytes: Buffer.from(v).toString('base64') };
  if (v instanceof PyGlobal) return v.qualified;
  if (v instanceof PyDevice) return v.name;
  if (v instanceof NpDType) return v.code;
  if (v instanceof PySet) return v.items.map((x) => toJson(x, file, depth + 1));
  if (Array.isArray(v)) return v.map((x) => toJson(x, file, depth + 1));
  if (v instanceof PyDict) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v.map) Object.defineProperty(o, keyName(k), { value: toJson(x, file, depth + 1), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return describe(v);
}

function keyName(k: unknown): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint' || typeof k === 'boolean' || k === null) return String(k);
  return JSON.stringify(toJson(k, '', 0));
}

/** Flattens containers to dotted names: tensors to `out`, other leaves (as JSON) to `meta`. */
function flatten(g: PickleGraph, v: unknown, path: string, out: [string, TensorRef][], meta: [string, string][], depth = 0): void {
  if (depth > MAX_DEPTH) fail(g.file, `containers nest deeper than ${MAX_DEPTH} levels (or refer to themselves)`, 'ERR_PICKLE_LIMIT');
  const join = (k: string): string => (path ? `${path}.${k}` : k);
  if (v instanceof TensorRef) out.push([path || 'tensor', v]);
  else if (v instanceof PyDict && g.holdsTensor(v)) for (const [k, x] of v.map) flatten(g, x, join(keyName(k)), out, meta, depth + 1);
  else if (Array.isArray(v) && g.holdsTensor(v)) v.forEach((x, i) => flatten(g, x, join(String(i)), out, meta, depth + 1));
  else meta.push([path || 'value', JSON.stringify(toJson(v, g.file))]);
}

/** Picks the state dict inside the common wrappers; returns it and the keys walked through. */
function unwrapState(g: PickleGraph, root: unknown): { inner: unknown; path: string[] } {
  const path: string[] = [];
  let cur = root;
  while (cur instanceof PyDict && ![...cur.map.values()].some((x) => x instanceof TensorRef)) {
    const key = WRAPPER_KEYS.find((k) => cur instanceof PyDict && cur.map.get(k) instanceof PyDict && g.holdsTensor(cur.map.get(k)));
    if (!key) break;
    path.push(key);
    cur = (cur as PyDict).map.get(key);
    if (path.length > 4) break;
  }
  return { inner: cur, path };
}

/**
 * Reads a `torch.save` zip archive into a flat state dict on the CPU.
 * @param file path to a .pt/.pth/.bin/.ckpt file: the zip format (PyTorch 1.6 and later) or the legacy pickled format
 *   (`_use_new_zipfile_serialization=False`), saved from any device, in either byte order.
 * @param options `unwrap` (default true): see PytorchLoadOptions.
 * @returns tensors by dotted name in file order; metadata holds the non-tensor leaves (epochs, numbers, strings) as
 *   JSON strings under their dotted names, and `torchgraft.unwrapped` (the wrapper keys walked through),
 *   `torchgraft.strippedPrefix` (`module.`) and `torchgraft.ignored` (JSON list of the tensors outside the
 *   unwrapped state dict, such as optimizer state) when they apply.
 * @throws TorchError naming the file and the problem: ERR_PICKLE_FORBIDDEN for any global outside the allowlist
 *   (never executed), ERR_PICKLE_CORRUPT / ERR_PICKLE_LIMIT, ERR_ZIP_*, ERR_PYTORCH_LEGACY for a malformed legacy file
 *   or the tar format of PyTorch < 0.4,
 *   ERR_PYTORCH_TORCHSCRIPT, ERR_PYTORCH_STORAGE / ERR_PYTORCH_TENSOR for sizes that do not match, ERR_IO.
 */
export async function loadPytorch(file: string, options: PytorchLoadOptions = {}): Promise<LoadedWeights> {
  if ((await legacyKind(file)) === 'pickle') {
    const { root, storages, pickleBytes } = await readLegacy(file);
    return build(file, root, pickleBytes, async (s) => storages.get(s.key) ?? fail(file, `storage '${s.key}' is missing`, 'ERR_PYTORCH_STORAGE'), options);
  }
  const zip = await openZip(file);
  try {
    const prefix = findPickle(zip);
    const order = await byteOrder(zip, prefix);
    const pklEntry = zip.get(`${prefix}data.pkl`)!;
    const pkl = await zip.read(pklEntry, Math.min(zip.size * 1100, 2 ** 31));
    const source = `'${file}' (${pklEntry.name})`;
    const root = unpickle(pkl, source, (pid, at) => storageFromPid(pid, source, at));
    return await build(file, root, pkl.length, (s) => storageBytes(zip, prefix, s, order), options);
  } finally {
    await zip.close();
  }
}

/** Tensor views of storages, bounded by the storages read so far plus a fixed allowance for repeated elements. */
export function boundedViews(file: string): StorageViews {
  const views: StorageViews = new StorageViews(file, () => MAX_EXPANDED_BYTES + views.storedBytes);
  return views;
}

/**
 * Builds the named tensor refs as views of their storages, reading each record once and dropping its raw bytes after
 * the last tensor that views it. Every tensor made is also pushed to `made`, so that a caller can dispose of them.
 * @throws TorchError ERR_PYTORCH_NAMES when two refs share a name.
 */
export async function tensorsOfRefs(
  file: string,
  refs: [string, TensorRef][],
  bytesOf: (s: StorageRef) => Promise<Uint8Array>,
  views: StorageViews,
  made: Tensor[],
): Promise<[string, Tensor][]> {
  const seen = new Set<string>();
  for (const [n] of refs) {
    if (seen.has(n)) fail(file, `two tensors flatten to the name '${n}'`, 'ERR_PYTORCH_NAMES');
    seen.add(n);
  }
  const lastUse = new Map<string, number>();
  refs.forEach(([, ref], i) => lastUse.set(ref.storage.key, i));
  const out: [string, Tensor][] = [];
  for (let i = 0; i < refs.length; i++) {
    const [name, ref] = refs[i];
    if (!views.has(ref.storage.key)) views.addStorage(ref.storage, await bytesOf(ref.storage));
    const t = views.view(name, ref);
    made.push(t);
    out.push([name, t]);
    if (lastUse.get(ref.storage.key) === i) views.dropBytes(ref.storage.key);
  }
  return out;
}

/**
 * Flattens and unwraps an unpickled object, then builds its tensors as views of their storages. The object graph is
 * checked first (cycles, depth, expanded size within a multiple of the pickle's bytes), so every later walk is linear.
 */
async function build(file: string, root: unknown, pickleBytes: number, bytesOf: (s: StorageRef) => Promise<Uint8Array>, options: PytorchLoadOptions): Promise<LoadedWeights> {
  const made: Tensor[] = [];
  const g = new PickleGraph(file, EXPANSION_PER_BYTE * pickleBytes + EXPANSION_FLOOR);
  const views = boundedViews(file);
  try {
    g.check(root);
    const metaPairs: [string, string][] = [];
    let body = root;
    if (options.unwrap !== false) {
      const { inner, path } = unwrapState(g, root);
      if (path.length) {
        body = inner;
        metaPairs.push(['torchgraft.unwrapped', path.join('.')]);
        // The rest of the wrapper: its non-tensor leaves become metadata, its tensors are listed as ignored.
        const restTensors: [string, TensorRef][] = [];
        let holder = root as PyDict;
        for (let i = 0; i < path.length; i++) {
          const at = path.slice(0, i).join('.');
          for (const [k, x] of holder.map) if (k !== path[i]) flatten(g, x, at ? `${at}.${keyName(k)}` : keyName(k), restTensors, metaPairs);
          holder = holder.map.get(path[i]) as PyDict;
        }
        if (restTensors.length) metaPairs.push(['torchgraft.ignored', JSON.stringify(restTensors.map((e) => e[0]))]);
      }
    }
    const refs: [string, TensorRef][] = [];
    // A top-level dict is a state dict even without tensors: each entry gets its own name.
    if (body instanceof PyDict) for (const [k, x] of body.map) flatten(g, x, keyName(k), refs, metaPairs);
    else flatten(g, body, '', refs, metaPairs);
    if (options.unwrap !== false && refs.length && refs.every(([n]) => n.startsWith('module.'))) {
      for (const r of refs) r[0] = r[0].slice('module.'.length);
      metaPairs.push(['torchgraft.strippedPrefix', 'module.']);
    }
    const out = await tensorsOfRefs(file, refs, bytesOf, views, made);
    const metadata: Record<string, string> = {};
    for (const [k, v] of metaPairs) Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
    return { format: 'pytorch', names: out.map((e) => e[0]), tensors: recordOf(out), metadata };
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  } finally {
    views.dispose();
  }
}

/** 'pickle' for the legacy pickled format, 'tar' for the pre-0.4 tar format (refused with the fix), else undefined. */
async function legacyKind(file: string): Promise<'pickle' | 'tar' | undefined> {
  const fh = await fs.promises.open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    throw new TorchError(`io: cannot open '${file}': ${e.message}`, { code: 'ERR_IO', cause: e });
  });
  try {
    const head = Buffer.alloc(LEGACY_MAGIC.length);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead === head.length && head.equals(LEGACY_MAGIC)) return 'pickle';
    const b = Buffer.alloc(5);
    const r = await fh.read(b, 0, 5, 257);
    if (r.bytesRead === 5 && b.toString('latin1') === 'ustar')
      fail(
        file,
        "is in the tar torch.save format of PyTorch < 0.4, which is not supported: re-save it in Python with torch.save(torch.load(f, map_location='cpu'), f_new)",
        'ERR_PYTORCH_LEGACY',
      );
    return undefined;
  } finally {
    await fh.close();
  }
}

/** torch.save zip archives: the first entry is `<folder>/data.pkl`; the legacy pickle magic is claimed too, to refuse it clearly. */
function sniffPytorch(head: Uint8Array): boolean {
  const first = firstEntryName(head);
  if (first !== undefined) return /^[^/]+\/data\.pkl$/.test(first);
  return head.length >= LEGACY_MAGIC.length && Buffer.from(head.buffer, head.byteOffset, LEGACY_MAGIC.length).equals(LEGACY_MAGIC);
}

/** The registry entry for PyTorch files. */
export const pytorchReader: WeightReader = {
  format: 'pytorch',
  extensions: ['.pt', '.pth', '.bin', '.ckpt'],
  sniff: sniffPytorch,
  read: (file) => loadPytorch(file),
};
