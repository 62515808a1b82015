/** Streaming datasets: examples (or whole batches) produced in order by an async iterator, e.g. read from disk. */
import { dispose } from '../memory';
import { defaultCollate } from './collate';
import type { Batch, Collate, Example } from './example';

/**
 * A dataset read in order, like `torch.utils.data.IterableDataset`: subclass it and write
 * `async *[Symbol.asyncIterator]()` yielding examples (`[x, y]`), or batches when `batched` is true.
 * Each pass starts a new iterator, so a pass can reopen its file. Yielded tensors are owned by the consumer.
 * @example
 * class Lines extends tg.data.IterableDataset {
 *   async *[Symbol.asyncIterator]() { for await (const line of readLines(file)) yield parse(line); }
 * }
 */
export abstract class IterableDataset implements AsyncIterable<Example | Batch> {
  /** True when the iterator yields whole batches (tensors with a batch dimension) instead of examples. */
  readonly batched: boolean = false;
  /** Examples per pass (batches per pass when batched), when known: progress bars show an ETA. */
  readonly length?: number;

  abstract [Symbol.asyncIterator](): AsyncIterator<Example | Batch>;
}

/** Whether a value is a streaming dataset (an IterableDataset subclass instance). */
export function isIterableDataset(v: unknown): v is IterableDataset {
  return v instanceof IterableDataset;
}

/** What fromAsyncIterable needs to know about the stream. */
export interface StreamOptions {
  /** The stream yields batches, not examples. */
  batched?: boolean;
  /** Examples (or batches) per pass, when known. */
  length?: number;
}

class FunctionStream extends IterableDataset {
  override readonly batched: boolean;
  override readonly length?: number;
  constructor(
    private readonly open: () => AsyncIterable<Example | Batch> | Iterable<Example | Batch>,
    o: StreamOptions,
  ) {
    super();
    this.batched = o.batched ?? false;
    this.length = o.length;
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Example | Batch> {
    yield* this.open();
  }
}

/**
 * A streaming dataset from a function that opens a new pass (an async generator function, typically).
 * @example tg.data.fromAsyncIterable(async function* () { for await (const rec of readRecords(f)) yield [x(rec), rec.label]; })
 */
export function fromAsyncIterable(open: () => AsyncIterable<Example | Batch> | Iterable<Example | Batch>, options: StreamOptions = {}): IterableDataset {
  if (typeof open !== 'function')
    throw new TypeError('fromAsyncIterable: expected a function that starts a pass (a one-shot iterator cannot be read again next epoch)');
  return new FunctionStream(open, options);
}

/** How batchStream groups examples. */
export interface BatchStreamOptions {
  batchSize: number;
  /** Drop a last batch smaller than batchSize. */
  dropLast?: boolean;
  /** Turns examples into a batch (default: stack each field). */
  collate?: Collate;
}

/**
 * Groups a stream of examples into batches of `batchSize` (the last one smaller unless dropLast).
 * Example tensors are disposed once collated.
 */
export async function* batchStream(examples: AsyncIterable<Example> | Iterable<Example>, options: BatchStreamOptions): AsyncGenerator<Batch> {
  checkBatchSize(options?.batchSize, 'batchStream');
  const collate = options.collate ?? defaultCollate;
  let pending: Example[] = [];
  const flush = (): Batch => {
    const group = pending;
    pending = [];
    return collateOwned(collate, group);
  };
  try {
    for await (const e of examples) {
      pending.push(e);
      if (pending.length === options.batchSize) yield flush();
    }
    if (pending.length > 0 && !options.dropLast) yield flush();
  } finally {
    dispose(pending); // examples left over from a dropped batch or an early exit
  }
}

/** Collates, then disposes the example tensors the batch did not take over (a collate may pass some through). */
export function collateOwned(collate: Collate, examples: Example[]): Batch {
  let batch: Batch;
  try {
    batch = collate(examples);
  } catch (e) {
    dispose(examples);
    throw e;
  }
  if (!Array.isArray(batch)) {
    dispose(examples);
    throw new TypeError('collate must return an array of tensors such as [x, y]');
  }
  const kept = new Set<unknown>(batch);
  dispose(examples.map((e) => (Array.isArray(e) ? e.filter((f) => !kept.has(f)) : e)));
  return batch;
}

/** Throws unless batchSize is a positive integer. */
export function checkBatchSize(batchSize: unknown, where: string): void {
  if (!Number.isInteger(batchSize) || (batchSize as number) <= 0)
    throw new RangeError(`${where}: batchSize must be a positive integer, got ${String(batchSize)}`);
}
