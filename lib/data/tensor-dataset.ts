/** TensorDataset: examples are the rows (first dimension) of one or more tensors of equal length. */
import type { DType } from '../dtype';
import { tensor } from '../creation';
import { Tensor, isTensor } from '../tensor';
import { checkIndex, Dataset } from './dataset';
import type { Batch } from './example';

/**
 * A dataset over tensors that share their first dimension, like `torch.utils.data.TensorDataset`:
 * example i is `[t0[i], t1[i], ...]`. The dataset references the tensors (it does not copy or dispose them).
 * @example const ds = new tg.data.TensorDataset(x, y); ds.getBatch([0, 5, 7]); // [x rows, y rows]
 */
export class TensorDataset implements Dataset {
  /** The tensors, in field order. */
  readonly tensors: Tensor[];
  readonly length: number;

  constructor(...tensors: Tensor[]) {
    if (tensors.length === 0) throw new TypeError('TensorDataset: expected at least one tensor');
    tensors.forEach((t, k) => {
      if (!isTensor(t)) throw new TypeError(`TensorDataset: argument ${k} is not a Tensor (got ${describe(t)})`);
      if (t.isDisposed) throw new TypeError(`TensorDataset: argument ${k} is a disposed tensor`);
      if (t.ndim === 0) throw new RangeError(`TensorDataset: argument ${k} is a scalar; every tensor needs a first dimension to index`);
    });
    const n = tensors[0].shape[0];
    const bad = tensors.findIndex((t) => t.shape[0] !== n);
    if (bad >= 0)
      throw new RangeError(
        `TensorDataset: tensors must have the same first dimension; sizes are [${tensors.map((t) => t.shape[0]).join(', ')}] (argument ${bad} differs)`,
      );
    this.tensors = tensors;
    this.length = n;
  }

  /** Row i of every tensor (new tensors). */
  getItem(index: number): Tensor[] {
    checkIndex(index, this.length, 'TensorDataset.getItem');
    // clone: a view would share storage with the dataset, which the caller may not expect to outlive it
    return this.tensors.map((t) => {
      const v = t.select(0, index);
      const c = v.clone();
      v.dispose();
      return c;
    });
  }

  /**
   * @internal How fit's native engine gathers a batch as getBatch does: the tensors to indexSelect rows from, and the
   * dtype each field is cast to afterwards (null: none).
   */
  gatherPlan(): { tensors: Tensor[]; casts: (DType | null)[] } {
    return { tensors: this.tensors, casts: this.tensors.map(() => null) };
  }

  /** The rows at `indices` of every tensor, gathered with one indexSelect per tensor. */
  getBatch(indices: number[]): Batch {
    if (!Array.isArray(indices) && !ArrayBuffer.isView(indices)) throw new TypeError('TensorDataset.getBatch: expected an array of indices');
    for (const i of indices) checkIndex(i, this.length, 'TensorDataset.getBatch');
    const src = Int32Array.from(indices);
    const byDevice = new Map<string, Tensor>();
    try {
      return this.tensors.map((t) => {
        let idx = byDevice.get(t.device);
        if (!idx) byDevice.set(t.device, (idx = tensor(src, { dtype: 'int64', device: t.device })));
        return t.indexSelect(0, idx);
      });
    } finally {
      for (const idx of byDevice.values()) idx.dispose();
    }
  }
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return typeof v;
}
