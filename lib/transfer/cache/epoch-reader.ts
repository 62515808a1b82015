/**
 * One epoch's reads of a disk feature cache: whole blocks read ahead in the order of first use (a bounded window, a few
 * reads at a time), each checked off the JavaScript thread, and batches gathered from them in order, `prefetch` ahead
 * of the consumer; for fit's native engine, batches that name their blocks and rows instead (FedGather).
 */
import type { Batch } from '../../data/example';
import type { DType } from '../../dtype';
import { binding } from '../../native';
import { TorchError } from '../../errors';
import type { Tensor } from '../../tensor';
import type { ReadPlan } from './read-plan';
import type { DiskFeatures } from './disk-features';

/** The error of a read after the cache was disposed. */
export const disposedError = (): TorchError => new TorchError('feature cache: the cache was disposed', { code: 'ERR_CACHE_DISPOSED' });

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

/** One epoch's reads: blocks read ahead in the order of first use, batches made in order, `prefetch` ahead of the consumer. */
export class EpochReader {
  private readonly blocks = new Map<number, Promise<Tensor>>();
  private readonly verifying = new Map<number, Promise<void>>();
  private nextBlock = 0;
  /** Block reads started and not yet settled. */
  private reading = 0;
  /** Blocks out of the map whose last batch has not freed them yet (a gather in flight, a fed batch not yet trained). */
  private leaving = 0;
  /** Set when the consumer stopped or a read failed: batches made ahead stop reading. */
  private stopped = false;
  /** FedGathers handed out and not yet released: they still gather from their blocks. */
  private gathersOut = 0;
  /** Blocks of a stopped epoch kept for the FedGathers still out (fit's engine takes a few batches ahead of training). */
  private keptForGathers: Tensor[] = [];
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ds: DiskFeatures,
    private readonly plan: ReadPlan,
    private readonly maxBlocks: number,
    private readonly prefetch: number,
    /** Batches gathered from blocks come as FedGathers (fit's native engine gathers them). */
    private readonly fed: boolean,
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
      for (const p of this.blocks.values()) p.then((t) => (this.gathersOut > 0 ? this.keptForGathers.push(t) : this.free(t)), () => undefined);
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
          if (--this.gathersOut === 0) this.keptForGathers.splice(0).forEach((t) => this.free(t));
          this.readAhead();
        },
      };
      this.gathersOut++;
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
