/** DataLoader: batches of a dataset, in order or reshuffled every epoch from a seed, sync or async. */
import { randint } from '../creation';
import { tidy } from '../memory';
import { defaultCollate } from './collate';
import { Dataset, isDataset } from './dataset';
import type { Batch, Collate, Example } from './example';
import { Generator } from './generator';
import { batchStream, checkBatchSize, collateOwned, isIterableDataset, IterableDataset } from './iterable-dataset';
import { describe } from './tensor-dataset';
import { checkPrefetch, prefetch } from './prefetch';
import { isAsyncDataset, KeptWorkers } from './async-dataset';
import { shufflesItself } from './block-shuffle';

/** How a DataLoader batches. */
export interface DataLoaderOptions {
  /** Examples per batch (default 32). */
  batchSize?: number;
  /** A new random order every epoch (default false). Map-style datasets only. */
  shuffle?: boolean;
  /**
   * Seed of the shuffling generator: epoch e's order depends only on (seed, e). Default: drawn once from
   * LibTorch's generator when a shuffling loader is made, so `tg.manualSeed()` makes it reproducible too.
   */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** Turns a list of examples into a batch (default: stack each field; with it, getBatch is not used). */
  collate?: Collate;
  /**
   * Worker threads that read examples ahead, for datasets that read files (tg.data.ImageFolder); default 0: read on the
   * main thread (decoding still runs off it). Each example's random transform runs under its own seed, derived from
   * (seed, epoch, index), so results do not depend on the number of workers.
   */
  workers?: number;
  /**
   * Batches read ahead. With workers (tg.data.ImageFolder): per worker, default 2. For a streaming dataset
   * (IterableDataset): up to this many batches are pulled from the stream in the background while the consumer
   * trains on the current one (see tg.data.prefetch), so that a source waiting on I/O and training overlap; the batches
   * not consumed when the epoch ends early (break, an abort) are disposed and the stream's iterator is closed.
   * Opt-in for streams (default: none, each batch read when asked for), because read-ahead runs the stream's own code
   * earlier and interleaved with training: a stream that draws from tg's random generator while the model draws too
   * (dropout) would give other weights from the same seed, one that reads training state (a curriculum) would see it
   * late, and the batches ahead hold memory. An image folder's examples run under seeds of their own, so its read-ahead
   * changes nothing and stays on. Only a stream that waits (files, network, worker threads) gains: one that computes on
   * the JavaScript thread shares it with training.
   */
  prefetch?: number;
  /**
   * Keep the workers from one epoch to the next (default false: they end with each epoch, as PyTorch's default);
   * idle workers do not keep Node alive, and `close()` ends them.
   */
  persistentWorkers?: boolean;
}

/**
 * Batches of a dataset, like `torch.utils.data.DataLoader`; iterate it once per epoch, with `for...of` or
 * `for await...of`. Every iteration is a new epoch: with `shuffle`, epoch e visits the examples in
 * `order(e)`, a permutation drawn by a Generator (xoshiro128**) seeded with (seed, e), so the same seed gives
 * the same orders and each epoch another. Batches are new tensors owned by the consumer: dispose them
 * (`tg.dispose(batch)`) or make them inside `tg.tidy`.
 * @example for (const [x, y] of new tg.data.DataLoader(ds, { batchSize: 64, shuffle: true, seed: 1 })) { ...; tg.dispose([x, y]); }
 */
export class DataLoader implements Iterable<Batch>, AsyncIterable<Batch> {
  readonly dataset: Dataset | IterableDataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly seed: number;
  /** Worker threads reading ahead (files datasets only). */
  readonly workers: number;
  /** Batches read ahead (per worker with workers); 0 for a stream read without read-ahead (its default). */
  readonly prefetch: number;
  private readonly collate?: Collate;
  private readonly kept?: KeptWorkers;
  private nextEpoch = 0;

