/** fit({ distributed: true }): each rank trains on its DistributedSampler shard through DistributedDataParallel. */
import { DataLoader } from '../data/loader';
import { isDataset } from '../data/dataset';
import { TensorDataset } from '../data/tensor-dataset';
import { DistributedSampler } from '../data/distributed-sampler';
import { isTensor, type Tensor } from '../tensor';
import { tensor } from '../creation';
import { Module } from '../nn/module';
import { DistributedDataParallel } from '../nn/parallel/distributed-data-parallel';
import { allReduce } from '../distributed/collectives';
import { getRank, group } from '../distributed/process-group';
import type { BatchSource } from './source';
import type { Trainable } from './types';

/** What fit needs to train one rank: its shard of the data, and the gradient sync between backward and step. */
export interface DistributedPlan {
  source: BatchSource;
  sync: () => Promise<void>;
  rank: number;
  /** Takes DDP's gradient hooks off the model when fit ends (the model itself stays as trained). */
  release: () => void;
}

/**
 * Wraps the model in DistributedDataParallel (rank 0's weights everywhere) and the data in a DistributedSampler seeded
 * with `seed` (default 0, the same on every rank), reshuffled per epoch as PyTorch's sampler with set_epoch.
 * @throws TorchError ERR_DISTRIBUTED before tg.distributed.init(); TypeError for data that cannot be sharded.
 */
export async function planDistributed(model: Trainable, data: unknown, o: { batchSize: number; shuffle: boolean; seed?: number }): Promise<DistributedPlan> {
  group();
  if (!(model instanceof Module)) throw new TypeError('fit: distributed training needs a tg.nn.Module (DistributedDataParallel wraps it)');
  const dataset = isDataset(data) ? data : Array.isArray(data) && data.length > 0 && data.every((t) => isTensor(t)) ? new TensorDataset(...(data as Tensor[])) : undefined;
  if (!dataset) throw new TypeError('fit: distributed training shards a dataset or tensors [x, y] with a DistributedSampler; pass one of those');
  const sampler = new DistributedSampler(dataset, { shuffle: o.shuffle, seed: o.seed ?? 0 });
  const loader = new DataLoader(sampler, { batchSize: o.batchSize });
  const ddp = new DistributedDataParallel(model);
  await ddp.ready;
  const source: BatchSource = {
    length: loader.length,
    owned: true,
    epoch: (e) => {
      sampler.setEpoch(e);
      return loader;
    },
  };
  return { source, sync: () => ddp.syncGradients(), rank: getRank(), release: () => ddp.removeHooks() };
}

/** Epoch means over every rank's examples: each rank's means weighted by its example count, summed across ranks. */
export async function reduceMeans(means: Record<string, number>, examples: number): Promise<Record<string, number>> {
  const keys = Object.keys(means);
  const t = tensor([...keys.map((k) => means[k] * examples), examples], { dtype: 'float64' });
  try {
    await allReduce(t, { op: 'sum' });
    const v = Array.from(t.dataSync() as Float64Array);
    const total = v[keys.length] || 1;
    return Object.fromEntries(keys.map((k, i) => [k, v[i] / total]));
  } finally {
    t.dispose();
  }
}
