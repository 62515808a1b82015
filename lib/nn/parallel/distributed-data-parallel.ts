/** DistributedDataParallel: one model replica per process, gradients averaged across ranks in buckets after backward. */
import { Module } from '../module';
import type { Tensor } from '../../tensor';
import { cat, zerosLike } from '../../creation';
import { noGrad } from '../../autograd';
import { TorchError } from '../../errors';
import { allReduce, broadcast } from '../../distributed/collectives';
import { getWorldSize, group } from '../../distributed/process-group';

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

  /** Trainable parameters in buckets of about bucketCapMb, in reverse registration order (the order backward ends in). */
  private buckets(): [string, Tensor][][] {
    const trainable = this.module.namedParameters().filter(([, p]) => p.requiresGrad).reverse();
    const out: [string, Tensor][][] = [];
    let bytes = Infinity;
    for (const entry of trainable) {
      const size = entry[1].numel * 4;
      if (bytes + size > this.bucketBytes && (out.length === 0 || out[out.length - 1].length > 0)) {
        out.push([]);
        bytes = 0;
      }
      out[out.length - 1].push(entry);
      bytes += size;
    }
    return out;
  }

  /**
   * Averages the gradients of the trainable parameters across ranks (call it after backward, before the optimizer's
   * step), then sends rank 0's buffers when broadcastBuffers is on.
   * @throws TorchError ERR_DISTRIBUTED for a trainable parameter without a gradient (unless findUnusedParameters).
   */
  async syncGradients(): Promise<void> {
    await this.ready;
    const world = getWorldSize();
    for (const bucket of this.buckets()) {
      const grads = bucket.map(([name, p]) => {
        if (p.grad) return p.grad;
        if (!this.findUnusedParameters) {
          throw new TorchError(`DistributedDataParallel: parameter '${name}' got no gradient in this step (pass findUnusedParameters: true when some parameters are not used every step)`, { code: 'ERR_DISTRIBUTED' });
        }
        return null;
      });
      const flat = noGrad(() => {
        const parts = grads.map((g, i) => (g ?? zerosLike(bucket[i][1])).reshape([-1]));
        const joined = cat(parts, 0);
        parts.forEach((t) => t.dispose());
        return joined;
      });
      try {
        await allReduce(flat, { op: 'sum' });
        noGrad(() => {
          flat.div_(world);
          let offset = 0;
          bucket.forEach(([, p], i) => {
            const n = p.numel;
            const slice = flat.narrow(0, offset, n).reshape(p.shape);
            const g = grads[i];
            if (g) g.copy_(slice);
            else p.grad = slice.clone();
            slice.dispose();
            offset += n;
          });
        });
      } finally {
        flat.dispose();
      }
    }
    if (this.broadcastBuffers) for (const [, b] of this.module.namedBuffers()) await broadcast(b, 0);
  }
}
