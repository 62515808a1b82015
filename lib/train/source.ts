/** Normalises what fit, evaluate and predict accept as data into one shape: a per-epoch stream of batches. */
import { DataLoader } from '../data/loader';
import { isDataset, Dataset } from '../data/dataset';
import { isIterableDataset, IterableDataset } from '../data/iterable-dataset';
import { TensorDataset, describe } from '../data/tensor-dataset';
import type { Batch } from '../data/example';
import { isTensor, Tensor } from '../tensor';

/**
 * Training or evaluation data: a DataLoader; a Dataset or IterableDataset (batched with the call's batchSize,
 * shuffled for training); tensors `[x, y]`; or batches you made: an array or (async) iterable of `[x, y]`,
 * or a function (epoch) => such an iterable. fit disposes the batches that a loader or dataset makes, never
 * the ones you supply.
 */
export type DataSource =
  | DataLoader
  | Dataset
  | IterableDataset
  | Tensor[]
  | Iterable<Batch>
  | AsyncIterable<Batch>
  | ((epoch: number) => Iterable<Batch> | AsyncIterable<Batch>);

/** A stream of batches per epoch, with what is known about it. */
export interface BatchSource {
  /** Batches per epoch, when known. */
  length?: number;
  /** Whether batches are new tensors the consumer disposes. */
  owned: boolean;
  /** The batches of one epoch. */
  epoch(epoch: number): AsyncIterable<Batch> | Iterable<Batch>;
  /** The DataLoader behind it, when there is one (fit's native engine reads its dataset and order). */
  loader?: DataLoader;
}

/** How datasets given directly are batched. */
export interface SourceOptions {
  batchSize: number;
  shuffle: boolean;
  seed?: number;
}

/** Turns a DataSource into a BatchSource, or throws naming what was expected. */
export function toSource(data: unknown, o: SourceOptions, where: string): BatchSource {
  if (data instanceof DataLoader) return { length: data.length, owned: true, epoch: () => data, loader: data };
  if (isDataset(data) || isIterableDataset(data)) {
    const loader = new DataLoader(data, { batchSize: o.batchSize, shuffle: o.shuffle && isDataset(data), seed: o.seed });
    return toSource(loader, o, where);
  }
  if (Array.isArray(data) && data.length > 0 && data.every((t) => isTensor(t)))
    return toSource(new TensorDataset(...(data as Tensor[])), o, where);
  if (typeof data === 'function') return { owned: false, epoch: (e) => check((data as (e: number) => unknown)(e), where) };
  if (Array.isArray(data)) {
    if (data.length === 0) throw new TypeError(`${where}: data is an empty array`);
    return { length: data.length, owned: false, epoch: () => data as Batch[] };
  }
  if (data !== null && typeof data === 'object' && (Symbol.asyncIterator in data || Symbol.iterator in data)) {
    const it = data as Iterable<Batch> | AsyncIterable<Batch>;
    return { owned: false, epoch: () => it };
  }
  throw new TypeError(
    `${where}: data must be a DataLoader, a dataset, tensors [x, y], or an iterable of [x, y] batches; got ${describe(data)}`,
  );
}

function check(v: unknown, where: string): Iterable<Batch> | AsyncIterable<Batch> {
  if (v !== null && typeof v === 'object' && (Symbol.asyncIterator in v || Symbol.iterator in v)) return v as Iterable<Batch>;
  throw new TypeError(`${where}: the data function must return an iterable of batches, got ${describe(v)}`);
}

/** Lets timers and I/O run: resolves on the next turn of the event loop, after pending callbacks. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** How long a training loop may hold the event loop between turns. */
export const YIELD_EVERY_MS = 4;

/**
 * Yields to the event loop once at least `everyMs` passed since the last turn, else not at all: a turn per small batch
 * cost more than the batch (a poll of the I/O queue each), while timers still run within a few milliseconds.
 */
export function eventLoopYielder(everyMs = YIELD_EVERY_MS): () => Promise<void> | undefined {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < everyMs) return undefined;
    return yieldToEventLoop().then(() => {
      last = performance.now();
    });
  };
}

/** The batch's fields moved to `device` (when given); release() disposes what this call and an owning source made. */
export function prepareBatch(raw: unknown, owned: boolean, device: string | undefined, where: string): { fields: Tensor[]; release(): void } {
  const fields: unknown[] = isTensor(raw) ? [raw] : Array.isArray(raw) ? raw : [];
  if (fields.length === 0 || !fields.every((t) => isTensor(t)))
    throw new TypeError(`${where}: each batch must be an array of tensors such as [x, y], got ${describe(raw)}`);
  const src = fields as Tensor[];
  const moved = device ? src.map((t) => t.to(device)) : src;
  return {
    fields: moved,
    release() {
      moved.forEach((t, i) => {
        if (t !== src[i]) t.dispose();
      });
      if (owned) src.forEach((t) => t.dispose());
    },
  };
}
