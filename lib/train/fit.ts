/** fit: the training loop (epochs of tidy steps, validation, callbacks, early stopping, progress), async and yielding. */
import type { AbortSignalLike } from '../portable-types';
import { noGrad } from '../autograd';
import { keep, tidy } from '../memory';
import { isTensor, type Tensor } from '../tensor';
import { callAll, Callback, checkCallbacks, FitContext } from './callbacks';
import { EarlyStopping, EarlyStoppingOptions } from './early-stopping';
import { runEval, withMode } from './eval-loop';
import { History } from './history';
import type { LossSpec } from './losses';
import { makeObjective, type Objective } from './objective';
import { AbortError, checkSignal, throwIfAborted } from './abort';
import { checkFitKeys, FIT_OPTION_KEYS } from './option-keys';
import { splitForValidation } from './validation-split';
import { Accumulator, MetricSpec, resolveMetrics } from './metrics';
import { Progress, ProgressStream, Verbosity } from './progress';
import { BatchSource, DataSource, prepareBatch, toSource, eventLoopYielder } from './source';
import type { EpochLogs, StepOptimizer, Trainable } from './types';
import { TorchError } from '../errors';
import { FitEngine, planNative, type NativeParts, type NativeRunner } from './native-engine';
import { clipGradNorm_, clipGradValue_ } from '../optim/clip-grad';
import { planDistributed, reduceMeans, type DistributedPlan } from './distributed-fit';
import { planPrecision, type Precision, type PrecisionPlan } from '../amp/precision';
import { DataLoader } from '../data/loader';
import { resumeFit, type ResumeFrom } from './resume';
import { withCheckpointRun } from './checkpoint-run';

/**
 * What a feature cache (tg.transfer.cacheFeatures) gives fit: the model part above the cut and the
 * batches of cached features to train it on. fit calls prepareFit once, before the first epoch.
 */
export interface FitCache {
  prepareFit(
    model: Trainable,
    data: DataSource,
    options: { batchSize: number; shuffle: boolean; seed?: number },
  ): { model: Trainable; data: DataSource } | Promise<{ model: Trainable; data: DataSource }>;
}

