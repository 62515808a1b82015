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
import { binding } from '../../native';
import { TorchError } from '../../errors';
import type { Tensor } from '../../tensor';
import { BlockFile } from './block-reader';
import type { DiskHeader } from './disk-layout';
import { planReads, ReadPlan } from './read-plan';
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
 * @internal A batch whose features fit's native engine gathers itself, just before its step: row i of x is row
 * `rows[i]` of `sources[which[i]]` (checked blocks of the file), cast to `outDtype`; `y` holds the labels. The consumer
 * calls `release` once the step has its tensors: it disposes `y` and frees the blocks no later batch needs.
 */
export interface FedGather {
  sources: Tensor[];
  which: Int32Array;
  rows: Int32Array;
  outDtype: DType;
  y: Tensor;
  release(): void;
}

/**
 * Block reads in flight at once: libuv's pool has 4 threads (by default), shared with the gathers and fit's native
 * steps, which would otherwise queue behind a window's worth of reads (a 30 ms stall every 16 batches, measured).
 */
const READS_IN_FLIGHT = 2;

/** Blocks read at once to prove them before their rows are served in a uniform order (libuv's default pool is 4 threads). */
const VERIFY_AT_ONCE = 4;

const disposedError = (): TorchError => new TorchError('feature cache: the cache was disposed', { code: 'ERR_CACHE_DISPOSED' });

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
  private readonly shuffle: 'blocks' | 'rows';
  private readonly bufferBlocks: number;
  private readonly prefetch: number;
  private held = 0;

  constructor(fd: number, file: string, header: DiskHeader, readonly headDtype: DType, options: DiskReadOptions = {}) {
    this.reader = new BlockFile(fd, file, header);
    this.length = header.length;
    this.shuffle = options.shuffle ?? 'blocks';
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
    if (this.shuffle === 'rows') return generator.permutation(this.length);
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
   * right before the step reads them (a batch gathered `prefetch` batches ahead was out of the CPU's cache by then).
   * Blocks stay alive through the FedGathers made ahead, so up to `prefetch` batches' blocks more than the window are held.
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

/** One epoch's reads: blocks read ahead in the order of first use, batches made in order, `prefetch` ahead of the consumer. */
class EpochReader {
  private readonly blocks = new Map<number, Promise<Tensor>>();
  private readonly verifying = new Map<number, Promise<void>>();
  private nextBlock = 0;
  /** Block reads started and not yet settled. */
  private reading = 0;
  /** Blocks out of the map whose last batch has not freed them yet (a gather in flight, a fed batch not yet trained). */
  private leaving = 0;
  /** Set when the consumer stopped or a read failed: batches made ahead stop reading. */
  private stopped = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ds: DiskFeatures,
    private readonly plan: ReadPlan,
    private readonly maxBlocks: number,
    private readonly prefetch: number,
    /** Batches gathered from blocks come as FedGathers (fit's native engine gathers them). */
    private readonly fed = false,
  ) {}

  async *run(): AsyncGenerator<Batch | FedGather> {
    const n = this.plan.batches.length;
    const made: Promise<Batch | FedGather>[] = [];
    let next = 0;
    const schedule = (): void => {
      const i = next++;
      // batches are made one after the other: a block is freed once the last batch that needs it is gathered
      const p = this.chain.then(() => this.make(i));
      this.chain = p.catch(() => undefined);
      p.catch(() => undefined); // awaited below; this only keeps a batch that failed ahead of the consumer from being unhandled
      made.push(p);
    };
    try {
      for (let i = 0; i < n; i++) {
        while (next < n && next <= i + this.prefetch) schedule();
        yield await made.shift()!;
      }
    } finally {
      this.stopped = true;
      // the consumer stopped early or a read failed: free what was read or made ahead once it settles
      for (const p of made) p.then(disposeMade, () => undefined);
      for (const p of this.blocks.values()) p.then((t) => this.free(t), () => undefined);
      this.blocks.clear();
    }
  }

  private check(): void {
    if (this.ds.reader.isClosed) throw disposedError();
    if (this.stopped) throw new TorchError('feature cache: the epoch was stopped', { code: 'ERR_CACHE_DISPOSED' });
  }

  private free(t: Tensor): void {
    t.dispose();
    this.ds.hold(-1);
  }

  /**
   * Starts the reads of the next blocks in order of first use, up to the window's bound (blocks whose last batch has not
   * freed them yet count), READS_IN_FLIGHT at a time; the blocks in `needed` (a batch being made) are all started.
   */
  private readAhead(needed?: Map<number, unknown>): void {
    const order = this.plan.blockOrder;
    const missing = () => needed !== undefined && [...needed.keys()].some((b) => !this.blocks.has(b));
    while (this.nextBlock < order.length && !this.stopped && !this.ds.reader.isClosed) {
      // a batch being made waits for its blocks: they are started whatever the bounds (blocks start in order of first use)
      if (!missing() && (this.blocks.size + this.leaving >= this.maxBlocks || this.reading >= READS_IN_FLIGHT)) break;
      const b = order[this.nextBlock++];
      this.reading++;
      const p = this.ds.reader.readBlock(b).then(
        (t) => {
          this.reading--;
          this.ds.hold(1);
          this.readAhead();
          return t;
        },
        (e: unknown) => {
          this.reading--;
          throw e;
        },
      );
      p.catch(() => undefined); // awaited by the batch that needs it
      this.ds.stats.blockReads++;
      this.blocks.set(b, p);
    }
  }

  private async make(i: number): Promise<Batch | FedGather> {
    const rows = this.plan.batches[i];
    this.check();
    const features = this.plan.mode === 'blocks' ? await this.fromBlocks(i, rows) : this.ds.cast(await this.fromRows(rows));
    try {
      this.check();
    } catch (e) {
      disposeMade(features);
      throw e;
    }
    this.ds.stats.batchesMade++;
    if (!isTensorLike(features)) {
      [features.y] = this.ds.labels(rows);
      return features;
    }
    return [features, ...this.ds.labels(rows)];
  }

  /** Gathers batch i's rows from its blocks (or, fed, says how), then frees the blocks no later batch needs. */
  private async fromBlocks(i: number, rows: number[]): Promise<Tensor | FedGather> {
    const br = this.ds.reader.header.blockRows;
    // the batch's rows grouped by block, in order of appearance
    const groups = new Map<number, { pos: number[]; local: number[] }>();
    rows.forEach((r, p) => {
      const b = Math.floor(r / br);
      let g = groups.get(b);
      if (!g) groups.set(b, (g = { pos: [], local: [] }));
      g.pos.push(p);
      g.local.push(r - b * br);
    });
    this.readAhead(groups);
    const tensors = await Promise.all([...groups.keys()].map((b) => this.blocks.get(b)!));
    this.check(); // (a stopped epoch's finally frees the blocks still in the map)
    const keys = [...groups.keys()];
    if (keys.length === 1 && this.plan.lastUse[keys[0]] === i && isWhole(tensors[0], groups.get(keys[0])!.local)) {
      // the batch is exactly a block no later batch needs (in file order, blockRows = batch size): hand it over uncopied
      this.blocks.delete(keys[0]);
      this.ds.hold(-1);
      this.readAhead();
      return this.ds.cast(tensors[0]);
    }
    // one native call gathers the rows and widens 16-bit floats to float32 on a worker thread: the JavaScript thread stays free for training
    const which = new Int32Array(rows.length);
    const local = new Int32Array(rows.length);
    [...groups.values()].forEach((g, k) => g.pos.forEach((p, j) => {
      which[p] = k;
      local[p] = g.local[j];
    }));
    const f = this.ds.reader.header.fields[0];
    const lastUses = keys.flatMap((b, k) => (this.plan.lastUse[b] === i ? [k] : []));
    for (const k of lastUses) this.blocks.delete(keys[k]);
    this.leaving += lastUses.length;
    const freeLast = (): void => {
      this.leaving -= lastUses.length;
      for (const k of lastUses) this.free(tensors[k]);
    };
    if (this.fed) {
      // the blocks this batch uses last are freed when the engine releases it (it gathers from them first)
      let released = false;
      const fed: FedGather = {
        sources: tensors, which, rows: local, outDtype: this.ds.headDtype, y: undefined as unknown as Tensor,
        release: () => {
          if (released) return;
          released = true;
          fed.y?.dispose();
          freeLast();
          this.readAhead();
        },
      };
      this.readAhead();
      return fed;
    }
    let out: Tensor;
    try {
      out = await binding.gatherRows(tensors, which, local, f.dtype, f.shape, this.ds.headDtype === 'float32' ? 'float32' : f.dtype);
    } finally {
      freeLast();
    }
    this.readAhead();
    return this.ds.cast(out);
  }

  /** Reads batch rows in runs, after proving each of their blocks once per open. */
  private async fromRows(rows: number[]): Promise<Tensor> {
    const reader = this.ds.reader;
    const need = [...new Set(rows.map((r) => reader.blockOf(r)))].filter((b) => !reader.isVerified(b));
    // a few blocks at a time: a uniform batch touches nearly every block, and each is read whole to be proven
    for (let k = 0; k < need.length; k += VERIFY_AT_ONCE) await Promise.all(need.slice(k, k + VERIFY_AT_ONCE).map((b) => this.verify(b)));
    this.check();
    this.ds.stats.rowReads++;
    return reader.readRows(rows);
  }

  private verify(b: number): Promise<void> {
    let v = this.verifying.get(b);
    if (!v) {
      this.ds.stats.blockReads++;
      v = this.ds.reader.readBlock(b).then((t) => t.dispose());
      this.verifying.set(b, v);
    }
    return v;
  }
}

function isTensorLike(x: Tensor | FedGather): x is Tensor {
  return !('sources' in x);
}

/** Frees a batch or a FedGather made ahead of a consumer that stopped. */
function disposeMade(b: Batch | FedGather | Tensor): void {
  if (Array.isArray(b)) b.forEach((t) => t.dispose());
  else if ('sources' in b) b.release();
  else b.dispose();
}

/** Whether `local` is every row of the block, in order. */
function isWhole(block: Tensor, local: number[]): boolean {
  return local.length === block.shape[0] && local.every((r, k) => r === k);
}
