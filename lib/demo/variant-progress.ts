/** The demo's progress per variant: a bar over epochs redrawn in place on a terminal, cleared when the variant ends. */
import type { Callback, FitContext } from '../train/callbacks';
import type { ProgressStream } from '../train/progress';
import type { EpochLogs } from '../train/types';

const pct = (v: number | undefined) => (v === undefined ? '?' : `${(v * 100).toFixed(1)}%`);
const num = (v: number | undefined) => (v === undefined ? '?' : v.toFixed(4));

/** One variant's summary: epochs run (and whether early stopping ended them), the best epoch's validation loss and accuracy. */
export function summaryLine(epochs: readonly EpochLogs[], stopped: boolean, extra: string): string {
  const best = epochs.reduce<EpochLogs | undefined>((b, e) => (e.val_loss !== undefined && (b === undefined || e.val_loss < b.val_loss) ? e : b), undefined);
  const stop = stopped ? ' (early stop)' : '';
  const bestAt = best ? ` - best val_loss ${num(best.val_loss)} at epoch ${best.epoch + 1} (val_accuracy ${pct(best.val_accuracy)})` : '';
  return `  ${epochs.length} epochs${stop}${bestAt}${extra}`;
}

/**
 * A fit callback drawing `[=====>    ] 7/100 val_loss 0.4123 val_accuracy 88.0%` in place on a terminal
 * (nothing elsewhere); clear() removes the bar so the summary line takes its place.
 */
export class VariantBar implements Callback {
  private end = 0;
  private drawn = false;

  constructor(private readonly out: ProgressStream) {}

  onTrainBegin(ctx: FitContext): void {
    this.end = ctx.endEpoch;
  }

  onEpochEnd(epoch: number, logs: EpochLogs): void {
    if (!this.out.isTTY) return;
    const width = 20;
    const filled = Math.round(Math.min(1, (epoch + 1) / Math.max(1, this.end)) * width);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(width - filled);
    const line = `  [${bar}] ${epoch + 1}/${this.end} val_loss ${num(logs.val_loss)} val_accuracy ${pct(logs.val_accuracy)}`;
    // a pseudo-terminal with no size reports 0 columns: treat it as unknown
    const cols = this.out.columns || 100;
    this.out.write(`\r${line.length >= cols ? line.slice(0, cols - 1) : line}\x1b[K`);
    this.drawn = true;
  }

  /** Removes the bar, if one is drawn. */
  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}
