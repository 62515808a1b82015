/** A bounded read-ahead queue over an async iterable: the source is pulled in the background while the consumer works. */
import { dispose } from '../memory';

/** What prefetch does with items it pulled but never handed over. */
export interface PrefetchOptions<T> {
  /** Releases an item pulled ahead but never consumed (default: dispose the tensors in it, tg.dispose). */
  release?: (item: T) => void;
}

/** Throws unless `value` is a positive integer (a TypeError for a non-number, else a RangeError), naming `option`. */
export function checkPrefetch(value: unknown, where: string, option = 'prefetch'): number {
  if (typeof value !== 'number') throw new TypeError(`${where}: ${option} must be a positive integer, got ${typeof value === 'string' ? `'${value}'` : String(value)}`);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${where}: ${option} must be a positive integer, got ${String(value)}`);
  return value;
}

/**
 * Reads `source` up to `ahead` items ahead of the consumer, so that a source waiting on I/O (a file, a socket, a
 * worker) and the consumer's work overlap. Items come in the source's order; the source's iterator is never asked for
 * two items at once, and at no time have more than `ahead` items been pulled (next() called) beyond those handed to the
 * consumer. An error from the source reaches the consumer at the position where it occurred, after the items before
 * it. When the consumer stops early (break, throw, or return()), pulling stops, an item still in flight is awaited,
 * the items pulled ahead are released (their tensors disposed) and the source iterator's return() is called, so that
 * its files close. The source's code runs earlier than without read-ahead and interleaved with the consumer's: only a
 * source that waits gains (one computing on the JavaScript thread shares it with the consumer).
 * @example for await (const [x, y] of tg.data.prefetch(readBatches(file), 2)) { await step(x, y); tg.dispose([x, y]); }
 */
export function prefetch<T>(source: AsyncIterable<T> | Iterable<T>, ahead: number, options: PrefetchOptions<T> = {}): AsyncGenerator<T> {
  checkPrefetch(ahead, 'prefetch', 'ahead');
  if (options === null || typeof options !== 'object') throw new TypeError('prefetch: options must be an object such as { release }');
  if (options.release !== undefined && typeof options.release !== 'function') throw new TypeError('prefetch: release must be a function');
  return new ReadAhead(open(source), ahead, options.release ?? dispose).items();
}

/** One pulled result: an item, the end of the source, or its error. */
type Entry<T> = { value: T } | { done: true } | { error: unknown };

/** The queue and the loop that fills it; items() is the consumer's side. */
class ReadAhead<T> {
  private readonly queue: Entry<T>[] = [];
  /** A fill loop is running (at most one, so the source never has two next() calls pending); cleared as it exits. */
  private running = false;
  private filling?: Promise<void>;
  /** The source is done or threw: it is never pulled or closed again. */
  private ended = false;
  /** The consumer has stopped. */
  private stopped = false;
  private wake?: () => void;

  constructor(
    private readonly it: AsyncIterator<T>,
    private readonly ahead: number,
    private readonly release: (item: T) => void,
  ) {}

  async *items(): AsyncGenerator<T> {
    try {
      for (;;) {
        this.fill();
        while (this.queue.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
        const e = this.queue.shift()!;
        if ('error' in e) throw e.error;
        if ('done' in e) return;
        this.fill(); // a slot is free: the source works while the consumer holds this item
        yield e.value;
      }
    } finally {
      await this.close();
    }
  }

  /** Starts the fill loop unless it runs, the source ended, or the consumer stopped. */
  private fill(): void {
    if (this.running || this.ended || this.stopped) return;
    this.running = true;
    this.filling = this.run();
  }

  /** Pulls until the queue is full or the source ends; never rejects (a failure is queued for the consumer). */
  private async run(): Promise<void> {
    try {
      // the queue holds what was pulled and not handed over, so pulled - consumed never exceeds `ahead`
      while (!this.stopped && !this.ended && this.queue.length < this.ahead) {
        const r: unknown = await this.it.next();
        if (r === null || typeof r !== 'object')
          throw new TypeError(`prefetch: the source's next() gave ${r === null ? 'null' : typeof r}, not an iterator result { value, done }`);
        const { done, value } = r as IteratorResult<T>;
        if (done) {
          this.ended = true;
          this.push({ done: true });
        } else this.push({ value });
      }
    } catch (error) {
      this.ended = true;
      this.push({ error });
    } finally {
      // at once, not a turn later: the consumer may free a slot before this loop's promise settles
      this.running = false;
    }
  }

  private push(e: Entry<T>): void {
    this.queue.push(e);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The consumer stopped (or the source ended): waits for a pull in flight, releases what is left, closes the source. */
  private async close(): Promise<void> {
    this.stopped = true;
    await this.filling;
    let failed: { error: unknown } | undefined;
    for (const e of this.queue.splice(0)) {
      if (!('value' in e)) continue;
      try {
        this.release(e.value);
      } catch (error) {
        failed ??= { error }; // the others are still released and the source still closed
      }
    }
    if (!this.ended) {
      this.ended = true;
      await this.it.return?.();
    }
    if (failed) throw failed.error;
  }
}

/** The async iterator of an async or sync iterable. */
function open<T>(source: AsyncIterable<T> | Iterable<T>): AsyncIterator<T> {
  if (source !== null && typeof source === 'object' && typeof (source as AsyncIterable<T>)[Symbol.asyncIterator] === 'function')
    return (source as AsyncIterable<T>)[Symbol.asyncIterator]();
  if (source !== null && typeof source === 'object' && typeof (source as Iterable<T>)[Symbol.iterator] === 'function') {
    const s = source as Iterable<T>;
    return (async function* () {
      yield* s;
    })();
  }
  throw new TypeError(`prefetch: expected an async iterable or an iterable, got ${source === null ? 'null' : typeof source}`);
}
