/**
 * fit's native engine: the training step (forward, loss and metrics) is traced once per batch shape with tg.jit's
 * tracer, then whole epochs run in C++ on a worker thread (native/native_epoch.cc) with the same ops in the same order
 * as the JavaScript loop, so the weights come out the same, while the event loop stays free.
 */
import type { AbortSignalLike } from '../portable-types';
import { binding } from '../native';
import type { NativeEpochReport, NativeEpochSpec, NativeScriptModule } from '../binding';
import { getCudaRngStates, getRngState, setCudaRngStates, setRngState, tensor } from '../creation';
import { dispose, tidy } from '../memory';
import { noGrad } from '../autograd';
import { isTensor, type Tensor } from '../tensor';
import { TorchError } from '../errors';
import { whileTracing } from '../jit/trace-state';
import { nativeOptimizerOf } from '../optim/optimizer';
import { noteUncountedWrite } from '../uncounted-writes';
import type { DataLoader } from '../data/loader';
import type { DType } from '../dtype';
import type { Module } from '../nn/module';
import type { Callback, FitContext } from './callbacks';
import { callAll } from './callbacks';
import type { LossFn } from './losses';
import type { Metric } from './metrics';
import type { Progress } from './progress';
import type { BatchSource } from './source';
import { AHEAD_BATCHES, FED_BATCHES_PER_RUN, FedStream, releaseFed, takeBatches, type FedSource, type TakenBatches } from './native-fed';
import type { StepOptimizer, Trainable } from './types';

/** Which loop fit runs: 'js' (every op a call from JavaScript), 'native' (whole epochs in C++), 'auto' (native when it can). */
export type FitEngine = 'js' | 'native' | 'auto';

/** What the native engine needs besides the step. */
export interface NativeParts {
  net: Trainable;
  optimizer: StepOptimizer;
  lossFn: LossFn;
  metrics: Metric[];
  callbacks: Callback[];
  device?: string;
  clipGradNorm?: number;
  clipGradValue?: number;
  /** Batches per optimizer step: the native epoch steps on every batch, so more than 1 is refused. */
  accumulate?: number;
  /** Checked between chunks: an aborted signal ends the epoch there. */
  signal?: AbortSignalLike;
}

/** Where the epoch's batches come from: the dataset's tensors gathered in C++, or batches fed one at a time. */
type Gather = { loader: DataLoader; tensors: Tensor[]; casts: (DType | null)[]; fed?: undefined } | { loader: DataLoader; fed: FedSource };

/** A plan the native engine can run, or why it cannot (then fit's 'auto' takes the JS loop). */
export type NativePlan = { ok: true; runner: NativeRunner } | { ok: false; reason: string };

/** Decides whether fit can train `parts.net` on `train` natively; tracing waits for the first epoch. */
export function planNative(train: BatchSource, parts: NativeParts): NativePlan {
  const net = parts.net as unknown as Module;
  if (typeof net.namedParameters !== 'function' || typeof net.namedBuffers !== 'function' || typeof net.namedModules !== 'function')
    return { ok: false, reason: 'the model is not a tg.nn.Module' };
  const nativeOpt = nativeOptimizerOf(parts.optimizer);
  if (!nativeOpt) return { ok: false, reason: 'the optimizer is not one of tg.optim' };
  void nativeOpt.groupCount; // throws ERR_OPTIMIZER_BUSY now, before a trace would run the model under another fit
  if (parts.callbacks.some((c) => typeof c.onBackward === 'function')) return { ok: false, reason: 'an onBackward callback runs between backward and step' };
  if ((parts.accumulate ?? 1) > 1) return { ok: false, reason: 'gradient accumulation (accumulate > 1) steps once every few batches' };
  const loader = train.loader;
  const ds = loader?.dataset as { gatherPlan?: () => { tensors: Tensor[]; casts: (DType | null)[] } } & Partial<FedSource> | undefined;
  const notTensors = 'the data are not tensors, a TensorDataset or a feature cache (batched without a collate function)';
  if (!loader || loader.hasCollate) return { ok: false, reason: notTensors };
  if (typeof ds?.nativeFeedFields === 'function' && typeof ds.loadFed === 'function') {
    const n = ds.nativeFeedFields();
    if (n < 2) return { ok: false, reason: 'the dataset has no targets (it needs [x, y])' };
    if (n > 2) return { ok: false, reason: 'the dataset carries sample weights (a third field [x, y, w])' };
    return { ok: true, runner: new NativeRunner({ loader, fed: ds as FedSource }, parts) };
  }
  if (typeof ds?.gatherPlan !== 'function') return { ok: false, reason: notTensors };
  const { tensors, casts } = ds.gatherPlan();
  if (tensors.length < 2) return { ok: false, reason: 'the dataset has no targets (it needs [x, y])' };
  if (tensors.length > 2) return { ok: false, reason: 'the dataset carries sample weights (a third field [x, y, w])' };
  return { ok: true, runner: new NativeRunner({ loader, tensors, casts }, parts) };
}

