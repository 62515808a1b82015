/** cacheFeatures' options, checked and with their defaults. */
import type { DType } from '../../dtype';
import type { ProgressStream, Verbosity } from '../../train/progress';
import { isInitialized } from '../../distributed/process-group';
import { TorchError } from '../../errors';
import type { AbortSignalLike } from '../../portable-types';
import { checkKnownKeys } from '../../known-keys';
import { checkSignal } from '../../train/abort';

/** Where the features are kept. */
export type CacheStore = 'memory' | 'device' | 'disk';

/** Options of `tg.transfer.cacheFeatures`. */
export interface CacheFeaturesOptions {
  /**
   * The topmost cached layer: a layer path, dotted inside nested Sequentials (`'features.15'`), or a position in
   * that flattened chain. Default: the last frozen layer with weights below the first trainable one, with the
   * deterministic parameter-free layers after it (pooling, flatten) but never a dropout, which trains with the head.
   */
  upTo?: string | number;
  /** 'memory' (host tensors, default), 'device' (tensors on `device`, next to the head) or 'disk' (a file in `dir`). */
  store?: CacheStore;
  /** The disk cache's directory (required with store 'disk'); the file is `<dir>/<name>`. */
  dir?: string;
  /** The disk cache's file name (default 'features.tgcache'). */
  name?: string;
  /** The features' stored dtype: float16 or bfloat16 halve the space; batches are cast back to the head's dtype. */
  dtype?: DType;
  /** Examples per batch while building (default 32: on a conv net larger batches were slower, their activations falling out of cache). */
  batchSize?: number;
  /** Where the frozen part runs and a 'device' store lives (default: the device of its first parameter, else cpu). */
  device?: string;
  /** On a changed model or dataset: 'error' (default, a TorchError naming what changed) or 'rebuild'. */
  onStale?: 'error' | 'rebuild';
  /** Cache a frozen part with randomness (dropout, batch statistics, an augmenting dataset) anyway. */
  allowRandom?: boolean;
  /** 0 silent; 1 (default) a bar on a terminal; 2 one line when done. */
  verbose?: Verbosity;
  /** Where progress goes (default process.stderr). */
  output?: ProgressStream;
  /**
   * Build across the ranks of tg.distributed's default group (init first): in memory, each rank runs the frozen part
   * over its own contiguous 1/world of the dataset and the ranks all-gather the features, so every rank holds the
   * whole cache for fit({ distributed: true, cache }) to shard per epoch; on disk, rank 0 reuses or builds the file
   * while the other ranks of the machine wait, then they open the same file.
   */
  distributed?: boolean;
  /**
   * Disk store: rows per block (default 256, rounded up to a multiple of batchSize; must be a multiple of batchSize).
   * A block is the unit of checksums, of a resumed build, and of shuffled reads.
   */
  blockRows?: number;
  /**
   * Disk store: how a shuffled epoch orders the rows. 'blocks' (default) shuffles the order of the blocks, then the
   * rows within a window of `bufferBlocks` blocks, so every block is read once per epoch at near sequential speed (a
   * row's neighbours in a batch are not independent: they come from the same few blocks). 'rows' is a uniform random
   * permutation, read row by row (much slower on a cache larger than memory).
   */
  shuffle?: 'blocks' | 'rows';
  /** Disk store, shuffle 'blocks': blocks whose rows are mixed together (default 16); more mixes better and holds more memory. */
  bufferBlocks?: number;
  /** Disk store: batches read ahead of training, off the JavaScript thread (default 2). */
  prefetch?: number;
  /** Cancels the build: it stops after the current batch and rejects with an AbortError; a disk build resumes from its last whole block next time. */
  signal?: AbortSignalLike;
  /**
   * Where the frozen part's forward passes run while building: 'native' traces it (tg.jit) and runs the passes on a
   * worker thread, leaving the event loop free; 'js' runs them from JavaScript between event-loop turns; 'auto'
   * (default) is 'native' when the frozen part traces, else 'js'.
   */
  engine?: 'native' | 'js' | 'auto';
}

// Stryker disable BooleanLiteral: only the keys are read (Object.keys); the values exist for the compile-time check
const KEYS: Record<keyof CacheFeaturesOptions, true> = {
  upTo: true, store: true, dir: true, name: true, dtype: true, batchSize: true, device: true, onStale: true, allowRandom: true, verbose: true,
  output: true, distributed: true, blockRows: true, shuffle: true, bufferBlocks: true, prefetch: true, signal: true, engine: true,
};
// Stryker restore BooleanLiteral

const FLOATS: DType[] = ['float32', 'float64', 'float16', 'bfloat16'];

/** Throws a TypeError or RangeError naming the first bad option. */
export function checkCacheOptions(o: CacheFeaturesOptions): void {
  const fn = 'cacheFeatures';
  if (o === null || typeof o !== 'object') throw new TypeError(`${fn}: options must be an object`);
  checkKnownKeys(o, Object.keys(KEYS), fn);
  if (o.store !== undefined && !['memory', 'device', 'disk'].includes(o.store))
    throw new TypeError(`${fn}: store must be 'memory', 'device' or 'disk', got ${String(o.store)}`);
  if (o.store === 'disk' && (typeof o.dir !== 'string' || o.dir === '')) throw new TypeError(`${fn}: store 'disk' needs dir (a directory for the cache file)`);
  if (o.dtype !== undefined && !FLOATS.includes(o.dtype)) throw new TypeError(`${fn}: dtype must be one of ${FLOATS.join(', ')}, got ${String(o.dtype)}`);
  if (o.distributed !== undefined && typeof o.distributed !== 'boolean') throw new TypeError(`${fn}: distributed must be a boolean, got ${String(o.distributed)}`);
  if (o.distributed && !isInitialized()) throw new TorchError(`${fn}: distributed needs tg.distributed.init() first`, { code: 'ERR_DISTRIBUTED' });
  if (o.batchSize !== undefined && (!Number.isInteger(o.batchSize) || o.batchSize < 1))
    throw new RangeError(`${fn}: batchSize must be an integer >= 1, got ${String(o.batchSize)}`);
  if (o.onStale !== undefined && o.onStale !== 'error' && o.onStale !== 'rebuild')
    throw new TypeError(`${fn}: onStale must be 'error' or 'rebuild', got ${String(o.onStale)}`);
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '' || /[\\/]/.test(o.name)))
    throw new TypeError(`${fn}: name must be a plain file name`);
  const positive = (k: 'blockRows' | 'bufferBlocks' | 'prefetch'): void => {
    const v = o[k];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) throw new RangeError(`${fn}: ${k} must be an integer >= 1, got ${String(v)}`);
  };
  positive('blockRows');
  positive('bufferBlocks');
  positive('prefetch');
  if (o.blockRows !== undefined && o.blockRows % (o.batchSize ?? 32) !== 0)
    throw new RangeError(`${fn}: blockRows (${o.blockRows}) must be a multiple of batchSize (${o.batchSize ?? 32}), so that blocks are built from whole batches`);
  if (o.shuffle !== undefined && o.shuffle !== 'blocks' && o.shuffle !== 'rows') throw new TypeError(`${fn}: shuffle must be 'blocks' or 'rows', got ${String(o.shuffle)}`);
  if (o.engine !== undefined && !['native', 'js', 'auto'].includes(o.engine)) throw new TypeError(`${fn}: engine must be 'native', 'js' or 'auto', got ${String(o.engine)}`);
  checkSignal(o.signal, fn);
}