/** fit's options; optimizer and loss are required. */
export interface FitOptions {
  /** Epochs to run in this call (default 1). */
  epochs?: number;
  /** Number given to the first epoch (default 0; the history's next epoch when `history` is given). */
  initialEpoch?: number;
  optimizer: StepOptimizer;
  loss: LossSpec;
  metrics?: MetricSpec[] | MetricSpec;
  /**
   * Data evaluated after every epoch: its results are logged as val_loss and val_<metric>. Validation batches of
   * [x, y, w] weigh val_loss by w as training does; classWeights do not apply to it (Keras' convention).
   */
  validation?: DataSource;
  /**
   * Holds out this fraction (0 < f < 1) of the data (tensors or a dataset) as validation data: N - floor(N * (1 - f))
   * examples drawn at random by a generator seeded with `seed` (default 0), each part in the data's order, drawn before
   * any shuffling. Not Keras' last fraction: data listed by class (an image folder) would validate on the last classes
   * only. The same data size and seed give the same split on every call, so a later phase never trains on the earlier
   * phase's validation examples. Cannot be combined with `validation`.
   */
  validationSplit?: number;
  callbacks?: Callback[];
  /** Stop when a monitored value stops improving (see EarlyStopping). */
  earlyStopping?: EarlyStoppingOptions;
  /** For data given as a dataset or tensors: examples per batch (default 32). */
  batchSize?: number;
  /** For data given as a dataset or tensors: reshuffle every epoch (default true). */
  shuffle?: boolean;
  /** Shuffling seed for data given as a dataset or tensors (see DataLoader). */
  seed?: number;
  /** Batches are moved here before the forward pass; the model must already be there. */
  device?: string;
  /** 0 silent; 1 (default) a progress bar on a terminal, one line per epoch otherwise; 2 one line per epoch. */
  verbose?: Verbosity;
  /** Where progress goes (default process.stderr). */
  output?: ProgressStream;
  /** A History to append to (a later phase of the same run). */
  history?: History;
  /** Train on a feature cache's batches, through the model's part above the cut. */
  cache?: FitCache;
  /**
   * Which training loop runs (default 'auto'). 'native' traces the step (forward, loss, metrics) with tg.jit's tracer
   * and runs whole epochs in C++ on a worker thread, leaving the event loop free; it needs a tg.nn model, a tg.optim
   * optimizer, data given as tensors, a TensorDataset or a feature cache (a disk cache's reader hands each batch to C++
   * as it reads it), and no onBackward callback, and it
   * throws ERR_NATIVE_ENGINE saying which is missing. 'auto' runs natively when it can, else the JS loop. 'js' always
   * runs every op from JavaScript. Both give the same weights from the same seed. Without this option,
   * $TORCHGRAFT_FIT_ENGINE chooses, else 'auto'.
   */
  engine?: FitEngine;
  /** Scale the gradients so that their total 2-norm is at most this, before each step (clip_grad_norm_). */
  clipGradNorm?: number;
  /** Clamp each gradient element to [-v, v] before each step (clip_grad_value_); applied before clipGradNorm. */
  clipGradValue?: number;
  /**
   * Data-parallel training on the tg.distributed default group (init first): the model is wrapped in
   * DistributedDataParallel, the data (a dataset or tensors) sharded by a DistributedSampler seeded with `seed`, the
   * gradients averaged across ranks before each step, the epoch's loss and metrics averaged over every rank's
   * examples, and progress printed by rank 0 only. Runs the JS loop.
   */
  distributed?: boolean;
  /**
   * Go on with a run that ModelCheckpoint saved: a checkpoint folder (its latest.json) or file, or `{ path, ifMissing:
   * 'startFresh' }` to start from scratch when there is none yet. Model, optimizer, scheduler, random generators,
   * shuffling position and history (replacing the `history` option's epochs) are restored, and training goes on from the epoch after the checkpoint's to the
   * interrupted call's last (`epochs` counts from that call's first epoch), with the same weights as a run never stopped.
   */
  resumeFrom?: ResumeFrom;
  /**
   * Cancels the run: once aborted, training stops after the current batch (training or validation; the native engine
   * after its current chunk of at most CHUNK_MS, or on a disk cache after its current run of at most 4 batches), the
   * model's mode is restored, onTrainEnd callbacks run, and fit resolves with a History whose `stopped` is `{ epoch,
   * reason: 'aborted' }`, epoch being the first epoch not completed; that interrupted epoch is not in `history.epochs`
   * and no onEpochEnd sees it, and gradients accumulated since the last step are dropped. A signal already aborted
   * when fit is called (or while a feature cache is being prepared) rejects with an AbortError (name 'AbortError',
   * code 'ABORT_ERR', cause: the signal's reason). In distributed training abort every rank, so that none waits for
   * the others' next collective.
   */
  signal?: AbortSignalLike;
  /**
   * Gradient accumulation: the optimizer steps once every `accumulate` batches (a positive integer, default 1) on the
   * gradients of those batches, each weighted by its share of their examples (of their summed weights, with class or
   * sample weights), so that, for losses with mean reduction, the weights equal training with batches `accumulate`
   * times larger. The last batches of an epoch step too when fewer (PyTorch's usual loop), averaged over what they
   * hold, as one smaller batch would be. Clipping and onBackward apply to the accumulated gradient before each step.
   * The JS loop runs it ('native' refuses; 'auto' falls back); not with `distributed` yet.
   */
  accumulate?: number;
  /**
   * One weight per class for the losses 'crossEntropy' and 'nll' (PyTorch's `weight`): the batch loss is
   * sum(w[y_i] * l_i) / sum(w[y_i]), as F.cross_entropy(weight=...) with mean reduction. For imbalanced data; applies
   * to the training loss only (val_loss and metrics stay unweighted).
   * Sample weights come with the data instead: training items [x, y, w] (a TensorDataset of three tensors) make the loss
   * the weighted mean sum(w_i * l_i) / sum(w_i) of the per-example losses (named losses only; with classWeights each
   * w_i is multiplied by its class's weight). Metrics are never weighted. The epoch's logged `loss` is the mean of its
   * batch losses by example count (on both engines); val_loss (and evaluate) the weighted mean over all the data.
   */
  classWeights?: number[] | Tensor;
  /** 'fp32' (default); 'bf16': forward and loss under autocast to bfloat16 (CPU or CUDA); 'fp16': CUDA autocast to float16 with a GradScaler (see tg.amp). JS loop only. */
  precision?: Precision;
}

