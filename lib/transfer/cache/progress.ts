/** A one-line bar for building a cache, redrawn in place on a terminal; silent elsewhere unless asked. */
import { formatDuration, ProgressStream, Verbosity } from '../../train/progress';

const REDRAW_MS = 100;

/** Draws `Caching features [=====>    ] 12/118 - 3.1s` while a cache is built. */
export class BuildProgress {
  private readonly bar: boolean;
  private readonly line: boolean;
  private start = performance.now();
  private last = 0;

  constructor(
    private readonly out: ProgressStream,
    verbose: Verbosity,
    private readonly total: number,
  ) {
    this.bar = verbose === 1 && !!out.isTTY;
    this.line = verbose === 2;
  }

  /** Reports `done` of `total` batches. */
  tick(done: number): void {
    if (!this.bar) return;
    const now = performance.now();
    if (now - this.last < REDRAW_MS && done !== this.total) return;
    this.last = now;
    const width = 24;
    const fill = Math.round((width * done) / Math.max(1, this.total));
    const bar = '='.repeat(Math.max(0, fill - 1)) + (fill > 0 ? (done === this.total ? '=' : '>') : '') + ' '.repeat(width - fill);
    this.out.write(`\rCaching features [${bar}] ${done}/${this.total} - ${formatDuration((now - this.start) / 1000)}\x1b[K`);
  }

  /** Ends the bar with a summary line. */
  done(examples: number, where: string): void {
    if (!this.bar && !this.line) return;
    const msg = `Cached features of ${examples} examples (${where}) in ${formatDuration((performance.now() - this.start) / 1000)}`;
    this.out.write(this.bar ? `\r${msg}\x1b[K\n` : `${msg}\n`);
  }
}
