/** Reads runs to plot from files: fit's History JSON or CSV, and TensorBoard logdirs written by tg.train.TensorBoard. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchError } from '../errors';
import type { EpochLogs } from '../train/types';
import { readEventFile } from '../train/tensorboard/event-reader';
import type { PlotRun } from './runs';
import { asLrCurve, type LrCurve } from './lr-curve';

const bad = (file: string, why: string) => new TorchError(`${file}: ${why}`, { code: 'ERR_HISTORY_FORMAT' });

function fromJson(file: string, text: string): Partial<EpochLogs>[] | LrCurve {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw bad(file, `not JSON (${(e as Error).message})`);
  }
  let curve: LrCurve | undefined;
  try {
    curve = asLrCurve(file, data);
  } catch (e) {
    throw bad(file, (e as Error).message.slice(file.length + 2));
  }
  if (curve) return curve;
  const epochs = Array.isArray(data) ? data : data !== null && typeof data === 'object' ? (data as { epochs?: unknown }).epochs : undefined;
  if (!Array.isArray(epochs) || epochs.some((e) => e === null || typeof e !== 'object' || Array.isArray(e)))
    throw bad(file, 'not a training history: expected { "epochs": [ { "loss": ... }, ... ] } as History.toJSON() writes');
  return epochs as Partial<EpochLogs>[];
}

function fromCsv(file: string, text: string): Partial<EpochLogs>[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw bad(file, 'an empty CSV file');
  const keys = lines[0].split(',').map((k) => k.trim());
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',');
    if (cells.length !== keys.length) throw bad(file, `line ${i + 2} has ${cells.length} cells, the header ${keys.length}`);
    const row: Partial<EpochLogs> = {};
    cells.forEach((c, j) => {
      if (c.trim() === '') return;
      const v = Number(c);
      if (Number.isNaN(v) && c.trim() !== 'NaN') throw bad(file, `line ${i + 2}: '${c}' is not a number`);
      row[keys[j]] = v;
    });
    return row;
  });
}

const isEventFile = (name: string) => name.includes('tfevents');

function list(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new TorchError(`cannot read '${dir}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
  }
}

/** Whether a folder is one TensorBoard run as our callback lays it out (train/, validation/, or event files). */
function isRunDir(dir: string): boolean {
  return list(dir).some((e) => (e.isDirectory() && (e.name === 'train' || e.name === 'validation')) || (e.isFile() && isEventFile(e.name)));
}

/** The `epoch_*` scalars of a run folder as epoch logs: train/ gives `loss`, validation/ gives `val_loss`. */
async function fromLogDir(dir: string): Promise<Partial<EpochLogs>[]> {
  const byStep = new Map<number, Partial<EpochLogs>>();
  for (const [sub, prefix] of [['.', ''], ['train', ''], ['validation', 'val_']] as const) {
    const d = path.join(dir, sub);
    if (!fs.existsSync(d)) continue;
    const files = list(d).filter((e) => e.isFile() && isEventFile(e.name)).map((e) => path.join(d, e.name)).sort();
    for (const f of files) {
      for (const ev of await readEventFile(f)) {
        for (const v of ev.values) {
          if (!v.tag.startsWith('epoch_') || v.value === undefined || v.tag.startsWith('epoch_learning_rate')) continue;
          const row = byStep.get(ev.step) ?? { epoch: ev.step };
          row[prefix + v.tag.slice(6)] = v.value;
          byStep.set(ev.step, row);
        }
      }
    }
  }
  if (byStep.size === 0) throw bad(dir, 'no epoch_* scalars in its event files (is it a tg.train.TensorBoard or Keras logdir?)');
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]).map(([, r]) => r);
}

/**
 * Loads runs from paths: a History JSON (`JSON.stringify(history)`), a findLr result's JSON, a History CSV (`history.toCSV()`), a TensorBoard
 * run folder (with train/ and validation/), or a folder of such run folders (one run each, named `folder/run`).
 * @throws TorchError `ERR_IO` when a path cannot be read, `ERR_HISTORY_FORMAT` when it holds no history, `ERR_EVENT_FILE` for a corrupt event file.
 */
export async function loadRuns(paths: readonly string[]): Promise<PlotRun[]> {
  const runs: PlotRun[] = [];
  for (const p of paths) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(p);
    } catch (e) {
      throw new TorchError(`cannot read '${p}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
    }
    const name = path.basename(path.resolve(p));
    if (stat.isDirectory()) {
      if (isRunDir(p)) {
        runs.push({ name, history: await fromLogDir(p) });
        continue;
      }
      const subs = list(p).filter((e) => e.isDirectory() && isRunDir(path.join(p, e.name))).map((e) => e.name).sort();
      if (subs.length === 0) throw bad(p, 'a folder with no TensorBoard runs (no train/ or validation/ folder, no event files)');
      for (const s of subs) runs.push({ name: `${name}/${s}`, history: await fromLogDir(path.join(p, s)) });
    } else {
      const text = await fs.promises.readFile(p, 'utf8').catch((e: Error) => Promise.reject(new TorchError(`cannot read '${p}': ${e.message}`, { code: 'ERR_IO', cause: e })));
      const parsed = p.toLowerCase().endsWith('.csv') ? fromCsv(p, text) : fromJson(p, text);
      const runName = name.replace(/\.(json|csv)$/i, '');
      runs.push(Array.isArray(parsed) ? { name: runName, history: parsed } : { name: runName, lrFinder: parsed });
    }
  }
  return runs;
}
