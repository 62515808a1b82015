/** DistributedDataParallel: one model replica per process, gradients averaged across ranks in buckets during backward. */
import { Module } from '../module';
import { binding } from '../../native';
import { broadcast, named } from '../../distributed/collectives';
import { group } from '../../distributed/process-group';
import { checkKnownKeys } from '../../known-keys';

/** The native reducer of the current trainable set, and the key that says which set it serves. */
interface Reducer {
  key: string;
  id: number;
}

/** What the last `syncGradients()` did. */
export interface SyncStats {
  /** Buckets all-reduced. */
  buckets: number;
  /** Of those, the buckets whose all-reduce started during backward, overlapping it (the rest started at the sync). */
  overlapped: number;
}

// A DDP wrapper dropped without dispose() still unhooks its parameters when collected.
const reducers = new FinalizationRegistry<{ id?: number }>((held) => {
  if (held.id !== undefined) binding.ddpDispose(held.id);
});

/** Options of DistributedDataParallel. */
export interface DistributedDataParallelOptions {
  /** Gradients are all-reduced in buckets of about this many MiB (default 25, as PyTorch). */
  bucketCapMb?: number;
  /** Send rank 0's buffers (BatchNorm statistics) to every rank at each gradient sync (default true, as PyTorch). */
  broadcastBuffers?: boolean;
  /**
   * Trainable parameters that got no gradient in a step count as zero gradients (default false: such a parameter is
   * an ERR_DISTRIBUTED error, as PyTorch's, since the ranks' buckets would no longer agree).
   */
  findUnusedParameters?: boolean;
}

/**
 * Wraps a model for data-parallel training, as `torch.nn.parallel.DistributedDataParallel`: the wrapped model is the
 * child `module` (state-dict keys gain `module.`, as PyTorch's); `ready` resolves once rank 0's parameters and buffers
 * are on every rank. As PyTorch's reducer, a hook on each trainable parameter copies its gradient into a bucket during
 * backward, and a full bucket starts its all-reduce at once (buckets in reverse order of registration, so the last
 * layers' gradients travel while backward computes the first layers'); `syncGradients()` after `backward()` waits for
 * them and leaves the average across ranks in each gradient. Frozen parameters (`requiresGrad` false) are never sent:
 * they stay bitwise as they are; freezing or unfreezing between steps rebuilds the buckets.
 * @example
 * const ddp = new tg.nn.parallel.DistributedDataParallel(model); await ddp.ready;
 * loss.backward(); await ddp.syncGradients(); opt.step();
 */
export class DistributedDataParallel extends Module {
  declare readonly module: Module;
  readonly ready: Promise<void>;
  /** What the last `syncGradients()` did (undefined before the first). */
  lastSync?: SyncStats;
  private readonly bucketBytes: number;
  private readonly broadcastBuffers: boolean;
  private readonly findUnusedParameters: boolean;
  private reducer?: Reducer;
  private readonly held: { id?: number } = {};

  constructor(module: Module, options: DistributedDataParallelOptions = {}) {
    super();
    if (!(module instanceof Module)) throw new TypeError('DistributedDataParallel: expected a tg.nn.Module to wrap');
    if (options === null || typeof options !== 'object') throw new TypeError('DistributedDataParallel: options must be an object');
    checkKnownKeys(options, ['bucketCapMb', 'broadcastBuffers', 'findUnusedParameters'], 'DistributedDataParallel');
    const cap = options.bucketCapMb ?? 25;
    if (typeof cap !== 'number' || !(cap > 0) || !Number.isFinite(cap)) throw new RangeError(`DistributedDataParallel: bucketCapMb must be a positive number, got ${JSON.stringify(cap)}`);
    group();  // throws ERR_DISTRIBUTED before init
    this.bucketBytes = cap * 1024 * 1024;
    this.broadcastBuffers = options.broadcastBuffers ?? true;
    this.findUnusedParameters = options.findUnusedParameters ?? false;
    this.registerModule('module', module);
    reducers.register(this, this.held, this);
    this.ready = this.broadcastState().then(() => void this.currentReducer());
    this.ready.catch(() => undefined);  // the caller awaits it; an unawaited failure must not crash the process
  }

  /** Runs the wrapped model. */
  forward(...args: unknown[]): unknown {
    return (this.module.forward as (...a: unknown[]) => unknown)(...args);
  }

  /** Rank 0's parameters and buffers to every rank, in place. */
  private async broadcastState(): Promise<void> {
    for (const [, t] of [...this.module.namedParameters(), ...this.module.namedBuffers()]) await broadcast(t, 0);
  }

  /** The reducer for today's trainable parameters, in buckets of about bucketCapMb (one dtype each), last layers first. */
  private currentReducer(): Reducer {
    const trainable = this.module.namedParameters().filter(([, p]) => p.requiresGrad).reverse();
    const key = trainable.map(([n, p]) => `${n}:${p.dtype}:${p.shape.join('x')}`).join(',');
    if (this.reducer?.key === key) return this.reducer;
    this.disposeReducer();
    const sizes: number[] = [];
    let bytes = Infinity;
    let dtype = '';
    for (const [, p] of trainable) {
      const size = p.numel * (p.dtype === 'float64' ? 8 : 4);
      if (bytes + size > this.bucketBytes || p.dtype !== dtype) {
        sizes.push(0);
        bytes = 0;
        dtype = p.dtype;
      }
      sizes[sizes.length - 1]++;
      bytes += size;
    }
    const id = binding.ddpCreate(group().id, trainable.map(([, p]) => p), trainable.map(([n]) => n), sizes, this.findUnusedParameters);
    this.reducer = { key, id };
    this.held.id = id;
    return this.reducer;
  }

  private disposeReducer(): void {
    if (this.reducer) binding.ddpDispose(this.reducer.id);
    this.reducer = undefined;
    this.held.id = undefined;
  }

  /**
   * Waits for the gradients' all-reduces (started during backward) and leaves each trainable parameter's gradient
   * averaged across ranks; call it after backward, before the optimizer's step. Then sends rank 0's buffers when
   * broadcastBuffers is on. Gradients accumulated over several backwards before one sync are reduced as they stand.
   * @throws TorchError ERR_DISTRIBUTED for a trainable parameter without a gradient (unless findUnusedParameters), or
   * when another rank failed, left or timed out.
   */
  async syncGradients(): Promise<void> {
    await this.ready;
    const { id } = this.currentReducer();
    let stats: SyncStats | undefined;
    await named('syncGradients', binding.ddpFinish(id).then((s) => void (stats = s)));
    this.lastSync = stats;
    if (this.broadcastBuffers) for (const [, b] of this.module.namedBuffers()) await broadcast(b, 0);
  }

  /**
   * Takes the gradient hooks off the wrapped model's parameters (the model and its tensors stay as they are); a later
   * `syncGradients()` puts them back, counting the gradients already there.
   */
  removeHooks(): void {
    this.disposeReducer();
  }

  /** Removes the gradient hooks, then disposes the wrapped model as Module.dispose does. */
  dispose(): void {
    this.disposeReducer();
    reducers.unregister(this);
    super.dispose();
  }
}
