/** Training progress on stderr: a bar redrawn in place on a terminal, one line per epoch elsewhere, or nothing. */

/** Where progress goes: a writable stream; isTTY and columns decide between the bar and plain lines. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** 0: silent; 1: a bar on a terminal, one line per epoch otherwise; 2: one line per epoch always. */
export type Verbosity = 0 | 1 | 2;

const REDRAW_MS = 100; // redraws read the running means (a device sync on CUDA): a few per second is enough

/** Formats seconds as 0.42s, 12s, 3m04s or 1h02m. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 10) return `${s.toFixed(2)}s`;
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Formats logs as `loss 0.1234 - accuracy 0.9876` (epoch and time left out). */
export function formatLogs(logs: Record<string, number>): string {
  return Object.entries(logs)
    .filter(([k]) => k !== 'epoch' && k !== 'time')
    .map(([k, v]) => `${k} ${formatNumber(v)}`)
    .join(' - ');
}

function formatNumber(v: number): string {
  // (NaN and the infinities print as themselves through toFixed and toExponential)
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4);
}

/** Renders fit's progress; a no-op at verbosity 0. */
export class Progress {
  private readonly bar: boolean;
  private readonly silent: boolean;
  private start = 0;
  private lastDraw = 0;
  private total: number | undefined;
  private label = '';
  private drawn = false;

  constructor(
    private readonly out: ProgressStream,
    verbose: Verbosity,
    private readonly endEpoch: number,
  ) {
    this.silent = verbose === 0;
    this.bar = verbose === 1 && !!out.isTTY;
  }

  /** Starts an epoch of `total` batches (undefined when unknown). */
  epochBegin(epoch: number, total: number | undefined): void {
    this.start = performance.now();
    this.lastDraw = 0;
    this.total = total;
    this.label = `Epoch ${epoch + 1}/${this.endEpoch}`;
  }

  /** Reports `done` batches; `read` gives the running means and is called only when the bar is redrawn. */
  batch(done: number, read: () => Record<string, number>): void {
    if (!this.bar) return;
    const now = performance.now();
    if (now - this.lastDraw < REDRAW_MS && done !== this.total) return;
    this.lastDraw = now;
    this.draw(this.barLine(done, (now - this.start) / 1000, read()));
  }

  /** Ends an epoch with its full logs (training and validation). */
  epochEnd(batches: number, logs: Record<string, number>): void {
    if (this.silent) return;
    const line = `${this.label} - ${batches} batches - ${formatDuration(logs.time)} - ${formatLogs(logs)}`;
    // the finished line is the epoch's record: written whole (a terminal may wrap it), replacing the bar
    this.out.write(this.bar ? `\r${line}\x1b[K\n` : `${line}\n`);
    this.drawn = false;
  }

  /** Finishes a bar left open (training stopped mid-epoch or failed). */
  close(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }

  private barLine(done: number, elapsed: number, logs: Record<string, number>): string {
    const stats = formatLogs(logs);
    if (this.total === undefined) return `${this.label} ${done} batches ${formatDuration(elapsed)} ${stats}`;
    const width = 30;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(frac * width);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? (frac < 1 ? '>' : '=') : '') + ' '.repeat(width - filled);
    const eta = (elapsed / done) * (this.total - done); // no batch done: Infinity or NaN, shown as '?'
    return `${this.label} [${bar}] ${done}/${this.total} ETA ${formatDuration(eta)} - ${stats}`;
  }

  private draw(line: string): void {
    const cols = this.out.columns || 120;  // a terminal may report 0 columns
    // \r and clear-to-end: redraw in place; cut to the terminal width so the line never wraps
    this.out.write('\r' + line.slice(0, cols - 1) + '\x1b[K');
    this.drawn = true;
  }
}
