/** DistributedDataParallel: one model replica per process, gradients averaged across ranks in buckets after backward. */
import { Module } from '../module';
import type { Tensor } from '../../tensor';
import { zeros } from '../../creation';
import { keep } from '../../memory';
import { noGrad } from '../../autograd';
import { TorchError } from '../../errors';
import { allReduce, broadcast } from '../../distributed/collectives';
import { getWorldSize, group } from '../../distributed/process-group';

/** Parameters whose gradients travel together, and the flat buffer they travel in. */
interface Bucket {
  params: [string, Tensor][];
  flat: Tensor;
}

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
 * are on every rank; `syncGradients()` after `backward()` averages the trainable parameters' gradients across ranks, in
 * buckets, in reverse order of registration. Frozen parameters (`requiresGrad` false) are never sent: they stay bitwise
 * as they are. Unlike PyTorch, the all-reduce starts after backward rather than overlapping it.
 * @example
 * const ddp = new tg.nn.parallel.DistributedDataParallel(model); await ddp.ready;
 * loss.backward(); await ddp.syncGradients(); opt.step();
 */
export class DistributedDataParallel extends Module {
  declare readonly module: Module;
  readonly ready: Promise<void>;
  private readonly bucketBytes: number;
  private readonly broadcastBuffers: boolean;
  private readonly findUnusedParameters: boolean;
  private bucketCache?: { key: string; buckets: Bucket[] };

  constructor(module: Module, options: DistributedDataParallelOptions = {}) {
    super();
    if (!(module instanceof Module)) throw new TypeError('DistributedDataParallel: expected a tg.nn.Module to wrap');
    if (options === null || typeof options !== 'object') throw new TypeError('DistributedDataParallel: options must be an object');
    const known = ['bucketCapMb', 'broadcastBuffers', 'findUnusedParameters'];
    const unknown = Object.keys(options).filter((k) => !known.includes(k));
    if (unknown.length) throw new TypeError(`DistributedDataParallel: unknown option ${unknown.join(', ')} (known: ${known.join(', ')})`);
    const cap = options.bucketCapMb ?? 25;
    if (typeof cap !== 'number' || !(cap > 0) || !Number.isFinite(cap)) throw new RangeError(`DistributedDataParallel: bucketCapMb must be a positive number, got ${JSON.stringify(cap)}`);
    group();  // throws ERR_DISTRIBUTED before init
    this.bucketBytes = cap * 1024 * 1024;
    this.broadcastBuffers = options.broadcastBuffers ?? true;
    this.findUnusedParameters = options.findUnusedParameters ?? false;
    this.registerModule('module', module);
    this.ready = this.broadcastState();
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

  /** Trainable parameters in buckets of about bucketCapMb (one dtype each), in reverse registration order. */
  private buckets(): Bucket[] {
    const trainable = this.module.namedParameters().filter(([, p]) => p.requiresGrad).reverse();
    const key = trainable.map(([n, p]) => `${n}:${p.dtype}:${p.shape.join('x')}`).join(',');
    if (this.bucketCache?.key === key) return this.bucketCache.buckets;
    this.bucketCache?.buckets.forEach((b) => b.flat.dispose());
    const groups: [string, Tensor][][] = [];
    let bytes = Infinity;
    for (const entry of trainable) {
      const p = entry[1];
      const size = p.numel * (p.dtype === 'float64' ? 8 : 4);
      const last = groups[groups.length - 1];
      if (bytes + size > this.bucketBytes || (last && last[0][1].dtype !== p.dtype)) {
        groups.push([]);
        bytes = 0;
      }
      groups[groups.length - 1].push(entry);
      bytes += size;
    }
    // one flat buffer per bucket, kept between steps (as PyTorch's buckets): no allocation per step
    const buckets = groups.map((params) => {
      const total = params.reduce((n, [, p]) => n + p.numel, 0);
      const flat = zeros([total], { dtype: params[0][1].dtype, device: params[0][1].device });
      keep(flat);
      return { params, flat };
    });
    this.bucketCache = { key, buckets };
    return buckets;
  }

  /**
   * Averages the gradients of the trainable parameters across ranks (call it after backward, before the optimizer's
   * step), then sends rank 0's buffers when broadcastBuffers is on.
   * @throws TorchError ERR_DISTRIBUTED for a trainable parameter without a gradient (unless findUnusedParameters).
   */
  async syncGradients(): Promise<void> {
    await this.ready;
    const world = getWorldSize();
    for (const { params, flat } of this.buckets()) {
      noGrad(() => {
        let offset = 0;
        for (const [name, p] of params) {
          const n = p.numel;
          const slot = flat.narrow(0, offset, n);
          if (p.grad) {
            const g = p.grad.reshape([-1]);
            slot.copy_(g);
            g.dispose();
          } else if (this.findUnusedParameters) slot.zero_();
          else {
            slot.dispose();
            throw new TorchError(`DistributedDataParallel: parameter '${name}' got no gradient in this step (pass findUnusedParameters: true when some parameters are not used every step)`, { code: 'ERR_DISTRIBUTED' });
          }
          slot.dispose();
          offset += n;
        }
      });
      await allReduce(flat, { op: 'sum' });
      noGrad(() => {
        flat.div_(world);
        let offset = 0;
        for (const [, p] of params) {
          const n = p.numel;
          const slice = flat.narrow(0, offset, n).reshape(p.shape);
          if (p.grad) p.grad.copy_(slice);
          else p.grad = slice.clone();
          slice.dispose();
          offset += n;
        }
      });
    }
    if (this.broadcastBuffers) for (const [, b] of this.module.namedBuffers()) await broadcast(b, 0);
  }
}
