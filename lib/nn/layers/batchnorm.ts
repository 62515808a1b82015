/** BatchNorm1d and BatchNorm2d: PyTorch's parameters, running statistics and momentum rules. */
import type { Tensor } from '../../tensor';
import { zeros } from '../../creation';
import { noGrad } from '../../autograd';
import { Module } from '../module';
import * as F from '../functional';
import * as init from '../init';
import { FactoryOptions, checkInput, checkInt, checkNumber, newTensor } from './common';

/** Options of the BatchNorm layers (PyTorch's keyword arguments). */
export interface BatchNormLayerOptions extends FactoryOptions {
  /** Added to the variance for stability (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running averages (default 0.1); null for a cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel scale (`weight`) and shift (`bias`) (default true). */
  affine?: boolean;
  /** Keep running_mean / running_var / num_batches_tracked for eval mode (default true). */
  trackRunningStats?: boolean;
}

/** The common part of BatchNorm1d and BatchNorm2d. */
abstract class BatchNormNd extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  declare running_mean: Tensor | null;
  declare running_var: Tensor | null;
  declare num_batches_tracked: Tensor | null;
  readonly numFeatures: number;
  eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  /**
   * Whether the running statistics are frozen: forward then normalises with them and leaves them (and
   * num_batches_tracked) unchanged even in training mode, as in eval mode. `model.freeze()` sets it on a
   * BatchNorm whose parameters it freezes all of (or that it names, also without parameters); `unfreeze()` clears it.
   */
  frozenStatistics = false;

  constructor(numFeatures: number, o: BatchNormLayerOptions) {
    super();
    const name = this.constructor.name;
    this.numFeatures = checkInt(numFeatures, 'numFeatures', name);
    this.eps = checkNumber(o.eps ?? 1e-5, 'eps', name, 0);
    this.momentum = o.momentum === null ? null : checkNumber(o.momentum ?? 0.1, 'momentum', name, 0, 1);
    this.affine = o.affine ?? true;
    this.trackRunningStats = o.trackRunningStats ?? true;
    this.registerParameter('weight', this.affine ? init.ones_(newTensor([numFeatures], o, name)) : null);
    this.registerParameter('bias', this.affine ? init.zeros_(newTensor([numFeatures], o, name)) : null);
    if (this.trackRunningStats) {
      this.registerBuffer('running_mean', init.zeros_(newTensor([numFeatures], o, name)));
      this.registerBuffer('running_var', init.ones_(newTensor([numFeatures], o, name)));
      this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int64', device: o.device }));
    } else {
      this.registerBuffer('running_mean', null);
      this.registerBuffer('running_var', null);
      this.registerBuffer('num_batches_tracked', null);
    }
  }

  /** camelCase alias of the `running_mean` buffer. */
  get runningMean(): Tensor | null {
    return this.running_mean;
  }
  /** camelCase alias of the `running_var` buffer. */
  get runningVar(): Tensor | null {
    return this.running_var;
  }
  /** camelCase alias of the `num_batches_tracked` buffer (int64 scalar). */
  get numBatchesTracked(): Tensor | null {
    return this.num_batches_tracked;
  }

  /** Resets running_mean to 0, running_var to 1 and num_batches_tracked to 0. */
  resetRunningStats(): void {
    if (this.running_mean) init.zeros_(this.running_mean);
    if (this.running_var) init.ones_(this.running_var);
    if (this.num_batches_tracked) init.zeros_(this.num_batches_tracked);
  }

  /** Checkpoints written before PyTorch 0.4.1 (and many converted ones) lack num_batches_tracked. */
  optionalStateKeys(): string[] {
    return ['num_batches_tracked'];
  }

  /** Whether this forward normalises with the batch's own statistics (training, or no running statistics kept). */
  protected useBatchStatistics(): boolean {
    return this.updatesStatistics() || (this.running_mean === null && this.running_var === null);
  }

  /** Whether this forward is a training one that may update the running statistics (not frozen). */
  private updatesStatistics(): boolean {
    return this.training && !this.frozenStatistics;
  }

  protected abstract allowedDims(): number[];

  /** Normalises per channel (dimension 1); in training mode also updates the running statistics in place. */
  forward(input: Tensor): Tensor {
    const name = this.constructor.name;
    const x = checkInput(input, this.allowedDims(), name);
    if (x.shape[1] !== this.numFeatures)
      throw new RangeError(`${name}(${this.numFeatures}): expected ${this.numFeatures} channels in dimension 1, got shape [${x.shape.join(', ')}]`);
    const batchStats = this.useBatchStatistics();
    const counted = this.updatesStatistics() && this.trackRunningStats ? this.num_batches_tracked : null;
    // The cumulative average weighs this batch as the (n + 1)-th; n itself moves only once the batch is accepted.
    const factor = this.momentum ?? (counted ? 1 / (counted.item() + 1) : 0);
    // Training without tracking normalises by the batch and updates nothing.
    const updateStats = !this.updatesStatistics() || this.trackRunningStats;
    const out = F.batchNorm(x, updateStats ? this.running_mean : null, updateStats ? this.running_var : null, {
      weight: this.weight,
      bias: this.bias,
      training: batchStats,
      momentum: factor,
      eps: this.eps,
    });
    if (counted) noGrad(() => counted.add_(1));
    return out;
  }

  extraRepr(): string {
    const frozen = this.frozenStatistics ? ', frozenStatistics=true' : '';
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}${frozen}`;
  }
}

/** Batch normalisation over (N, C) or (N, C, L) input. */
export class BatchNorm1d extends BatchNormNd {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(numFeatures, options);
  }
  protected allowedDims(): number[] {
    return [2, 3];
  }
}

/** Batch normalisation over (N, C, H, W) input. */
export class BatchNorm2d extends BatchNormNd {
  constructor(numFeatures: number, options: BatchNormLayerOptions = {}) {
    super(numFeatures, options);
  }
  protected allowedDims(): number[] {
    return [4];
  }
}
