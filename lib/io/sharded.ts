/** Sharded safetensors checkpoints: a JSON index (`model.safetensors.index.json`) maps each tensor to the shard holding it. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';
import { LoadedWeights, WeightReader, recordOf } from './registry';
import { loadSafetensors } from './safetensors';

// Real indexes are a few hundred kilobytes even for the largest models; a bigger one is not an index.
const MAX_INDEX_BYTES = 64 << 20;

function fail(file: string, problem: string): never {
  throw new TorchError(`safetensors index: '${file}': ${problem}`, { code: 'ERR_SAFETENSORS_INDEX' });
}

/** A shard name must stay inside the index's folder: relative, no `..`, no NUL. */
function shardPath(index: string, shard: string): string {
  const parts = shard.split(/[\\/]/);
  if (shard === '' || shard.includes('\0') || path.isAbsolute(shard) || parts.includes('..'))
    fail(index, `shard name '${shard}' must be a file name relative to the index's folder`);
  return path.join(path.dirname(index), shard);
}

/** A sharded checkpoint's index, validated: tensor name -> shard file name in index order, and its metadata. */
export interface ShardIndex {
  mapping: [string, string][];
  metadata: Record<string, string>;
  /** Each shard once, in first-mention order: its name in the index and its path. */
  shards: { name: string; path: string }[];
}

/**
 * Reads and validates a sharded checkpoint's index (not its shards): a JSON object with a `weight_map` of string
 * shard names inside the index's folder, and optional `metadata` (non-strings as JSON text).
 * @throws TorchError `ERR_SAFETENSORS_INDEX` for a malformed index.
 */
export async function readShardIndex(file: string): Promise<ShardIndex> {
  const st = await fs.promises.stat(file);
  if (st.size > MAX_INDEX_BYTES) fail(file, `${st.size} bytes is too large for an index (limit ${MAX_INDEX_BYTES})`);
  let doc: unknown;
  try {
    doc = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (e) {
    fail(file, `not valid JSON (${(e as Error).message})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) fail(file, 'the index is not a JSON object');
  const { weight_map: weightMap, metadata: rawMeta } = doc as { weight_map?: unknown; metadata?: unknown };
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) fail(file, "'weight_map' is missing or not an object");
  const mapping = Object.entries(weightMap as Record<string, unknown>);
  for (const [name, shard] of mapping) if (typeof shard !== 'string') fail(file, `'weight_map' entry '${name}' is not a shard file name`);
  const metadata: Record<string, string> = {};
  if (rawMeta !== undefined && rawMeta !== null) {
    if (typeof rawMeta !== 'object' || Array.isArray(rawMeta)) fail(file, "'metadata' is not an object");
    for (const [k, v] of Object.entries(rawMeta as Record<string, unknown>))
      Object.defineProperty(metadata, k, { value: typeof v === 'string' ? v : JSON.stringify(v), enumerable: true, writable: true, configurable: true });
  }
  const names = [...new Set(mapping.map(([, s]) => s as string))];
  return { mapping: mapping as [string, string][], metadata, shards: names.map((name) => ({ name, path: shardPath(file, name) })) };
}

/**
 * Reads a sharded checkpoint: every shard the index names (each validated as a safetensors file), checked
 * against the index: each mapped tensor is in its shard, and no shard holds a tensor the index does not map to it.
 * Names come in the index's order; `metadata` is the index's `metadata` (non-strings as JSON text).
 * @throws TorchError `ERR_SAFETENSORS_INDEX` for a malformed index or a mismatch, plus the shards' own errors.
 */
export async function loadSharded(file: string): Promise<LoadedWeights> {
  const { mapping, metadata, shards } = await readShardIndex(file);
  const weightMap = Object.fromEntries(mapping) as Record<string, unknown>;
  const found = new Map<string, Tensor>();
  try {
    for (const { name: shard, path: shardFile } of shards) {
      const loaded = await loadSafetensors(shardFile);
      for (const name of loaded.names) {
        const t = loaded.tensors[name];
        const owner = (weightMap as Record<string, unknown>)[name];
        if (!Object.prototype.hasOwnProperty.call(weightMap, name) || owner !== shard || found.has(name)) {
          // Tensors of this shard not yet taken into `found` are disposed here; the catch below disposes the rest.
          for (const n of loaded.names) if (found.get(n) !== loaded.tensors[n]) loaded.tensors[n].dispose();
          fail(file, `shard '${shard}' holds tensor '${name}', which the index ${typeof owner === 'string' ? `maps to '${owner}'` : 'does not list'}`);
        }
        found.set(name, t);
      }
    }
    for (const [name, shard] of mapping) if (!found.has(name)) fail(file, `tensor '${name}' is mapped to shard '${shard}', which does not hold it`);
  } catch (e) {
    for (const t of found.values()) t.dispose();
    throw e;
  }
  const names = mapping.map(([n]) => n);
  return { format: 'safetensors-index', names, tensors: recordOf(names.map((n) => [n, found.get(n) as Tensor])), metadata };
}

function sniffIndex(head: Uint8Array, _size: number, file: string): boolean {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
  if (!/^\s*\{/.test(text)) return false;
  return file.toLowerCase().endsWith('.safetensors.index.json') || text.includes('"weight_map"');
}

/** The registry entry for sharded safetensors indexes. */
export const shardedSafetensorsReader: WeightReader = {
  format: 'safetensors-index',
  extensions: ['.index.json'],
  sniff: sniffIndex,
  read: loadSharded,
};