/**
 * Epochs that took less than this run on the JS thread next time (still in C++): handing one to a pool thread and back
 * costs about 0.25 ms, more than a tiny epoch, while the event loop is held no longer than this.
 */
export const INLINE_EPOCH_MS = 1.5;

/**
 * How long one native chunk of an epoch may run before it returns to JavaScript (progress, and the point where a
 * terminated worker_thread or a stop takes effect); a hop costs ~0.25 ms, so 50 ms chunks cost under 1%.
 */
export const CHUNK_MS = 50;

/** Runs epochs natively; keeps the traced steps while the model's modes stay as they were. */
export class NativeRunner {
  private steps = new Map<number, NativeScriptModule>();
  private modesKey = '';
  private lastEpochMs = Infinity;
  /** Fed: the next epoch's stream, opened AHEAD_BATCHES before this epoch's end. */
  private ahead?: FedStream;

  constructor(
    private readonly gather: Gather,
    private readonly parts: NativeParts,
  ) {}

  /** Runs `body` with the native epochs' recycled CPU blocks kept from one epoch to the next. */
  async holdingBlocks<T>(body: () => Promise<T>): Promise<T> {
    binding.recycleCpuBlocks(true);
    try {
      return await body();
    } finally {
      const ahead = this.ahead;
      this.ahead = undefined;
      await ahead?.close(); // the next epoch's stream, opened for an epoch that did not come
      binding.recycleCpuBlocks(false);
    }
  }

  /**
   * Traces the step for each batch size the epoch will see (at most two). Returns why it cannot be traced (a value read
   * into JavaScript, a metric that returns a number, or the forward's own error), or undefined when ready.
   */
  prepare(): string | undefined {
    const net = this.parts.net as unknown as Module;
    const key = net.namedModules().map(([n, m]) => `${n}:${m.training ? 1 : 0}`).join() + `#${net.parameters().length}`;
    if (key !== this.modesKey) this.steps.clear();
    this.modesKey = key;
    const { loader } = this.gather;
    const n = loader.dataset.length ?? 0;
    const sizes = new Set<number>();
    if (n >= loader.batchSize) sizes.add(loader.batchSize);
    if (n % loader.batchSize && !loader.dropLast) sizes.add(n % loader.batchSize);
    for (const rows of sizes) {
      if (this.steps.has(rows)) continue;
      const traced = this.traceStep(rows);
      if (typeof traced === 'string') return traced;
      this.steps.set(rows, traced);
    }
    return undefined;
  }

