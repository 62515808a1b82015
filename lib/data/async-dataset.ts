/** Map-style datasets whose examples are read asynchronously (decoded from files), and the seeds of their randomness. */
import type { Collate, Batch } from './example';
import type { Dataset } from './dataset';
import { Generator } from './generator';

/** What a DataLoader tells an async dataset about the epoch it reads. */
export interface LoadBatchesOptions {
  batchSize: number;
  dropLast: boolean;
  collate?: Collate;
  /** The epoch being read: with `seed`, it fixes every example's random draws. */
  epoch: number;
  /** The loader's base seed. */
  seed: number;
  /** Worker threads that read and transform examples (0: the main thread, with I/O still off it). */
  workers: number;
  /** Batches each worker reads ahead. */
  prefetch: number;
  /** Where a dataset keeps its workers between epochs (DataLoader's persistentWorkers); undefined: end them with the epoch. */
  keep?: KeptWorkers;
}

/** Workers a dataset keeps from one epoch to the next; the DataLoader's close() ends them. */
export interface KeptWorkers {
  value?: { close(): Promise<void> };
}

/**
 * A dataset with random access whose examples take I/O to read (image files): `getItem` may throw, and a DataLoader's
 * `for await` asks `loadBatches` for an epoch's batches in the order it chose, read ahead by `workers` threads.
 */
export interface AsyncDataset extends Dataset {
  /** The batches of `order` (indices) in that order, each a new batch owned by the consumer. */
  loadBatches(order: number[], options: LoadBatchesOptions): AsyncGenerator<Batch>;
}

/** Whether a dataset reads its examples asynchronously (has loadBatches). */
export function isAsyncDataset(v: unknown): v is AsyncDataset {
  return v !== null && typeof v === 'object' && typeof (v as AsyncDataset).loadBatches === 'function';
}

/**
 * The seed of example `index` in `epoch` under base seed `seed`: what `tg.manualSeed` is given before its transform
 * runs, so that its random draws do not depend on which worker ran it, or on how many there are.
 */
export function seedOf(seed: number, epoch: number, index: number): number {
  return new Generator(seed, epoch, index).nextUint32();
}