  constructor(dataset: Dataset | IterableDataset, options: DataLoaderOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('DataLoader: options must be an object such as { batchSize }');
    if (!isDataset(dataset) && !isIterableDataset(dataset))
      throw new TypeError(
        `DataLoader: expected a dataset (with length and getItem) or an IterableDataset, got ${describe(dataset)}` +
          ' (for tensors use new tg.data.TensorDataset(x, y))',
      );
    const batchSize = options.batchSize ?? 32;
    checkBatchSize(batchSize, 'DataLoader');
    if (options.collate !== undefined && typeof options.collate !== 'function') throw new TypeError('DataLoader: collate must be a function');
    if (options.seed !== undefined && !Number.isInteger(options.seed)) throw new TypeError(`DataLoader: seed must be an integer, got ${String(options.seed)}`);
    if (options.shuffle && isIterableDataset(dataset))
      throw new TypeError('DataLoader: shuffle needs random access; a streaming dataset is read in its own order (shuffle its source instead)');
    if (isIterableDataset(dataset) && dataset.batched && (options.collate || options.dropLast))
      throw new TypeError('DataLoader: the stream yields whole batches already; collate and dropLast apply to streams of examples');
    const workers = options.workers ?? 0;
    // streams read ahead only when asked (see DataLoaderOptions.prefetch)
    const prefetch = options.prefetch === undefined ? (isIterableDataset(dataset) ? 0 : 2) : checkPrefetch(options.prefetch, 'DataLoader');
    if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`DataLoader: workers must be a non-negative integer, got ${String(workers)}`);
    if (workers > 0 && !isAsyncDataset(dataset))
      throw new TypeError('DataLoader: workers read files ahead (tg.data.ImageFolder); this dataset gives its examples from memory, so leave workers out');
    if (options.persistentWorkers !== undefined && typeof options.persistentWorkers !== 'boolean') throw new TypeError('DataLoader: persistentWorkers must be a boolean');
    if (options.persistentWorkers && workers > 0) this.kept = {};
    this.dataset = dataset;
    this.workers = workers;
    this.prefetch = prefetch;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.collate = options.collate;
    // drawn only when shuffling or for random transforms, so a plain loader in order leaves LibTorch's random stream untouched
    this.seed = options.seed ?? (this.shuffle || isAsyncDataset(dataset) ? drawSeed() : 0);
  }

  /** Batches per epoch (undefined for a stream of unknown length). */
  get length(): number | undefined {
    const n = this.dataset.length;
    if (n === undefined) return undefined;
    if (isIterableDataset(this.dataset) && this.dataset.batched) return n;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The epoch the next iteration will be (0 for the first). */
  get epoch(): number {
    return this.nextEpoch;
  }

  /** Sets the epoch of the next iteration (to resume a run, or replay an epoch's order). */
  setEpoch(epoch: number): void {
    if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`DataLoader.setEpoch: expected a non-negative integer, got ${epoch}`);
    this.nextEpoch = epoch;
  }

  /**
   * The order in which epoch e visits the examples (identity without shuffle). A dataset with its own
   * `shuffledOrder(generator)` (a disk feature cache's block shuffle) chooses the shuffled order from the same
   * seeded generator; otherwise it is a uniform permutation.
   */
  order(epoch: number): number[] {
    const ds = this.dataset;
    if (isIterableDataset(ds)) throw new TypeError('DataLoader.order: a streaming dataset has no random access');
    if (!this.shuffle) return Array.from({ length: ds.length }, (_, i) => i);
    const g = new Generator(this.seed, epoch);
    return shufflesItself(ds) ? ds.shuffledOrder(g) : g.permutation(ds.length);
  }

  /** Whether batches come from a custom collate function (else from the dataset's getBatch or the default stacking). */
  get hasCollate(): boolean {
    return this.collate !== undefined;
  }

  /** @internal The next epoch's order, advancing the epoch as an iteration does (fit's native engine gathers it itself). */
  takeOrder(): number[] {
    return this.order(this.nextEpoch++);
  }

  /** Iterates one epoch synchronously (map-style datasets only). */
  *[Symbol.iterator](): IterableIterator<Batch> {
    if (isIterableDataset(this.dataset)) throw new TypeError('DataLoader: a streaming dataset is iterated with for await...of');
    // an async dataset that also gathers batches synchronously (a disk feature cache) may be iterated either way
    if (isAsyncDataset(this.dataset) && typeof this.dataset.getBatch !== 'function')
      throw new TypeError('DataLoader: this dataset reads files asynchronously; iterate with for await...of');
    const ds = this.dataset;
    const order = this.order(this.nextEpoch++);
    const end = this.dropLast ? order.length - (order.length % this.batchSize) : order.length;
    for (let start = 0; start < end; start += this.batchSize) yield this.gather(ds, order.slice(start, start + this.batchSize));
  }

  /** Iterates one epoch asynchronously (any dataset; streams are read as they arrive). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Batch> {
    const ds = this.dataset;
    if (isAsyncDataset(ds)) {
      const epoch = this.nextEpoch;
      const order = this.order(epoch);
      this.nextEpoch++;
      const o = { batchSize: this.batchSize, dropLast: this.dropLast, collate: this.collate, epoch, seed: this.seed, workers: this.workers, prefetch: this.prefetch, keep: this.kept };
      yield* ds.loadBatches(order, o);
      return;
    }
    if (!isIterableDataset(ds)) {
      yield* this[Symbol.iterator]();
      return;
    }
    this.nextEpoch++;
    const batches = ds.batched ? (ds as AsyncIterable<Batch>) : batchStream(ds as AsyncIterable<Example>, { batchSize: this.batchSize, dropLast: this.dropLast, collate: this.collate });
    yield* this.prefetch > 0 ? prefetch(batches, this.prefetch) : batches;
  }

  /** Ends the workers kept between epochs (persistentWorkers); a later epoch starts new ones. */
  async close(): Promise<void> {
    const v = this.kept?.value;
    if (this.kept) this.kept.value = undefined;
    await v?.close();
  }

  private gather(ds: Dataset, indices: number[]): Batch {
    if (!this.collate && ds.getBatch) return ds.getBatch(indices);
    const collate = this.collate ?? defaultCollate;
    return tidy(() => collateOwned(collate, indices.map((i) => ds.getItem(i))));
  }
}

/** A default seed from LibTorch's generator, so tg.manualSeed governs loaders that were given none. */
function drawSeed(): number {
  const t = randint(0, 2 ** 31 - 1, [1]);
  const s = t.item();
  t.dispose();
  return s;
}