  /**
   * One epoch in C++; progress and onBatchEnd callbacks come back between batches. `more`: another epoch follows (a fed
   * epoch then starts reading the next one's first batch before it ends).
   */
  async runEpoch(epoch: number, ctx: FitContext, progress: Progress, more = false): Promise<EpochResult> {
    if (this.gather.fed) return this.runFedEpoch(this.gather.fed, epoch, ctx, progress, more);
    const { loader, tensors, casts } = this.gather;
    const p = this.parts;
    const means = this.meansOf();
    const withBatchEnd = p.callbacks.some((c) => typeof c.onBatchEnd === 'function');
    const order = tensor(Int32Array.from(loader.takeOrder()), { dtype: 'int64' });
    const net = p.net as unknown as Module;
    const spec: NativeEpochSpec = { ...this.specBase(), fields: tensors, casts, order, inline: !withBatchEnd && this.lastEpochMs < INLINE_EPOCH_MS };
    progress.epochBegin(epoch, loader.length);
    const t0 = performance.now();
    try {
      const handle = binding.nativeEpoch(spec);
      let r: NativeEpochReport;
      for (;;) {
        // one batch at a time when onBatchEnd must see each; else chunks short enough for a prompt stop
        r = await handle.run(withBatchEnd, CHUNK_MS);
        const last = r;
        progress.batch(r.batches, () => means(last.sums, last.count));
        if (withBatchEnd && r.batches > 0) {
          const batch = r.batches - 1;
          await callAll(p.callbacks, 'onBatchEnd', batch, { batch, size: r.size, loss: r.loss }, ctx);
          if (ctx.stopRequested) break;
        }
        if (r.done) break;
        if (p.signal?.aborted) return { batches: r.batches, means: means(r.sums, r.count), aborted: true };
      }
      this.lastEpochMs = performance.now() - t0;
      if (r.batches === 0) throw new TorchError(`fit: the training data gave no batches in epoch ${epoch}`, { code: 'ERR_EMPTY_DATA' });
      return { batches: r.batches, means: means(r.sums, r.count) };
    } finally {
      order.dispose();
      // batch_norm's running statistics moved without version bumps (see uncounted-writes)
      for (const [, b] of net.namedBuffers()) noteUncountedWrite(b);
    }
  }

  /**
   * One epoch whose batches the dataset reads itself (a disk cache reads and checks its blocks on worker threads, ahead
   * of training): each batch is handed to C++ as it arrives, its rows gathered there, and trained, off this thread.
   */
  private async runFedEpoch(source: FedSource, epoch: number, ctx: FitContext, progress: Progress, more: boolean): Promise<EpochResult> {
    const { loader } = this.gather;
    const p = this.parts;
    const means = this.meansOf();
    const withBatchEnd = p.callbacks.some((c) => typeof c.onBatchEnd === 'function');
    const net = p.net as unknown as Module;
    const options = { batchSize: loader.batchSize, dropLast: loader.dropLast };
    let stream = this.ahead;
    this.ahead = undefined;
    if (stream && stream.loaderEpoch === loader.epoch) loader.setEpoch(loader.epoch + 1);
    else {
      await stream?.close(); // opened for another epoch (the loader's epoch was set since)
      stream = new FedStream(source, loader.takeOrder(), options, loader.epoch - 1);
    }
    const handle = binding.nativeEpoch({ ...this.specBase(), fed: true });
    const total = loader.length ?? Infinity;
    progress.epochBegin(epoch, loader.length);
    let r: NativeEpochReport | undefined;
    // the first run starts with the epoch's first batch; each later run's batches are taken while the run before trains
    let taking: Promise<TakenBatches> | undefined = takeBatches(stream, 1);
    try {
      while (taking) {
        const taken = await taking;
        taking = undefined;
        if (taken.values.length === 0) {
          if (taken.error) throw taken.error;
          break;
        }
        const running = handle.run(true, -1, ...taken.values);
        if (!taken.done) taking = takeBatches(stream, withBatchEnd ? 1 : FED_BATCHES_PER_RUN);
        try {
          r = await running;
        } finally {
          taken.values.forEach(releaseFed);
        }
        if (more && !this.ahead && total - r.batches <= AHEAD_BATCHES) {
          this.ahead = new FedStream(source, loader.order(loader.epoch), options, loader.epoch);
          this.ahead.start();
        }
        const last = r;
        progress.batch(r.batches, () => means(last.sums, last.count));
        if (withBatchEnd) {
          const b = r.batches - 1;
          await callAll(p.callbacks, 'onBatchEnd', b, { batch: b, size: r.size, loss: r.loss }, ctx);
          if (ctx.stopRequested) break;
        }
        if (taken.error) throw taken.error;
        if (p.signal?.aborted) return { batches: r.batches, means: means(r.sums, r.count), aborted: true };
      }
      if (!r || r.batches === 0) throw new TorchError(`fit: the training data gave no batches in epoch ${epoch}`, { code: 'ERR_EMPTY_DATA' });
      return { batches: r.batches, means: means(r.sums, r.count) };
    } finally {
      // batches taken for a run that will not come
      if (taking) (await taking).values.forEach(releaseFed);
      await stream.close();
      for (const [, b] of net.namedBuffers()) noteUncountedWrite(b);
    }
  }