const WHERE = 'fit';
// Models inside a fit: a second fit of the same model would run it under the first one (on another thread, natively).
const inTraining = new WeakSet<object>();

/**
 * Trains a model: for each epoch, model.train(), then per batch (inside tidy) zeroGrad, forward, loss,
 * backward, optimizer step; then validation in eval mode without autograd. Yields to the event loop between
 * batches, so timers and I/O keep running. Resolves with the History.
 * @example const history = await tg.fit(net, trainSet, { epochs: 10, optimizer, loss: 'crossEntropy', metrics: ['accuracy'], validation: valSet });
 */
export async function fit(model: Trainable, data: DataSource, options: FitOptions): Promise<History> {
  const o = checkOptions(model, options);
  if (inTraining.has(model)) throw new TorchError('fit: this model is already being trained by another fit (await it first)', { code: 'ERR_MODEL_BUSY' });
  const objective = makeObjective(o.loss, o.classWeights, WHERE);
  const split = o.validationSplit === undefined ? undefined : splitForValidation(data, o.validationSplit, o.seed);
  inTraining.add(model);
  try {
    return await fitOnce(model, split ? split.train : data, split ? { ...o, validation: split.validation } : o, objective);
  } finally {
    inTraining.delete(model);
    split?.dispose();
    objective.dispose();
  }
}

