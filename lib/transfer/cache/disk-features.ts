/**
 * The disk cache's examples as a dataset that a DataLoader reads asynchronously: whole blocks read off the JavaScript
 * thread, their checksums verified, a bounded set of them kept while batches are gathered from them, read ahead of
 * training; block-shuffled epochs; and synchronous getBatch for the Dataset contract.
 */
import { checkIndex } from '../../data/dataset';
import type { Batch } from '../../data/example';
import type { LoadBatchesOptions } from '../../data/async-dataset';
import { collateOwned } from '../../data/iterable-dataset';
import { blockShuffledOrder } from '../../data/block-shuffle';
import type { Generator } from '../../data/generator';
import type { DType } from '../../dtype';
import { fromTypedArray } from '../../creation';
import type { Tensor } from '../../tensor';
import { BlockFile } from './block-reader';
import type { DiskHeader } from './disk-layout';
import { planReads } from './read-plan';
import { disposedError, EpochReader, type FedGather } from './epoch-reader';
import type { CachedDataset } from './cached-dataset';

/** How a disk cache is read (cacheFeatures' options of the same names). */
export interface DiskReadOptions {
  /** A shuffled epoch's order: 'blocks' (default) or 'rows' (uniform). */
  shuffle?: 'blocks' | 'rows';
  /** Blocks whose rows a block-shuffled epoch mixes (default 16). */
  bufferBlocks?: number;
  /** Batches read ahead of the consumer (default 2). */
  prefetch?: number;
}

/** What an open disk cache read so far (for tests and benchmarks). */
export interface DiskReadStats {
  /** Whole blocks read (each checked). */
  blockReads: number;
  /** Batches read as runs of rows. */
  rowReads: number;
  /** The most feature blocks held in memory at once. */
  maxHeldBlocks: number;
  /** Feature blocks held now (read, not yet freed). */
  heldBlocks: number;
  /** Batches gathered by loadBatches (made ahead of the consumer included). */
  batchesMade: number;
}


/**
 * The disk cache's examples `[features, ...other fields]`, features cast to the head's dtype. A DataLoader's
 * `for await` reads an epoch with `loadBatches`: in file order or block-shuffled, each block the epoch needs is read
 * once, whole, with one native read that checks its CRC-32C off the JavaScript thread, and held only until the last
 * batch that needs it is gathered (a bounded window: never the whole cache); batches are made `prefetch` ahead of the
 * consumer, so reading overlaps training. An order whose blocks would not fit that bound (a uniform shuffle of a cache
 * of more than about 2 x bufferBlocks blocks) reads each batch's rows in runs instead, after proving each block once
 * per open (read whole, checksum checked, a few at a time). The other fields (labels) are read whole at open,
 * every block checked. A shuffling DataLoader takes its order from `shuffledOrder` (block-shuffled by default).
 */
export class DiskFeatures implements CachedDataset {
  readonly length: number;
  /** @internal What was read so far. */
  readonly stats: DiskReadStats = { blockReads: 0, rowReads: 0, maxHeldBlocks: 0, heldBlocks: 0, batchesMade: 0 };
  /** @internal The open file. */
  readonly reader: BlockFile;
  private readonly others: Tensor[];
  /** shuffle 'rows' (a uniform permutation) rather than the default 'blocks'. */
  private readonly uniformShuffle: boolean;
  private readonly bufferBlocks: number;
  private readonly prefetch: number;
  private held = 0;

  constructor(fd: number, file: string, header: DiskHeader, readonly headDtype: DType, options: DiskReadOptions = {}) {
    this.reader = new BlockFile(fd, file, header);
    this.length = header.length;
    this.uniformShuffle = options.shuffle === 'rows';
    this.bufferBlocks = options.bufferBlocks ?? 16;
    this.prefetch = options.prefetch ?? 2;
    const others: Tensor[] = [];
    try {
      for (let k = 1; k < header.fields.length; k++) others.push(this.reader.readFieldSync(k));
    } catch (e) {
      others.forEach((t) => t.dispose());
      this.reader.close();
      throw e;
    }
    this.others = others;
  }

  /**
   * A shuffled epoch's order: block-shuffled (see tg.data's blockShuffledOrder: the blocks permuted, then the rows
   * within windows of `bufferBlocks` blocks; a batch's rows come from a few blocks, not independently), or a uniform
   * permutation with shuffle 'rows'.
   */
  shuffledOrder(generator: Generator): number[] {
    if (this.uniformShuffle) return generator.permutation(this.length);
    return blockShuffledOrder(this.length, this.reader.header.blockRows, this.bufferBlocks, generator);
  }

