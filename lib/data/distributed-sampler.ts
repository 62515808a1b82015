/** DistributedSampler: each rank's share of a dataset, reshuffled per epoch from a seed, as torch.utils.data's. */
import { binding } from '../native';
import { checkIndex, isDataset, type Dataset } from './dataset';
import type { Batch, Example } from './example';
import { getRank, getWorldSize } from '../distributed/process-group';

/** Options of DistributedSampler. */
export interface DistributedSamplerOptions {
  /** The number of ranks sharing the dataset (default: the default group's world size). */
  numReplicas?: number;
  /** This rank (default: the default group's rank). */
  rank?: number;
  /** A new order every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the order; every rank must pass the same (default 0). */
  seed?: number;
  /** Drop the tail that does not divide evenly instead of padding it with repeated examples (default false). */
  dropLast?: boolean;
}

/**
 * A view of `dataset` holding this rank's examples, as `torch.utils.data.DistributedSampler`: with `shuffle`, epoch e's
 * order is `torch.randperm(n, generator seeded with seed + e)` (the same indices as PyTorch's), padded by repeating
 * its start to a multiple of numReplicas (or cut with dropLast), and rank r takes every numReplicas-th index from r.
 * It is a Dataset: give it to a DataLoader without `shuffle`, and call `setEpoch(e)` before each epoch.
 * @example const shard = new tg.data.DistributedSampler(ds, { seed: 1 }); shard.setEpoch(epoch);
 */
export class DistributedSampler implements Dataset {
  readonly dataset: Dataset;
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Examples per rank and epoch. */
  readonly length: number;
  private epoch = 0;
  private order: number[];

  constructor(dataset: Dataset, options: DistributedSamplerOptions = {}) {
    if (!isDataset(dataset)) throw new TypeError('DistributedSampler: expected a map-style dataset (length and getItem)');
    if (options === null || typeof options !== 'object') throw new TypeError('DistributedSampler: options must be an object');
    const numReplicas = options.numReplicas ?? getWorldSize();
    const rank = options.rank ?? getRank();
    if (!Number.isInteger(numReplicas) || numReplicas < 1) throw new RangeError(`DistributedSampler: numReplicas must be a positive integer, got ${JSON.stringify(numReplicas)}`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= numReplicas) throw new RangeError(`DistributedSampler: rank must be an integer in [0, ${numReplicas - 1}], got ${JSON.stringify(rank)}`);
    const seed = options.seed ?? 0;
    if (!Number.isSafeInteger(seed)) throw new TypeError(`DistributedSampler: seed must be an integer, got ${JSON.stringify(seed)}`);
    this.dataset = dataset;
    this.numReplicas = numReplicas;
    this.rank = rank;
    this.shuffle = options.shuffle ?? true;
    this.seed = seed;
    this.dropLast = options.dropLast ?? false;
    const n = dataset.length;
    this.length = this.dropLast && n % numReplicas !== 0 ? Math.ceil((n - numReplicas) / numReplicas) : Math.ceil(n / numReplicas);
    this.order = this.indicesFor(0);
    const gather = dataset.getBatch;
    if (gather) {
      this.getBatch = (indices: number[]): Batch => {
        for (const i of indices) checkIndex(i, this.length, 'DistributedSampler');
        return gather.call(dataset, indices.map((i) => this.order[i]));
      };
    }
  }

  /** Makes the next epochs' order that of epoch `epoch` (the same on every rank). */
  setEpoch(epoch: number): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`DistributedSampler.setEpoch: expected a non-negative integer, got ${JSON.stringify(epoch)}`);
    this.epoch = epoch;
    this.order = this.indicesFor(epoch);
  }

  /** This rank's dataset indices for the current epoch, in order. */
  indices(): number[] {
    return this.order.slice();
  }

  private indicesFor(epoch: number): number[] {
    const n = this.dataset.length;
    let all = this.shuffle ? binding.randpermSeeded(n, this.seed + epoch) : Array.from({ length: n }, (_, i) => i);
    const total = this.length * this.numReplicas;
    if (!this.dropLast) {
      const pad = total - all.length;
      if (pad > 0 && all.length > 0) {
        const extra: number[] = [];
        while (extra.length < pad) extra.push(...all.slice(0, pad - extra.length));
        all = all.concat(extra);
      }
    } else all = all.slice(0, total);
    const mine: number[] = [];
    for (let i = this.rank; i < total; i += this.numReplicas) mine.push(all[i]);
    return mine;
  }

  getItem(index: number): Example {
    checkIndex(index, this.length, 'DistributedSampler');
    return this.dataset.getItem(this.order[index]);
  }

  /** The examples at these indices as one batch (present when the dataset gathers batches itself). */
  readonly getBatch?: (indices: number[]) => Batch;
}
