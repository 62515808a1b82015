/** The TensorBoard fit callback: scalars per batch and per epoch, weight histograms, hyperparameters, as Keras writes them. */
import * as path from 'node:path';
import type { Tensor } from '../../tensor';
import { tidy } from '../../memory';
import type { Callback, FitContext } from '../callbacks';
import type { BatchLogs, EpochLogs } from '../types';
import type { History } from '../history';
import { hparamsEndEvent, hparamsStartEvent, histogramEvent, scalarEvent, textEvent } from './event';
import { EventFileWriter } from './event-writer';
import { histogramOf } from './histogram';

/** A hyperparameter's value. */
export type HParamValue = number | string | boolean;

/** Options of the TensorBoard callback. */
export interface TensorBoardOptions {
  /** The run's folder: event files go to `<logDir>/train`, `<logDir>/validation`, and the hyperparameters to `<logDir>`. */
  logDir: string;
  /** Write `batch_loss` every this many batches (default 1; 0 writes no batch scalars and keeps native epochs whole). */
  everyBatches?: number;
  /** Histograms of the weights at the end of every epoch (true, the default), every N epochs (`{ every: N }`), or none (false). */
  histograms?: boolean | { every: number };
  /** Hyperparameters to record (hparams plugin session and a markdown text summary). */
  hparams?: Record<string, HParamValue>;
}

const now = () => Date.now() / 1000;

function checkOptions(o: TensorBoardOptions): { every: number; histEvery: number; hparams?: Record<string, HParamValue> } {
  if (o === null || typeof o !== 'object') throw new TypeError('TensorBoard: options must be an object with a logDir');
  if (typeof o.logDir !== 'string' || o.logDir === '') throw new TypeError('TensorBoard: logDir must be a non-empty string');
  const every = o.everyBatches ?? 1;
  if (!Number.isInteger(every) || every < 0) throw new RangeError(`TensorBoard: everyBatches must be an integer >= 0, got ${String(o.everyBatches)}`);
  const h = o.histograms ?? true;
  let histEvery: number;
  if (typeof h === 'boolean') histEvery = h ? 1 : 0;
  else if (Number.isInteger((h as { every?: unknown }).every) && h.every >= 1) histEvery = h.every;
  else throw new TypeError('TensorBoard: histograms must be a boolean or { every: N } with N an integer >= 1');
  if (o.hparams !== undefined) {
    if (o.hparams === null || typeof o.hparams !== 'object' || Array.isArray(o.hparams)) throw new TypeError('TensorBoard: hparams must be an object of numbers, strings and booleans');
    for (const [k, v] of Object.entries(o.hparams)) {
      if (!['number', 'string', 'boolean'].includes(typeof v)) throw new TypeError(`TensorBoard: hparams.${k} must be a number, string or boolean, got ${typeof v}`);
    }
  }
  return { every, histEvery, hparams: o.hparams };
}

function hparamsTable(hparams: Record<string, HParamValue>): string {
  return ['| hyperparameter | value |', '|---|---|', ...Object.entries(hparams).map(([k, v]) => `| ${k} | ${String(v)} |`)].join('\n');
}

/** The weights to draw: named parameters when the model has them, else its state dict's floating-point tensors. */
function weightsOf(model: unknown): [string, Tensor][] {
  const m = model as { namedParameters?: () => [string, Tensor][]; stateDict?: () => Record<string, Tensor> | Map<string, Tensor> };
  if (typeof m.namedParameters === 'function') return m.namedParameters();
  if (typeof m.stateDict === 'function') {
    const sd = m.stateDict();
    return sd instanceof Map ? [...sd.entries()] : Object.entries(sd);
  }
  return [];
}

/**
 * A fit callback writing TensorBoard event files, laid out as Keras' TensorBoard callback does: `train/` holds
 * `batch_loss` (step: the batch count since the first fit), `epoch_loss`, `epoch_<metric>`, `epoch_learning_rate`
 * and the weight histograms (tag `layer/weight`); `validation/` holds `epoch_loss` and `epoch_<metric>` from the
 * `val_` logs; the logDir itself holds the hyperparameters. Events are appended to the files at every epoch's end.
 *
 * @example
 * await tg.fit(net, data, { epochs: 10, optimizer, loss: 'crossEntropy', callbacks: [new tg.train.TensorBoard({ logDir: 'runs/a' })] });
 * // then: tensorboard --logdir runs
 */