async function fitOnce(model: Trainable, data: DataSource, o: FitOptions, objective: Objective): Promise<History> {
  // validation and val_loss: sample weights of [x, y, w] batches apply, class weights do not
  const valObjective = makeObjective(o.loss, undefined, WHERE);
  const metrics = resolveMetrics(o.metrics, WHERE);
  const callbacks = checkCallbacks(o.callbacks, WHERE).slice();
  if (o.earlyStopping !== undefined) callbacks.push(new EarlyStopping(o.earlyStopping));
  const precision = planPrecision(o.precision, o.device, model, o.optimizer, WHERE);
  const batchSize = o.batchSize ?? 32;
  const shuffle = o.shuffle ?? true;
  let net = model;
  let train: BatchSource;
  let dist: DistributedPlan | undefined;
  if (o.distributed) {
    if (o.engine === 'native') throw nativeRefused('distributed training awaits the gradient all-reduce between backward and step');
    if ((o.accumulate ?? 1) > 1) throw new TypeError('fit: accumulate with distributed training is not supported yet');
    let shardFrom: { model: Trainable; data: DataSource } = { model, data };
    if (o.cache !== undefined) {
      // every rank holds the whole cache (see cacheFeatures' distributed option); the sampler shards it per epoch
      const p = await prepareCache(o.cache, model, data, { batchSize, shuffle, seed: o.seed }, o.signal);
      shardFrom = { model: p.model, data: p.data instanceof DataLoader ? p.data.dataset : p.data };
    }
    dist = await planDistributed(shardFrom.model, shardFrom.data, { batchSize, shuffle, seed: o.seed });
    net = shardFrom.model;
    train = dist.source;
  } else if (o.cache !== undefined) {
    const p = await prepareCache(o.cache, model, data, { batchSize, shuffle, seed: o.seed }, o.signal);
    net = p.model;
    train = toSource(p.data, { batchSize, shuffle, seed: o.seed }, WHERE);
  } else train = toSource(data, { batchSize, shuffle, seed: o.seed }, WHERE);
  const val = o.validation === undefined ? undefined : toSource(o.validation, { batchSize, shuffle: false }, 'fit (validation)');
  // Validation data are raw inputs, not cached features: with a cache they go through the whole model.
  const evalNet = o.cache !== undefined ? model : net;

  const resumed = o.resumeFrom === undefined ? undefined : await resumeFit(o.resumeFrom, { model: net, optimizer: o.optimizer, loader: train.loader, callbacks, history: o.history, epochs: o.epochs ?? 1, initialEpoch: o.initialEpoch });
  const history = resumed?.history ?? o.history ?? new History();
  const initialEpoch = resumed?.initialEpoch ?? o.initialEpoch ?? (o.history ? (history.last()?.epoch ?? -1) + 1 : 0);
  const endEpoch = resumed?.endEpoch ?? initialEpoch + (o.epochs ?? 1);
  let stopReason: string | undefined;
  // the first epoch an abort left incomplete
  let abortedAt: number | undefined;
  const ctx: FitContext = {
    model: net,
    optimizer: o.optimizer,
    history,
    initialEpoch,
    endEpoch,
    stop(reason?: string) {
      stopReason ??= reason ?? 'stopped by a callback';
    },
    get stopRequested() {
      return stopReason !== undefined;
    },
    rank: dist?.rank,
  };
  const progress = new Progress(o.output ?? process.stderr, dist && dist.rank !== 0 ? 0 : o.verbose ?? 1, endEpoch);
  const accumulate = o.accumulate ?? 1;
  if (accumulate > 1) paramsOf(net, 'accumulate'); // its TypeError before any step
  const step: StepParts = {
    net, optimizer: o.optimizer, lossFn: objective.plain, objective, metrics, callbacks, ctx, device: o.device,
    clipGradNorm: o.clipGradNorm, clipGradValue: o.clipGradValue, sync: dist?.sync, accumulate, signal: o.signal, precision,
  };
  const engine = dist ? 'js' : o.engine ?? defaultEngine();
  let native: NativeRunner | undefined;
  if (engine === 'native' && precision.precision !== 'fp32') throw nativeRefused(`precision '${precision.precision}' runs in the JS loop`);
  if (engine !== 'js' && precision.precision === 'fp32') {
    const plan = planNative(train, step);
    if (plan.ok) native = plan.runner;
    else if (engine === 'native') throw nativeRefused(plan.reason);
  }
  history.engine = native ? 'native' : 'js';

  const body = async (): Promise<void> => {
    try {
      await callAll(callbacks, 'onTrainBegin', ctx);
      for (let epoch = initialEpoch; epoch < endEpoch && !ctx.stopRequested; epoch++) {
        if (o.signal?.aborted) {
          abortedAt = epoch;
          break;
        }
        await callAll(callbacks, 'onEpochBegin', epoch, ctx);
        const t0 = performance.now();
        net.train(true);
        if (native) {
          const why = native.prepare();
          if (why !== undefined && engine === 'native') throw nativeRefused(why);
          if (why !== undefined) native = undefined;
          history.engine = native ? 'native' : 'js';
        }
        const result = native ? await native.runEpoch(epoch, ctx, progress, epoch + 1 < endEpoch) : await trainEpoch(train, epoch, step, progress);
        const { batches } = result;
        if (result.aborted) {
          abortedAt = epoch;
          break;
        }
        const means = dist ? await reduceMeans(result.means, (result as { examples?: number }).examples ?? 0) : result.means;
        const logs: EpochLogs = { epoch, ...means, time: 0 };
        if (val) {
          evalNet.eval();
          let v: Record<string, number>;
          try {
            v = await runEval(evalNet, val, valObjective, metrics, o.device, 'fit (validation)', o.signal);
          } catch (e) {
            if (!(e instanceof AbortError)) throw e;
            abortedAt = epoch;
            break;
          }
          for (const [k, x] of Object.entries(v)) logs[`val_${k}`] = x;
        }
        logs.time = (performance.now() - t0) / 1000;
        history.push(logs);
        progress.epochEnd(batches, logs);
        await callAll(callbacks, 'onEpochEnd', epoch, logs, ctx);
      }
      if (abortedAt !== undefined) {
        ctx.stop('aborted');
        history.stopped = { epoch: abortedAt, reason: 'aborted' };
      } else if (stopReason !== undefined) history.stopped = { epoch: history.last()?.epoch ?? initialEpoch, reason: stopReason };
      await callAll(callbacks, 'onTrainEnd', history, ctx);
    } finally {
      progress.close();
    }
  };
  // With a cache the whole model's mode is restored too (validation switched it to eval).
  const run = native ? () => native!.holdingBlocks(body) : body;
  try {
    await withCheckpointRun(ctx, train.loader, callbacks, () => (evalNet === net ? withMode(net, run) : withMode(evalNet, () => withMode(net, run))));
  } finally {
    dist?.release();
  }
  return history;
}

