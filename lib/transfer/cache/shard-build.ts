/** A feature cache built across ranks: each rank runs the frozen part over its own slice, then all ranks gather the whole. */
import { empty } from '../../creation';
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
    try {
      for (const mine of sink.tensors) {
        // the ranks' shares land in consecutive row blocks of one tensor (contiguous views), so nothing is copied twice
        const whole = empty([world * per, ...mine.shape.slice(1)], { dtype: mine.dtype });
        const parts = Array.from({ length: world }, (_, r) => whole.narrow(0, r * per, per));
        try {
          await allGather(parts, mine);
        } catch (e) {
          whole.dispose();
          throw e;
        } finally {
          parts.forEach((p) => p.dispose());
        }
        if (world * per === n) tensors.push(whole);
        else {
          tensors.push(whole.narrow(0, 0, n));  // the padding rows stay in the storage, at most world - 1 of them
          whole.dispose();
        }
      }
    } catch (e) {
      tensors.forEach((t) => t.dispose());
      throw e;
    }
    return { tensors, rows };
  } finally {
    sink.dispose();
  }
}
