/**
 * The legacy `torch.save` format (PyTorch < 1.6, or `_use_new_zipfile_serialization=False`): five pickles in a row
 * (magic number, protocol version, system info, the object, the storage keys) followed by each storage as an 8-byte
 * element count and its raw bytes. Read with the same restricted unpickler as the zip format.
 */
import * as fs from 'node:fs';
import { TorchError } from '../errors';
import { unpickleFrom, storageFromPid, StorageRef, PyDict, isTuple, ELEMENT_SIZE } from './pickle';

/** The magic number the legacy format pickles first. */
const LEGACY_MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

/** What a legacy file holds: the unpickled object and each storage's bytes (little-endian). */
export interface LegacyContent {
  root: unknown;
  storages: Map<string, Uint8Array>;
  /** Bytes of the object's pickle (the bound on what it may expand to). */
  pickleBytes: number;
}

/**
 * Reads a legacy torch.save file whole (its storages follow the pickles with no index to seek by).
 * @throws TorchError ERR_PYTORCH_LEGACY for a bad magic, version or storage layout, the unpickler's errors, ERR_IO.
 */
export async function readLegacy(file: string): Promise<LegacyContent> {
  const buf = await fs.promises.readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new TorchError(`io: cannot read '${file}': ${e.message}`, { code: 'ERR_IO', cause: e });
  });
  const source = `'${file}'`;
  const fail = (problem: string): never => {
    throw new TorchError(`io: ${source}: legacy torch.save format: ${problem}`, { code: 'ERR_PYTORCH_LEGACY' });
  };
  const noPid = (): never => fail('a persistent id outside the main pickle');
  let r = unpickleFrom(buf, 0, source, noPid);
  if (r.value !== LEGACY_MAGIC_NUMBER) fail('bad magic number');
  r = unpickleFrom(buf, r.end, source, noPid);
  if (r.value !== LEGACY_PROTOCOL_VERSION) fail(`protocol version ${String(r.value)} (expected ${LEGACY_PROTOCOL_VERSION})`);
  r = unpickleFrom(buf, r.end, source, noPid);
  const little = r.value instanceof PyDict ? r.value.map.get('little_endian') : undefined;
  if (typeof little !== 'boolean') fail('system info without little_endian');
  const refs = new Map<string, StorageRef>();
  const objectStart = r.end;
  r = unpickleFrom(buf, r.end, source, (pid, at) => {
    // The sixth field described views of storages in PyTorch < 0.4; those files are refused.
    if (isTuple(pid) && pid.length > 5 && pid[5] !== null) fail('storage views (PyTorch < 0.4) are not supported');
    const s = storageFromPid(pid, source, at);
    const prev = refs.get(s.key);
    if (prev && prev.nbytes !== s.nbytes) fail(`storage '${s.key}' is declared with two sizes`);
    refs.set(s.key, prev ?? s);
    return s;
  });
  const root = r.value;
  const pickleBytes = r.end - objectStart;
  r = unpickleFrom(buf, r.end, source, noPid);
  const keys = r.value;
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) fail('the storage key list is not a list of strings');
  let pos = r.end;
  const storages = new Map<string, Uint8Array>();
  for (const key of keys as string[]) {
    const s = refs.get(key) ?? fail(`storage '${key}' is listed but never used`);
    if (pos + 8 > buf.length) fail(`storage '${key}' is truncated`);
    const n = little ? buf.readBigInt64LE(pos) : buf.readBigInt64BE(pos);
    if (n !== BigInt(s.numel)) fail(`storage '${key}' holds ${n} elements, the pickle says ${s.numel}`);
    pos += 8;
    if (pos + s.nbytes > buf.length) fail(`storage '${key}' needs ${s.nbytes} bytes, ${buf.length - pos} are left`);
    const bytes = Buffer.from(buf.subarray(pos, pos + s.nbytes));
    const size = ELEMENT_SIZE[s.dtype];
    if (!little && size > 1) {
      if (size === 2) bytes.swap16();
      else if (size === 4) bytes.swap32();
      else bytes.swap64();
    }
    storages.set(key, bytes);
    pos += s.nbytes;
  }
  for (const key of refs.keys()) if (!storages.has(key)) fail(`storage '${key}' is used but not stored`);
  if (pos !== buf.length) fail(`${buf.length - pos} bytes after the last storage`);
  return { root, storages, pickleBytes };
}