export class TensorBoard implements Callback {
  /** The run's folder. */
  readonly logDir: string;
  private readonly every: number;
  private readonly histEvery: number;
  private readonly hparams?: Record<string, HParamValue>;
  private writers = new Map<string, EventFileWriter>();
  private batchStep = 0;
  private hparamsWritten = false;
  /** Undefined unless batch scalars are wanted: only then does fit report each batch. */
  onBatchEnd?: (batch: number, logs: BatchLogs, ctx: FitContext) => void;

  constructor(options: TensorBoardOptions) {
    const o = checkOptions(options);
    this.logDir = options.logDir;
    this.every = o.every;
    this.histEvery = o.histEvery;
    this.hparams = o.hparams && { ...o.hparams };
    if (this.every > 0) {
      this.onBatchEnd = (_batch: number, logs: BatchLogs, ctx: FitContext) => {
        if (ctx.rank) return;  // distributed: rank 0 writes the run
        this.batchStep++;
        if (this.batchStep % this.every === 0 && Number.isFinite(logs.loss)) this.writer('train').add(scalarEvent(now(), this.batchStep, 'batch_loss', logs.loss));
      };
    }
  }

  /** The event files written so far, by run (`train`, `validation`, `.` for the hyperparameters). */
  get files(): Record<string, string> {
    return Object.fromEntries([...this.writers].map(([k, w]) => [k, w.file]));
  }

  private writer(run: string): EventFileWriter {
    let w = this.writers.get(run);
    if (!w) {
      w = new EventFileWriter(path.join(this.logDir, run)); // '.': the logDir itself
      this.writers.set(run, w);
    }
    return w;
  }

  private async flush(): Promise<void> {
    for (const w of this.writers.values()) await w.flush();
  }

  /** Creates the train event file (a logDir that cannot be written fails here, ERR_IO) and records the hyperparameters. */
  async onTrainBegin(ctx?: FitContext): Promise<void> {
    if (ctx?.rank) return;  // distributed: rank 0 writes the run (the epoch logs are already averaged over ranks)
    this.writer('train');
    if (this.hparams && !this.hparamsWritten) {
      const root = this.writer('.');
      root.add(hparamsStartEvent(now(), this.hparams));
      root.add(textEvent(now(), 0, 'hparams', hparamsTable(this.hparams)));
      this.hparamsWritten = true;
    }
    await this.flush();
  }

  /** Writes the epoch's scalars and histograms and appends them to the files. */
  async onEpochEnd(epoch: number, logs: EpochLogs, ctx: FitContext): Promise<void> {
    if (ctx.rank) return;
    const t = now();
    for (const [k, v] of Object.entries(logs)) {
      if (k === 'epoch' || k === 'time' || !Number.isFinite(v)) continue; // (false for non-numbers too)
      if (k.startsWith('val_')) this.writer('validation').add(scalarEvent(t, epoch, `epoch_${k.slice(4)}`, v));
      else this.writer('train').add(scalarEvent(t, epoch, `epoch_${k}`, v));
    }
    const groups = (ctx.optimizer as { paramGroups?: readonly { lr?: unknown }[] }).paramGroups;
    if (Array.isArray(groups)) {
      groups.forEach((g, i) => {
        if (typeof g.lr === 'number') this.writer('train').add(scalarEvent(t, epoch, i === 0 ? 'epoch_learning_rate' : `epoch_learning_rate_group${i}`, g.lr));
      });
    }
    if (this.histEvery > 0 && epoch % this.histEvery === 0) await this.writeHistograms(epoch, ctx);
    await this.flush();
  }

  private async writeHistograms(epoch: number, ctx: FitContext): Promise<void> {
    const train = this.writer('train');
    for (const [name, w] of weightsOf(ctx.model)) {
      if (!['float32', 'float64', 'float16', 'bfloat16'].includes(w.dtype)) continue;
      const host = tidy(() => w.detach().to({ device: 'cpu', dtype: 'float32' }));
      try {
        const values = (await host.data()) as Float32Array;
        train.add(histogramEvent(now(), epoch, name.replace(/\./g, '/'), histogramOf(values)));
      } finally {
        host.dispose();
      }
    }
  }

  /** Ends the hparams session and appends what is left. */
  async onTrainEnd(_history?: History, ctx?: FitContext): Promise<void> {
    if (ctx?.rank) return;
    if (this.hparams) this.writer('.').add(hparamsEndEvent(now()));
    await this.flush();
  }
}
