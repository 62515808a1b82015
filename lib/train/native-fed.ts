/**
 * The batches of fit's native engine when a dataset reads them itself (a disk feature cache): one epoch's stream, which
 * can be opened a few batches before its epoch starts, so that the blocks its first batch needs are read while the
 * previous epoch ends (a block-shuffled first batch draws on a whole window of blocks: ~20 ms of reads, 6-8% of an
 * epoch of the benchmark, that would otherwise stall the start of each epoch).
 */
import type { Batch } from '../data/example';
import { dispose } from '../memory';
import type { FedGather } from '../transfer/cache/epoch-reader';

/** A dataset that reads its own batches for the native engine (a disk feature cache). */
export interface FedSource {
  nativeFeedFields(): number;
  loadFed(order: number[], options: { batchSize: number; dropLast: boolean }): AsyncGenerator<Batch | FedGather>;
}

/** Batches before an epoch's end at which the next epoch's stream starts reading. */
export const AHEAD_BATCHES = 4;

/**
 * Batches handed to C++ per run() when no onBatchEnd callback must see each one: every run costs a hop to a pool thread
 * and back (~1 ms a batch on the benchmark's 2-core VM, 15-20% of a linear head's epoch when paid per batch).
 */
export const FED_BATCHES_PER_RUN = 4;

/** Batches taken from a stream for one run(): those it gave before it ended or failed. */
export interface TakenBatches {
  values: (Batch | FedGather)[];
  /** The stream has no more batches. */
  done: boolean;
  /** The stream's error, raised once the batches before it have trained. */
  error?: unknown;
}

/** Takes up to `n` batches from `stream`; never rejects (an error comes back with the batches before it). */
export async function takeBatches(stream: FedStream, n: number): Promise<TakenBatches> {
  const values: (Batch | FedGather)[] = [];
  try {
    while (values.length < n) {
      const it = await stream.next();
      if (it.done) return { values, done: true };
      values.push(it.value);
    }
  } catch (error) {
    return { values, done: true, error };
  }
  return { values, done: false };
}

/** Frees a fed batch once its step has run (or when it will not run). */
export function releaseFed(b: Batch | FedGather): void {
  if (Array.isArray(b)) dispose(b);
  else b.release();
}

/** One epoch's batches, for the loader epoch `loaderEpoch`. */
export class FedStream {
  private first?: Promise<IteratorResult<Batch | FedGather>>;
  private readonly gen: AsyncGenerator<Batch | FedGather>;

  constructor(source: FedSource, order: number[], options: { batchSize: number; dropLast: boolean }, readonly loaderEpoch: number) {
    this.gen = source.loadFed(order, options);
  }

  /** Starts reading the first batch now (its error, if any, comes with it from next()). */
  start(): void {
    if (this.first) return;
    this.first = this.gen.next();
    this.first.catch(() => undefined);
  }

  next(): Promise<IteratorResult<Batch | FedGather>> {
    const f = this.first;
    this.first = undefined;
    return f ?? this.gen.next();
  }

  /** Frees what was read ahead and stops the reads. */
  async close(): Promise<void> {
    const f = this.first;
    this.first = undefined;
    if (f) {
      const r = await f.catch(() => undefined);
      if (r && !r.done) releaseFed(r.value);
    }
    await this.gen.return(undefined).catch(() => undefined);
  }
}
