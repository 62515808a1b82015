/** What a plot draws: named runs of per-epoch logs, from fit's History or its JSON. */
import type { EpochLogs } from '../train/types';

/** One run's history: a History, its toJSON() (`{ epochs }`), or the array of epoch logs. */
export type HistoryLike = { epochs: readonly Partial<EpochLogs>[] } | readonly Partial<EpochLogs>[];

/** A named run to plot: a training history, or a learning-rate finder sweep (findLr's toJSON()). */
export type PlotRun = { name: string; history: HistoryLike } | { name: string; lrFinder: { lrs: readonly number[]; losses: readonly number[]; suggestion?: number | null } };

/** The epochs of a run, checked: an array of objects. */
export function epochsOf(run: PlotRun, i: number): readonly Partial<EpochLogs>[] {
  if (run === null || typeof run !== 'object') throw new TypeError(`plotHistory: runs[${i}] must be { name, history }`);
  if (typeof run.name !== 'string') throw new TypeError(`plotHistory: runs[${i}].name must be a string`);
  const h = (run as { history?: unknown }).history;
  const epochs = Array.isArray(h) ? h : h !== null && typeof h === 'object' && Array.isArray((h as { epochs?: unknown }).epochs) ? (h as { epochs: unknown[] }).epochs : undefined;
  if (!epochs) throw new TypeError(`plotHistory: runs[${i}].history must be a History, { epochs: [...] } or an array of epoch logs`);
  epochs.forEach((e, j) => {
    if (e === null || typeof e !== 'object') throw new TypeError(`plotHistory: runs[${i}] (${run.name}): epoch ${j} is not an object of numbers`);
  });
  return epochs as Partial<EpochLogs>[];
}

/** The metrics to give a panel each: `loss` first, then the others in the order met; `val_x` joins panel `x`. */
export function metricNames(all: readonly (readonly Partial<EpochLogs>[])[]): string[] {
  const seen: string[] = [];
  for (const epochs of all) {
    for (const e of epochs) {
      for (const [k, v] of Object.entries(e)) {
        if (k === 'epoch' || k === 'time' || typeof v !== 'number') continue;
        const base = k.startsWith('val_') ? k.slice(4) : k;
        if (!seen.includes(base)) seen.push(base);
      }
    }
  }
  return seen.sort((a, b) => (a === 'loss' ? -1 : b === 'loss' ? 1 : 0));
}
