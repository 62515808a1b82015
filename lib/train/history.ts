/** History: what fit returns, one row of logs per epoch, exportable as JSON and CSV. */
import type { EpochLogs } from './types';

/** Why and when training stopped before its last epoch. */
export interface StopInfo {
  epoch: number;
  reason: string;
}

/**
 * Per-epoch logs of a training run (`loss`, metrics, `val_loss`, `val_<metric>`, `time` in seconds).
 * Pass it back as fit's `history` option to append the next phase (fine-tuning) to the same record.
 */
export class History {
  /** One entry per epoch, in order. */
  readonly epochs: EpochLogs[] = [];
  /**
   * Set when a callback or early stopping ended training early (epoch: the last one run), or fit's signal aborted it
   * (reason 'aborted', epoch: the first one not completed, which `epochs` does not hold).
   */
  stopped: StopInfo | null = null;
  /** The loop the last fit ran: 'native' (whole epochs in C++) or 'js'. */
  engine?: 'js' | 'native';

  /** Number of epochs recorded. */
  get length(): number {
    return this.epochs.length;
  }

  /** Appends an epoch's logs. */
  push(logs: EpochLogs): void {
    this.epochs.push(logs);
  }

  /** The values of one key over the epochs (undefined where an epoch lacks it). */
  series(key: string): (number | undefined)[] {
    return this.epochs.map((e) => e[key]);
  }

  /** The last epoch's logs, if any. */
  last(): EpochLogs | undefined {
    return this.epochs[this.epochs.length - 1];
  }

  /** Every key seen, in order: epoch, loss and metrics (and keys callbacks added), validation keys, time. */
  keys(): string[] {
    const seen: string[] = [];
    for (const e of this.epochs) for (const k of Object.keys(e)) if (!seen.includes(k)) seen.push(k);
    const rank = (k: string): number => (k === 'epoch' ? 0 : k === 'time' ? 3 : k.startsWith('val_') ? 2 : 1);
    return seen.map((k, i) => ({ k, i })).sort((a, b) => rank(a.k) - rank(b.k) || a.i - b.i).map((x) => x.k);
  }

  /** `{ epochs: [...], stopped }`: what JSON.stringify(history) writes. */
  toJSON(): { epochs: EpochLogs[]; stopped: StopInfo | null } {
    return { epochs: this.epochs.map((e) => ({ ...e })), stopped: this.stopped };
  }

  /** A CSV table: a header of keys(), one row per epoch, empty cells for missing values. */
  toCSV(): string {
    const keys = this.keys();
    const rows = this.epochs.map((e) => keys.map((k) => (e[k] === undefined || e[k] === null ? '' : String(e[k]))).join(','));
    return [keys.join(','), ...rows].join('\n') + '\n';
  }
}