interface StepParts extends NativeParts {
  /** The loss with class and sample weights, and each batch's share of an accumulation. */
  objective: Objective;
  ctx: FitContext;
  /** Distributed training: averages the gradients across ranks between backward and the optimizer's step. */
  sync?: () => Promise<void>;
  /** Batches per optimizer step. */
  accumulate: number;
  precision: PrecisionPlan;
}

/**
 * One pass over the training batches; returns the batch count and the example-weighted means, or `aborted` when the
 * signal stopped it before its last batch.
 */
async function trainEpoch(train: BatchSource, epoch: number, s: StepParts, progress: Progress): Promise<{ batches: number; examples: number; means: Record<string, number>; aborted?: boolean }> {
  const acc = new Accumulator();
  const wantBatchLoss = s.callbacks.some((c) => typeof c.onBatchEnd === 'function');
  const withBackward = s.callbacks.filter((c) => typeof c.onBackward === 'function');
  let batch = 0;
  let examples = 0;
  const group = new Accumulation(s.accumulate);
  const yieldIfDue = eventLoopYielder();
  progress.epochBegin(epoch, train.length);
  try {
    for await (const raw of train.epoch(epoch)) {
      const b = prepareBatch(raw, train.owned, s.device, WHERE);
      let size: number;
      let lossT: Tensor | undefined;
      try {
        const [x, y, w] = b.fields;
        if (y === undefined) throw new TypeError('fit: each training batch needs a target: [x, y]');
        size = x.shape[0] ?? 1;
        examples += size;
        if (s.sync) lossT = await distributedStep(s, x, y, w, size, acc, wantBatchLoss, withBackward);
        else if (s.accumulate === 1) {
          lossT = tidy(() => {
            const l = forwardBackward(s, x, y, w, size, acc, wantBatchLoss, undefined);
            applyStep(s, withBackward);
            return l;
          });
        } else {
          lossT = tidy(() => forwardBackward(s, x, y, w, size, acc, wantBatchLoss, group));
          if (group.full) group.step(s, withBackward);
        }
      } finally {
        b.release();
      }
      progress.batch(batch + 1, () => acc.means());
      if (lossT) {
        const loss = lossT.item();
        lossT.dispose();
        await callAll(s.callbacks, 'onBatchEnd', batch, { batch, size, loss }, s.ctx);
      }
      batch++;
      const turn = yieldIfDue();
      if (turn) await turn;
      if (s.signal?.aborted && !(train.length !== undefined && batch >= train.length)) return { batches: batch, examples, means: acc.means(), aborted: true };
      if (s.ctx.stopRequested) break;
    }
    if (batch === 0)
      throw new TorchError(`fit: the training data gave no batches in epoch ${epoch} (a one-shot iterator already read? pass a DataLoader, a dataset, or a function (epoch) => batches)`, { code: 'ERR_EMPTY_DATA' });
    // the epoch's last, partial accumulation steps too
    if (group.pending > 0) group.step(s, withBackward);
    return { batches: batch, examples, means: acc.means() };
  } finally {
    acc.dispose();
    group.dispose();
  }
}