  /** What every epoch's spec holds: the traced steps, the batching, the optimizer, clipping and the device. */
  private specBase(): NativeEpochSpec {
    const { loader } = this.gather;
    const p = this.parts;
    return {
      steps: [...this.steps],
      batchSize: loader.batchSize,
      dropLast: loader.dropLast,
      optimizer: nativeOptimizerOf(p.optimizer)!,
      params: (p.net as unknown as Module).parameters(),
      clipNorm: p.clipGradNorm,
      clipValue: p.clipGradValue,
      device: p.device,
    };
  }

  /** The epoch's means from the native sums: loss then each metric, per example. */
  private meansOf(): (sums: number[], count: number) => Record<string, number> {
    const names = ['loss', ...this.parts.metrics.map((m) => m.name)];
    return (sums, count) => Object.fromEntries(names.map((k, i) => [k, (sums[i] ?? 0) / (count || 1)]));
  }

  /** Traces forward + loss + metrics on the first `rows` examples, leaving the RNG and the buffers as they were. */
  private traceStep(rows: number): NativeScriptModule | string {
    const { loader } = this.gather;
    const p = this.parts;
    const net = p.net as unknown as Module;
    const rng = getRngState();
    const cudaRng = getCudaRngStates();
    const buffers = [...net.namedBuffers()];
    const saved = noGrad(() => buffers.map(([, b]) => b.clone()));
    const reads: string[] = [];
    try {
      return tidy(() => {
        const idx = Array.from({ length: rows }, (_, i) => i);
        const batch = (loader.dataset as { getBatch(i: number[]): Tensor[] }).getBatch(idx).slice(0, 2);
        const [x, y] = p.device ? batch.map((t) => t.to(p.device!)) : batch;
        const step = (xi: Tensor, yi: Tensor): Tensor[] => {
          const out = p.net.forward(xi);
          const loss = p.lossFn(out, yi);
          const values = p.metrics.map((m) => m.fn(out, yi));
          values.forEach((v, i) => {
            if (!isTensor(v) || v.numel !== 1) throw new NotTraceable(`metric '${p.metrics[i].name}' does not return a one-element tensor`);
          });
          if (loss.numel !== 1) throw new NotTraceable('the loss is not a one-element tensor');
          return [loss, ...(values as Tensor[])];
        };
        const { module } = whileTracing(
          () => binding.jitTrace([...net.namedParameters()], buffers, [x, y], step as (...xs: Tensor[]) => Tensor[], net.training),
          reads,
        );
        if (reads.length) return `the step reads tensor values into JavaScript (${[...new Set(reads)].join(', ')})`;
        return module;
      });
    } catch (e) {
      if (e instanceof NotTraceable) return e.message;
      return `the step could not be traced: ${(e as Error)?.message ?? String(e)}`;
    } finally {
      setRngState(rng);
      setCudaRngStates(cudaRng);
      noGrad(() => buffers.forEach(([, b], i) => b.copy_(saved[i])));
      dispose([rng, ...cudaRng, ...saved]);
    }
  }
}

class NotTraceable extends Error {}

type EpochResult = { batches: number; means: Record<string, number>; aborted?: boolean };
