/** A feature cache built across ranks: each rank runs the frozen part over its own slice, then all ranks gather the whole. */
import { cat, zeros } from '../../creation';
import { noGrad } from '../../autograd';
import type { Dataset } from '../../data/dataset';
import type { Module } from '../../nn/module';
import type { Tensor } from '../../tensor';
import { allGather } from '../../distributed/collectives';
import { getRank, getWorldSize } from '../../distributed/process-group';
import { TorchError } from '../../errors';
import { runPrefix, TensorSink, type BuildOptions } from './build';

/** Rows [start, start + length) of a dataset, read through it. */
function slice(ds: Dataset, start: number, length: number): Dataset {
  const map = (idx: number[]) => idx.map((i) => start + i);
  return {
    length,
    getItem: (i: number) => ds.getItem(start + i),
    ...(ds.getBatch ? { getBatch: (idx: number[]) => ds.getBatch!(map(idx)) } : {}),
  } as Dataset;
}

/**
 * Runs the frozen part over this rank's contiguous share of the dataset (ceil(n / world) rows; the last rank's share
 * is padded with zeros for Gloo's equal-sized all-gather) and returns every rank's outputs, concatenated in dataset
 * order and trimmed to n rows: the same tensors on every rank. `rows` is how many rows this rank computed.
 */
export async function buildAcrossRanks(prefix: Module, dataset: Dataset, run: BuildOptions): Promise<{ tensors: Tensor[]; rows: number }> {
  const world = getWorldSize();
  const rank = getRank();
  const n = dataset.length;
  if (n < world) throw new TorchError(`cacheFeatures: a distributed build needs at least one example per rank (${n} examples, ${world} ranks)`, { code: 'ERR_DISTRIBUTED' });
  const per = Math.ceil(n / world);
  const start = Math.min(rank * per, n);
  const rows = Math.min(per, n - start);
  // every rank needs the fields' shapes for the gather, even one whose share is empty: it runs one row and drops it
  const sink = new TensorSink(per, 'cpu');
  try {
    await runPrefix(prefix, slice(dataset, rows > 0 ? start : 0, Math.max(rows, 1)), sink, run);
    if (rows < per) noGrad(() => sink.tensors.forEach((t) => {
      const pad = t.narrow(0, rows, per - rows);
      pad.zero_();
      pad.dispose();
    }));
    const tensors: Tensor[] = [];
    for (const mine of sink.tensors) {
      const parts = Array.from({ length: world }, () => zeros(mine.shape, { dtype: mine.dtype }));
      try {
        await allGather(parts, mine);
        const whole = cat(parts, 0);
        tensors.push(whole.shape[0] === n ? whole : noGrad(() => {
          const trimmed = whole.narrow(0, 0, n).contiguous();
          whole.dispose();
          return trimmed;
        }));
      } finally {
        parts.forEach((p) => p.dispose());
      }
    }
    return { tensors, rows };
  } finally {
    sink.dispose();
  }
}
