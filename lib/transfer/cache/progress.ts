/** A one-line bar for building a cache, redrawn in place on a terminal; silent elsewhere unless asked. */
import { formatDuration, ProgressStream, Verbosity } from '../../train/progress';

const REDRAW_MS = 100;

/** What a build's bar counts: `rows` in units of `unitRows` (batches, or a disk cache's blocks). */
export interface ProgressUnits {
  rows: number;
  unitRows: number;
  /** The unit's name, plural ('batches', 'blocks'). */
  unit: string;
}

/** How a build ran, for its summary line. */
export interface BuildSummary {
  examples: number;
  /** Where the features went (the file, or 'memory'/'device'). */
  where: string;
  engine: 'native' | 'js';
  /** Rows a resumed disk build found already written. */
  resumedRows: number;
}

/**
 * Draws `Caching features [=====>    ] 12/118 blocks (4 resumed) - 3.1s` while a cache is built (verbose 1, on a
 * terminal), and a summary line at the end (verbose 1 on a terminal, or verbose 2 anywhere) naming the engine.
 */
export class BuildProgress {
  private readonly bar: boolean;
  private readonly line: boolean;
  private readonly total: number;
  private start = performance.now();
  private last = 0;
  private resumed = 0;

  constructor(
    private readonly out: ProgressStream,
    verbose: Verbosity,
    private readonly units: ProgressUnits,
  ) {
    this.bar = verbose === 1 && !!out.isTTY;
    this.line = verbose === 2;
    this.total = Math.ceil(units.rows / units.unitRows);
  }

  /** Records the rows a resumed build starts from: the bar starts there. */
  resume(rows: number): void {
    this.resumed = Math.ceil(rows / this.units.unitRows);
    if (rows > 0) this.tick(rows, true);
  }

  /** Reports that the first `rows` rows are written. */
  tick(rows: number, force = false): void {
    if (!this.bar) return;
    const done = Math.ceil(rows / this.units.unitRows);
    const now = performance.now();
    if (!force && now - this.last < REDRAW_MS && done !== this.total) return;
    this.last = now;
    const width = 24;
    const fill = Math.round((width * done) / Math.max(1, this.total));
    const bar = '='.repeat(Math.max(0, fill - 1)) + (fill > 0 ? (done === this.total ? '=' : '>') : '') + ' '.repeat(width - fill);
    const resumed = this.resumed ? ` (${this.resumed} resumed)` : '';
    this.out.write(`\rCaching features [${bar}] ${done}/${this.total} ${this.units.unit}${resumed} - ${formatDuration((now - this.start) / 1000)}\x1b[K`);
  }

  /** Ends the bar with a summary line. */
  done(s: BuildSummary): void {
    if (!this.bar && !this.line) return;
    const resumed = s.resumedRows ? `, ${s.resumedRows} rows resumed` : '';
    const msg = `Cached features of ${s.examples} examples (${s.where}) in ${formatDuration((performance.now() - this.start) / 1000)}, engine ${s.engine}${resumed}`;
    this.out.write(this.bar ? `\r${msg}\x1b[K\n` : `${msg}\n`);
  }
}