/** Gradient accumulation's state within an epoch: batches since the last step and the sum of their weights. */
class Accumulation {
  pending = 0;
  private total: Tensor | number = 0;
  constructor(readonly k: number) {}

  get full(): boolean {
    return this.pending >= this.k;
  }

  /** Counts a batch whose backward ran on its loss times `norm`; zeroes the gradients first when a group begins. */
  add(norm: Tensor | number): void {
    this.pending++;
    const t = this.total;
    this.total = isTensor(norm) ? keep(noGrad(() => norm.add(t))) : isTensor(t) ? keep(t.add(norm)) : t + norm;
    if (isTensor(t)) t.dispose();
  }

  /** Divides the summed gradients by the group's total weight, then clips and steps as a batch would. */
  step(s: StepParts, withBackward: Callback[]): void {
    const total = this.total;
    tidy(() => {
      noGrad(() => {
        for (const p of paramsOf(s.net, 'accumulate')) p.grad?.div_(total);
      });
      applyStep(s, withBackward);
    });
    this.dispose();
  }

  dispose(): void {
    if (isTensor(this.total)) this.total.dispose();
    this.total = 0;
    this.pending = 0;
  }
}

/**
 * Forward, loss and backward, the batch's loss and metrics added to acc; the detached loss when wanted. In tidy.
 * With `group` (accumulation), the gradients are those of the loss times the batch's weight, zeroed only when a group
 * begins.
 */
function forwardBackward(s: StepParts, x: Tensor, y: Tensor, w: Tensor | undefined, size: number, acc: Accumulator, wantBatchLoss: boolean, group: Accumulation | undefined): Tensor | undefined {
  if (!group || group.pending === 0) s.optimizer.zeroGrad();
  const [out, loss, norm] = s.precision.forward(() => {
    const o = s.net.forward(x);
    const r = s.objective(o, y, w);
    return [o, r.loss, r.norm] as const;
  });
  if (group) {
    const n = norm();
    s.precision.backward(loss.mul(n));
    group.add(n);
  } else s.precision.backward(loss);
  noGrad(() => {
    acc.add('loss', loss, size);
    for (const m of s.metrics) acc.add(m.name, m.fn(out, y), size);
  });
  acc.count(size);
  return wantBatchLoss ? loss.detach() : undefined;
}

/** The onBackward callbacks, gradient clipping and the optimizer's step. In tidy. */
function applyStep(s: StepParts, withBackward: Callback[]): void {
  s.precision.unscale(s.optimizer);
  for (const c of withBackward) c.onBackward!(s.ctx);
  if (s.clipGradValue) clipGradValue_(paramsOf(s.net, 'clipGradValue'), s.clipGradValue);
  if (s.clipGradNorm) clipGradNorm_(paramsOf(s.net, 'clipGradNorm'), s.clipGradNorm);
  s.precision.step(s.optimizer);
}

/** One step of distributed training: forward and backward, the ranks' gradients averaged, then the step. */
async function distributedStep(s: StepParts, x: Tensor, y: Tensor, w: Tensor | undefined, size: number, acc: Accumulator, wantBatchLoss: boolean, withBackward: Callback[]): Promise<Tensor | undefined> {
  const lossT = tidy(() => forwardBackward(s, x, y, w, size, acc, wantBatchLoss, undefined));
  try {
    await s.sync!();
    tidy(() => applyStep(s, withBackward));  // onBackward after the all-reduce, as PyTorch's hooks see averaged gradients
  } catch (e) {
    lossT?.dispose();
    throw e;
  }
  return lossT;
}

/** The engine when fit is given none: $TORCHGRAFT_FIT_ENGINE ('js', 'native' or 'auto'), else 'auto'. */
function defaultEngine(): FitEngine {
  const v = process.env.TORCHGRAFT_FIT_ENGINE;
  if (v === undefined || v === '') return 'auto';
  if (v === 'js' || v === 'native' || v === 'auto') return v;
  throw new TypeError(`fit: TORCHGRAFT_FIT_ENGINE must be 'js', 'native' or 'auto', got '${v}'`);
}

