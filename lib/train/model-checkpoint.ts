/**
 * ModelCheckpoint: a fit callback that writes resumable checkpoints (model, optimizer, scheduler, random generators,
 * loader position, epoch, history) into a folder every few epochs, keeps the last N and the best, and points
 * `latest.json` at the newest, each file written atomically.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { TorchError } from '../errors';
import { atomicWrite, atomicWriteFile } from '../io/atomic';
import { saveCheckpoint, type CheckpointModel, type CheckpointStateful } from '../io/checkpoint';
import type { Callback, FitContext } from './callbacks';
import { runPartsOf, type SignalAware } from './checkpoint-run';
import type { History } from './history';
import type { EpochLogs } from './types';
import { checkKnownKeys } from '../known-keys';

/** The pointer file in a checkpoint folder that names the newest checkpoint (what `resumeFrom: dir` reads). */
export const LATEST = 'latest.json';
/** The checkpoint written when the monitored value improves. */
export const BEST = 'best.ckpt';
const DEFAULT_FILENAME = 'epoch-{epoch}.ckpt';

/** ModelCheckpoint's settings. */
export interface ModelCheckpointOptions {
  /** The folder to write into (created when missing). */
  dir: string;
  /** Write a checkpoint after every `every` epochs: after epoch e when (e + 1) % every is 0 (default 1). */
  every?: number;
  /** The logs key that decides the best checkpoint (default 'val_loss' when the logs have it, else 'loss'). */
  monitor?: string;
  /** 'min' for losses, 'max' for accuracies; 'auto' (default): 'max' when the key names an accuracy or topK, else 'min'. */
  mode?: 'min' | 'max' | 'auto';
  /** How many periodic checkpoints to keep, the newest (default: all). `best.ckpt` is never deleted. */
  keepLast?: number;
  /** Also write `best.ckpt` each time the monitored value improves (default true). */
  saveBest?: boolean;
  /** Name of the periodic checkpoints; `{epoch}` becomes the epoch, 4 digits or more (default 'epoch-{epoch}.ckpt'). */
  filename?: string;
  /** An LR scheduler whose state the checkpoints hold (fit does not know it: it is stepped in a callback). */
  scheduler?: CheckpointStateful;
}

/** What `latest.json` holds. */
export interface LatestPointer {
  version: 1;
  /** The newest checkpoint's file name, in the same folder. */
  file: string;
  /** The last completed epoch it holds; a resumed fit starts at epoch + 1. */
  epoch: number;
  /** Set when a signal stopped the run: which, and the epoch it cut short (resuming starts it again). */
  interrupted?: { signal: string; epoch: number };
}

/** What ModelCheckpoint adds to a checkpoint's `extra`, read back by `fit({ resumeFrom })`. */
export interface FitResumeState {
  /** The first epoch of the fit call that wrote it, and the epoch after its last. */
  runStart: number;
  endEpoch: number;
  history: ReturnType<History['toJSON']>;
  optimizerKind: string;
  schedulerKind?: string;
  best: { monitor?: string; value: number; epoch: number };
}

// (the optimizer and scheduler were checked to be objects; one without a prototype has no constructor)
const kindOf = (o: unknown): string => (o as { constructor?: { name?: string } }).constructor?.name ?? 'Object';

/**
 * Writes a checkpoint folder during fit:
 * `epoch-0007.ckpt` (the format of tg.io.saveCheckpoint) after every `every` epochs, `best.ckpt` when the monitored
 * value improves, and `latest.json` naming the newest. Older periodic checkpoints beyond `keepLast` are deleted
 * after the new one is in place; a write that fails (disk full, no permission) is a TorchError `ERR_IO` that stops
 * fit and leaves every earlier file as it was. While it is among fit's callbacks, SIGINT and SIGTERM stop the run
 * after the current batch and end the process with the signal (a second signal ends it at once): the last completed
 * epoch's checkpoint is on disk and `latest.json` notes the interrupted epoch, which `fit({ resumeFrom: dir })`
 * runs again from its start (a run never resumes mid-epoch: the batches of the cut epoch are trained again, from the
 * same weights, order and random state, so the result is the same). With `every` > 1 the resume point is the last
 * checkpoint written. It runs after the other callbacks' onEpochEnd, so a scheduler stepped there is saved stepped.
 * With a feature cache, the checkpoint holds the part of the model above the cut (the part fit trains).
 * EarlyStopping's patience count is not saved: a resumed run counts from zero again.
 * @example tg.fit(net, data, { epochs: 50, optimizer, loss, callbacks: [new tg.train.ModelCheckpoint({ dir: 'ckpt', keepLast: 3, scheduler })], resumeFrom: { path: 'ckpt', ifMissing: 'startFresh' } })
 */
