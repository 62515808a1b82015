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
