/** The reader registry: `tg.io.load` picks a reader by the file's content (magic bytes), then by its extension. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';

/** Bytes of a file's beginning handed to each reader's `sniff` (enough to reach a JSON manifest's second key). */
export const SNIFF_BYTES = 4096;

/** What a reader returns: the tensors in file order, plus the file's string metadata. */
export interface LoadedWeights {
  /** The reader that read the file, e.g. `'safetensors'`. */
  format: string;
  /** Tensor names in file order (a plain object puts integer-like keys first, so the order is kept here too). */
  names: string[];
  /** Name to tensor; insertion order is file order. The caller owns the tensors (dispose them). */
  tensors: Record<string, Tensor>;
  /** String metadata stored in the file (safetensors' `__metadata__`); empty when the format has none. */
  metadata: Record<string, string>;
  /**
   * Tensor names in the model's own layer order, when the file records one (Keras HDF5 `layer_names`, a TF.js
   * `modelTopology`); `names` keeps the stored order, which may be a name sort (TF.js manifests). Undefined otherwise.
   * The tensors object carries the same list (non-enumerable, see `layerOrderOf`) for `io.proposeMapping`.
   */
  layerOrder?: string[];
}

// A non-enumerable property on a loaded tensors object: Object.keys/entries and state dict walks do not see it.
const LAYER_ORDER = Symbol.for('torchgraft.io.layerOrder');

/** Records `order` (tensor names in the model's layer order) on a loaded tensors object, invisibly to key walks. */
export function withLayerOrder(tensors: Record<string, Tensor>, order: string[]): Record<string, Tensor> {
  Object.defineProperty(tensors, LAYER_ORDER, { value: [...order], enumerable: false, writable: false, configurable: true });
  return tensors;
}

/** The layer order a loader recorded on a tensors object (see `withLayerOrder`), or undefined. */
export function layerOrderOf(tensors: unknown): string[] | undefined {
  if (tensors === null || typeof tensors !== 'object') return undefined;
  const v = (tensors as Record<symbol, unknown>)[LAYER_ORDER];
  return Array.isArray(v) && v.every((n) => typeof n === 'string') ? [...v] : undefined;
}

/** A file format `tg.io.load` can read. */
export interface WeightReader {
  /** Short name used in messages and in `LoadedWeights.format`. */
  readonly format: string;
  /** Extensions, lower case with the dot, used only when no reader recognises the content. */
  readonly extensions: readonly string[];
  /**
   * Whether a file that starts with `head` (up to SNIFF_BYTES) and is `size` bytes long is in this format.
   * `file` is its path, for formats whose content alone is ambiguous (JSON manifests, sharded indexes).
   */
  sniff(head: Uint8Array, size: number, file: string): boolean;
  /** Reads the whole file. Throws TorchError naming the file and the problem for anything malformed. */
  read(file: string): Promise<LoadedWeights>;
}

const readers: WeightReader[] = [];

/**
 * Adds a reader (later formats register themselves here). A reader registered later is tried first, so a more
 * specific sniff can take precedence over a general one.
 * @throws TypeError when a reader with the same format name exists.
 */
export function registerReader(reader: WeightReader): void {
  if (readers.some((r) => r.format === reader.format)) throw new TypeError(`io: a reader for '${reader.format}' is already registered`);
  readers.unshift(reader);
}

/** The registered formats and their extensions, for messages and `inspect`. */
export function supportedFormats(): { format: string; extensions: string[] }[] {
  return readers.map((r) => ({ format: r.format, extensions: [...r.extensions] }));
}

async function readHead(file: string): Promise<{ head: Uint8Array; size: number }> {
  // O_NONBLOCK: a FIFO passed as a weight file must not hang the open; it is refused as not a regular file below.
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK).catch((e: NodeJS.ErrnoException) => {
    throw new TorchError(`io: cannot open '${file}': ${e.message}`, { code: 'ERR_IO', cause: e });
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new TorchError(`io: '${file}' is not a regular file`, { code: 'ERR_IO' });
    const head = Buffer.alloc(Math.min(SNIFF_BYTES, st.size));
    if (head.length) await fh.read(head, 0, head.length, 0);
    return { head, size: st.size };
  } finally {
    await fh.close();
  }
}

/**
 * The reader for a file: the first whose sniff accepts its first bytes, else the one owning its extension
 * (so a damaged file still gets its format's precise error), else undefined.
 */
export async function detectReader(file: string): Promise<WeightReader | undefined> {
  const { head, size } = await readHead(file);
  const bySniff = readers.find((r) => r.sniff(head, size, file));
  if (bySniff) return bySniff;
  const lower = path.basename(file).toLowerCase();
  return readers.find((r) => r.extensions.some((ext) => lower.endsWith(ext)));
}

/** Reads a file with the reader its content (or extension) selects; throws ERR_UNKNOWN_FORMAT listing the supported formats. */
export async function readWith(file: string): Promise<LoadedWeights> {
  if (typeof file !== 'string' || file === '') throw new TypeError('io.load(): path must be a non-empty string');
  const reader = await detectReader(file);
  if (!reader) {
    const list = supportedFormats()
      .map((f) => `${f.format} (${f.extensions.join(', ')})`)
      .join('; ');
    throw new TorchError(`io: '${file}' is in no format torchgraft reads (recognised by content: ${list})`, { code: 'ERR_UNKNOWN_FORMAT' });
  }
  return reader.read(file);
}

/** Builds a name->tensor object whose own keys are exactly the names (`__proto__` included), in the given order. */
export function recordOf(entries: [string, Tensor][]): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, t] of entries) Object.defineProperty(out, name, { value: t, enumerable: true, writable: true, configurable: true });
  return out;
}