/** The feature cache's head and cached batches for this model and data; an abort while it was built rejects here. */
async function prepareCache(cache: FitCache, model: Trainable, data: DataSource, o: { batchSize: number; shuffle: boolean; seed?: number }, signal: AbortSignalLike | undefined): Promise<{ model: Trainable; data: DataSource }> {
  if (typeof cache?.prepareFit !== 'function') throw new TypeError('fit: cache must be a feature cache (with prepareFit)');
  const p = await cache.prepareFit(model, data, o);
  throwIfAborted(signal, WHERE);
  return p;
}

function nativeRefused(reason: string): TorchError {
  return new TorchError(`fit: engine 'native' cannot run this: ${reason} (use engine 'auto' to fall back to the JS loop)`, { code: 'ERR_NATIVE_ENGINE' });
}

function paramsOf(net: Trainable, option: string): Tensor[] {
  const m = net as { parameters?: () => Tensor[] };
  if (typeof m.parameters !== 'function') throw new TypeError(`fit: ${option} needs a model with parameters() (a tg.nn.Module)`);
  return m.parameters();
}

function checkOptions(model: unknown, options: FitOptions): FitOptions {
  const m = model as Trainable;
  if (m === null || typeof m !== 'object' || typeof m.forward !== 'function' || typeof m.train !== 'function' || typeof m.eval !== 'function')
    throw new TypeError('fit: model must have forward(x), train() and eval() (a tg.nn.Module)');
  if (options === null || typeof options !== 'object') throw new TypeError('fit: expected options { epochs, optimizer, loss }');
  checkFitKeys(options, FIT_OPTION_KEYS, WHERE);
  checkSignal(options.signal, WHERE);
  const opt = options.optimizer as StepOptimizer | undefined;
  if (!opt || typeof opt.zeroGrad !== 'function' || typeof opt.step !== 'function')
    throw new TypeError('fit: options.optimizer must have zeroGrad() and step() (a tg.optim optimizer)');
  if (options.loss === undefined) throw new TypeError("fit: options.loss is required (a name such as 'crossEntropy', or a function)");
  const int = (v: unknown, name: string, min: number) => {
    if (v !== undefined && (!Number.isInteger(v) || (v as number) < min)) throw new RangeError(`fit: ${name} must be an integer >= ${min}, got ${String(v)}`);
  };
  int(options.epochs, 'epochs', 1);
  int(options.initialEpoch, 'initialEpoch', 0);
  int(options.batchSize, 'batchSize', 1);
  int(options.accumulate, 'accumulate', 1);
  const vs = options.validationSplit;
  if (vs !== undefined && (typeof vs !== 'number' || !(vs > 0 && vs < 1))) throw new RangeError(`fit: validationSplit must be a fraction between 0 and 1 (exclusive), got ${String(vs)}`);
  if (vs !== undefined && options.validation !== undefined) throw new TypeError('fit: give validation or validationSplit, not both');
  if (vs !== undefined && options.cache !== undefined)
    throw new TypeError('fit: validationSplit with a feature cache is not supported (the cache is verified against the data it was built from): split the data yourself and cache the training part');
  if (options.verbose !== undefined && ![0, 1, 2].includes(options.verbose)) throw new RangeError(`fit: verbose must be 0, 1 or 2, got ${String(options.verbose)}`);
  if (options.engine !== undefined && !['js', 'native', 'auto'].includes(options.engine))
    throw new TypeError(`fit: engine must be 'js', 'native' or 'auto', got ${String(options.engine)}`);
  for (const k of ['clipGradNorm', 'clipGradValue'] as const) {
    const v = options[k];
    if (v !== undefined && (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))) throw new RangeError(`fit: ${k} must be a finite number > 0, got ${String(v)}`);
  }
  if (options.history !== undefined && !(options.history instanceof History)) throw new TypeError('fit: history must be a History from an earlier fit');
  throwIfAborted(options.signal, WHERE);
  return options;
}
