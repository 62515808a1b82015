/** safetensors: the native reader and atomic writer, and the reader registered for `tg.io.load`. */
import { binding } from '../native';
import { TorchError } from '../errors';
import { isTensor, Tensor } from '../tensor';
import { LoadedWeights, WeightReader, recordOf } from './registry';
import { atomicWrite } from './atomic';

/** One tensor as a safetensors header describes it (dtype as the file names it: F32, BF16, I64, ...). */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range inside the data buffer. */
  begin: number;
  end: number;
}

/** The validated header of a safetensors file, without its data. */
export interface SafetensorsHeader {
  /** In file order (by data offset). */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
  headerBytes: number;
  fileBytes: number;
}

/** Anything `save` accepts as a state dict: a plain object, a Map, or an array of [name, tensor] pairs. */
export type StateDictLike = Record<string, Tensor> | Map<string, Tensor> | Iterable<[string, Tensor]>;

/** Turns a state-dict-like value into [name, tensor] pairs, checking each value on the JS thread. */
export function stateDictEntries(sd: StateDictLike, fn: string): [string, Tensor][] {
  if (sd === null || typeof sd !== 'object') throw new TypeError(`${fn}: expected a state dict (object, Map or [name, tensor] pairs)`);
  let pairs: [string, Tensor][];
  if (sd instanceof Map) pairs = [...sd.entries()];
  else if (Symbol.iterator in sd) pairs = [...(sd as Iterable<[string, Tensor]>)];
  else pairs = Object.entries(sd as Record<string, Tensor>);
  for (const p of pairs) {
    if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'string')
      throw new TypeError(`${fn}: every entry must be a [name, tensor] pair with a string name`);
    if (!isTensor(p[1])) throw new TypeError(`${fn}: '${p[0]}' is not a tensor`);
    if (p[1].isDisposed) throw new TorchError(`${fn}: tensor '${p[0]}' was disposed`, { code: 'ERR_TENSOR_DISPOSED' });
  }
  return pairs;
}

function metadataPairs(metadata: unknown, fn: string): [string, string][] {
  if (metadata === undefined || metadata === null) return [];
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw new TypeError(`${fn}: metadata must be an object of strings`);
  const pairs = metadata instanceof Map ? [...metadata.entries()] : Object.entries(metadata as Record<string, unknown>);
  for (const [k, v] of pairs) {
    if (typeof k !== 'string' || typeof v !== 'string') throw new TypeError(`${fn}: metadata '${String(k)}' must be a string, got ${typeof v}`);
  }
  return pairs as [string, string][];
}

/**
 * Writes tensors to a safetensors file atomically (`atomicWrite`): a temporary file beside the real target, fsync,
 * rename over it, fsync of the folder; a symbolic link is written through and the replaced file's mode kept.
 * A failure (or a killed process) leaves any previous `file` intact.
 * Runs off the JavaScript thread; the tensors may be disposed as soon as this returns.
 * @param stateDict name -> tensor (object, Map or pairs); any device, any layout (written contiguous, on CPU).
 * @param file destination path.
 * @param metadata string -> string, stored as the header's `__metadata__`.
 * @throws TypeError for a value that is not a tensor or a metadata value that is not a string;
 *   TorchError `ERR_SAFETENSORS_ENTRY` for a duplicate or reserved name or a dtype the format cannot hold,
 *   `ERR_IO` when the system refuses to write.
 */
export async function saveSafetensors(stateDict: StateDictLike, file: string, metadata?: Record<string, string>): Promise<void> {
  const entries = stateDictEntries(stateDict, 'io.save()');
  const md = metadataPairs(metadata, 'io.save()');
  await atomicWrite(file, (tmp) => binding.safetensorsSave(entries, tmp, md));
}

/**
 * Reads a safetensors file after validating its header against the format's rules and the file's size.
 * @returns the tensors in file order and the `__metadata__` strings.
 * @throws TorchError with code ERR_SAFETENSORS_TRUNCATED, _HEADER, _DTYPE, _OFFSETS, _DATA or ERR_IO, naming the file.
 */
export async function loadSafetensors(file: string): Promise<LoadedWeights> {
  const raw: { tensors: [string, Tensor][]; metadata: Record<string, string> } = await binding.safetensorsLoad(file);
  return { format: 'safetensors', names: raw.tensors.map((e) => e[0]), tensors: recordOf(raw.tensors), metadata: raw.metadata };
}

/**
 * Reads and validates only the header of a safetensors file: names, dtypes, shapes, offsets and metadata.
 * @throws the same errors as loading it.
 */
export async function inspectSafetensors(file: string): Promise<SafetensorsHeader> {
  return binding.safetensorsInspect(file);
}

/** Plausible safetensors start: an 8-byte little-endian header length that fits in the file, then '{'. */
function sniffSafetensors(head: Uint8Array, size: number): boolean {
  if (head.length < 9 || size < 10) return false;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const n = view.getBigUint64(0, true);
  return n >= 2n && n <= BigInt(size - 8) && head[8] === 0x7b;
}

/** The registry entry for safetensors. */
export const safetensorsReader: WeightReader = {
  format: 'safetensors',
  extensions: ['.safetensors'],
  sniff: sniffSafetensors,
  read: loadSafetensors,
};