export class ModelCheckpoint implements Callback, SignalAware {
  readonly handlesSignals = true;
  readonly dir: string;
  readonly every: number;
  readonly monitor: string | undefined;
  readonly mode: 'min' | 'max' | 'auto';
  readonly keepLast: number;
  readonly saveBest: boolean;
  readonly filename: string;
  readonly scheduler: CheckpointStateful | undefined;
  /** The best monitored value so far and its epoch (NaN and -1 before any); restored by a resumed fit. */
  best = NaN;
  bestEpoch = -1;
  /** The file and epoch of the newest checkpoint this callback wrote, if any. */
  lastSaved: { file: string; epoch: number } | undefined;
  private resolvedMonitor: string | undefined;

  constructor(options: ModelCheckpointOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('ModelCheckpoint: expected options { dir, every, monitor, mode, keepLast, saveBest }');
    checkKnownKeys(options, ['dir', 'every', 'monitor', 'mode', 'keepLast', 'saveBest', 'filename', 'scheduler'], 'ModelCheckpoint');
    const { dir, every = 1, monitor, mode = 'auto', keepLast = Infinity, saveBest = true, filename = DEFAULT_FILENAME, scheduler } = options;
    if (typeof dir !== 'string' || dir === '') throw new TypeError('ModelCheckpoint: dir must be a non-empty string (a folder)');
    if (!Number.isInteger(every) || every < 1) throw new RangeError(`ModelCheckpoint: every must be an integer >= 1, got ${String(every)}`);
    if (monitor !== undefined && (typeof monitor !== 'string' || monitor === '')) throw new TypeError('ModelCheckpoint: monitor must be a logs key such as val_loss');
    if (mode !== 'min' && mode !== 'max' && mode !== 'auto') throw new TypeError(`ModelCheckpoint: mode must be 'min', 'max' or 'auto', got ${String(mode)}`);
    if (keepLast !== Infinity && (!Number.isInteger(keepLast) || keepLast < 1)) throw new RangeError(`ModelCheckpoint: keepLast must be an integer >= 1, got ${String(keepLast)}`);
    if (typeof saveBest !== 'boolean') throw new TypeError('ModelCheckpoint: saveBest must be a boolean');
    // (a name with {epoch} in it is never latest.json or best.ckpt)
    if (typeof filename !== 'string' || !filename.includes('{epoch}') || /[/\\]/.test(filename))
      throw new TypeError(`ModelCheckpoint: filename must be a file name containing {epoch} (no folder), other than ${LATEST} and ${BEST}; got ${String(filename)}`);
    if (scheduler !== undefined && (scheduler === null || typeof scheduler.stateDict !== 'function' || typeof scheduler.loadStateDict !== 'function'))
      throw new TypeError('ModelCheckpoint: scheduler must have stateDict() and loadStateDict() (a tg.optim scheduler)');
    this.dir = path.resolve(dir);
    this.every = every;
    this.monitor = monitor;
    this.mode = mode;
    this.keepLast = keepLast;
    this.saveBest = saveBest;
    this.filename = filename;
    this.scheduler = scheduler;
  }

  /** The periodic checkpoint's file name for `epoch`. */
  fileFor(epoch: number): string {
    return this.filename.split('{epoch}').join(String(epoch).padStart(4, '0'));
  }