  /**
   * @internal fit's native engine trains on this cache's batches as `loadFed` makes them (one native step per batch);
   * it needs the count of fields: [features, labels] is 2.
   */
  nativeFeedFields(): number {
    return this.reader.header.fields.length;
  }

  /**
   * @internal The batches of `order` for fit's native engine: as `loadBatches` reads them (the same blocks, checks and
   * read-ahead), but a batch gathered from blocks comes as a FedGather, whose rows the engine copies on its own thread
   * into recycled memory right before the step (only the 16-bit blocks are held ahead, not float32 batches). A block
   * stays held until the FedGather that uses it last is released, and counts against the window's bound until then.
   */
  async *loadFed(order: number[], options: { batchSize: number; dropLast: boolean }): AsyncGenerator<Batch | FedGather> {
    if (this.reader.isClosed) throw disposedError();
    for (const i of order) checkIndex(i, this.length, 'FeatureCache (disk)');
    yield* this.epochReader(order, options, true).run();
  }

  private epochReader(order: number[], options: { batchSize: number; dropLast: boolean }, fed: boolean): EpochReader {
    const { blockRows } = this.reader.header;
    const perBatch = Math.ceil(options.batchSize / blockRows) + 1;
    const plan = planReads(order, options.batchSize, options.dropLast, blockRows, this.reader.blocks, 2 * this.bufferBlocks + perBatch);
    const maxBlocks = Math.min(plan.maxLive + this.prefetch * perBatch, 2 * this.bufferBlocks + (this.prefetch + 1) * perBatch);
    return new EpochReader(this, plan, maxBlocks, this.prefetch, fed);
  }

  /** Rows at `indices`, read on the JavaScript thread; each block they touch is proven (CRC-32C) once per open first. */
  getBatch(indices: number[]): Batch {
    if (this.reader.isClosed) throw disposedError();
    if (!Array.isArray(indices)) throw new TypeError('FeatureCache (disk): indices must be an array of row numbers');
    for (const i of indices) checkIndex(i, this.length, 'FeatureCache (disk)');
    for (const b of new Set(indices.map((i) => this.reader.blockOf(i)))) this.reader.verifySync(b);
    const features = this.reader.readRowsSync(0, indices, this.headDtype);
    return [features, ...this.labels(indices)];
  }

  getItem(index: number): Tensor[] {
    const b = this.getBatch([index]);
    const out = b.map((t) => t.squeeze(0));
    b.forEach((t) => t.dispose());
    return out;
  }

  /** The batches of `order`, read ahead off the JavaScript thread (see the class). */
  async *loadBatches(order: number[], options: LoadBatchesOptions): AsyncGenerator<Batch> {
    if (this.reader.isClosed) throw disposedError();
    if (options.collate) {
      // a custom collate takes examples: read on this thread, batch by batch
      const collate = options.collate;
      const end = options.dropLast ? order.length - (order.length % options.batchSize) : order.length;
      for (let s = 0; s < end; s += options.batchSize) yield collateOwned(collate, order.slice(s, Math.min(end, s + options.batchSize)).map((i) => this.getItem(i)));
      return;
    }
    for (const i of order) checkIndex(i, this.length, 'FeatureCache (disk)');
    yield* this.epochReader(order, options, false).run() as AsyncGenerator<Batch>;
  }

  /** @internal The other fields' rows at `indices`. */
  labels(indices: number[]): Tensor[] {
    if (this.others.length === 0) return [];
    const idx = fromTypedArray(Int32Array.from(indices), [indices.length], 'int32', 'int64');
    try {
      return this.others.map((t) => t.indexSelect(0, idx));
    } finally {
      idx.dispose();
    }
  }

  /**
   * @internal Features (stored dtype) cast to the head's dtype, as a new handle that reports its bytes to V8 (a block's
   * own handle does not: see native/unreported.h); disposes its argument.
   */
  cast(t: Tensor): Tensor {
    const c = t.dtype === this.headDtype ? t.detach() : t.to({ dtype: this.headDtype });
    t.dispose();
    return c;
  }

  /** @internal Counts the blocks held in memory. */
  hold(delta: number): void {
    this.held += delta;
    this.stats.heldBlocks = this.held;
    this.stats.maxHeldBlocks = Math.max(this.stats.maxHeldBlocks, this.held);
  }

  /** Frees the labels and closes the file once the reads in flight have settled; later reads are ERR_CACHE_DISPOSED. */
  dispose(): void {
    if (this.reader.isClosed) return;
    this.reader.close();
    for (const t of this.others) t.dispose();
  }
}