  onTrainBegin(ctx: FitContext): Promise<void> {
    if (ctx.rank) return Promise.resolve();  // distributed: rank 0 writes for every rank (they hold the same weights)
    const opt = ctx.optimizer as Partial<CheckpointStateful>;
    if (typeof opt.stateDict !== 'function' || typeof opt.loadStateDict !== 'function')
      throw new TypeError('ModelCheckpoint: the optimizer must have stateDict() and loadStateDict() (a tg.optim optimizer) to be checkpointed');
    const model = ctx.model as Partial<CheckpointModel>;
    if (typeof model.stateDict !== 'function' || typeof model.loadStateDict !== 'function')
      throw new TypeError('ModelCheckpoint: the model must have stateDict() and loadStateDict() (a tg.nn.Module) to be checkpointed');
    return fs.mkdir(this.dir, { recursive: true }).then(
      () => undefined,
      (e) => Promise.reject(new TorchError(`ModelCheckpoint: cannot create the folder '${this.dir}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e })),
    );
  }

  async onEpochEnd(epoch: number, logs: EpochLogs, ctx: FitContext): Promise<void> {
    if (ctx.rank) return;
    // A signal cut this epoch short (or came before it was saved): the last completed epoch on disk is the resume point.
    if (runPartsOf(ctx).signal !== undefined) return;
    const improved = this.saveBest && this.observe(epoch, logs);
    const periodic = (epoch + 1) % this.every === 0;
    if (!periodic && !improved) return;
    const name = periodic ? this.fileFor(epoch) : BEST;
    await this.write(path.join(this.dir, name), epoch, ctx);
    if (periodic && improved) await copyAtomically(path.join(this.dir, name), path.join(this.dir, BEST));
    if (periodic) {
      await this.writeLatest({ version: 1, file: name, epoch });
      this.lastSaved = { file: name, epoch };
      await this.prune(epoch);
    }
  }

  async onTrainEnd(_history: History, ctx: FitContext): Promise<void> {
    if (ctx.rank) return;
    const { signal } = runPartsOf(ctx);
    if (signal === undefined || !this.lastSaved) return;
    // The pointer says where the run stopped; the checkpoint it names is the last one completed.
    await this.writeLatest({ ...this.lastSaved, version: 1, interrupted: { signal, epoch: this.lastSaved.epoch + 1 } });
  }

  /** Updates the best value with this epoch's; true when it improved. */
  private observe(epoch: number, logs: EpochLogs): boolean {
    this.resolvedMonitor ??= this.monitor ?? (typeof logs.val_loss === 'number' ? 'val_loss' : 'loss');
    const key = this.resolvedMonitor;
    const value = logs[key];
    if (typeof value !== 'number')
      throw new TorchError(`ModelCheckpoint: '${key}' is not in the epoch logs (${Object.keys(logs).join(', ')})${key.startsWith('val_') ? '; validation keys need fit({ validation })' : ''}`, {
        code: 'ERR_MISSING_METRIC',
      });
    if (Number.isNaN(value)) return false;
    const max = this.mode === 'max' || (this.mode === 'auto' && /acc|top\d/i.test(key));
    const better = Number.isNaN(this.best) || (max ? value > this.best : value < this.best);
    if (better) {
      this.best = value;
      this.bestEpoch = epoch;
    }
    return better;
  }

  private async write(file: string, epoch: number, ctx: FitContext): Promise<void> {
    const state: FitResumeState = {
      runStart: runPartsOf(ctx).runStart ?? ctx.initialEpoch,
      endEpoch: ctx.endEpoch,
      history: ctx.history.toJSON(),
      optimizerKind: kindOf(ctx.optimizer),
      schedulerKind: this.scheduler ? kindOf(this.scheduler) : undefined,
      best: { monitor: this.resolvedMonitor, value: this.best, epoch: this.bestEpoch },
    };
    await saveCheckpoint(file, {
      model: ctx.model as unknown as CheckpointModel,
      optimizer: ctx.optimizer as unknown as CheckpointStateful,
      scheduler: this.scheduler,
      loader: runPartsOf(ctx).loader,
      epoch,
      extra: { fit: state },
    });
  }

  private writeLatest(p: LatestPointer): Promise<string> {
    return atomicWriteFile(path.join(this.dir, LATEST), JSON.stringify(p) + '\n');
  }

  /** Deletes the periodic checkpoints beyond the newest `keepLast` (by epoch); never `best.ckpt` nor the newest. */
  private async prune(newest: number): Promise<void> {
    if (this.keepLast === Infinity) return;
    const [before, after] = this.filename.split('{epoch}', 2).map(escapeRegExp);
    const re = new RegExp(`^${before}(\\d{4,})${after}$`);
    const found = (await fs.readdir(this.dir))
      .map((n) => ({ n, m: re.exec(n) }))
      .filter((x) => x.m !== null)
      .map((x) => ({ name: x.n, epoch: Number(x.m![1]) }))
      .filter((x) => x.epoch <= newest)
      .sort((a, b) => b.epoch - a.epoch);
    for (const old of found.slice(this.keepLast)) await fs.rm(path.join(this.dir, old.name), { force: true });
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Copies `from` over `to` atomically (the best checkpoint is the same bytes as the periodic one just written). */
function copyAtomically(from: string, to: string): Promise<string> {
  return atomicWrite(to, async (tmp) => {
    await fs.copyFile(from, tmp);
    const h = await fs.open(tmp, 'r+');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  });
}
