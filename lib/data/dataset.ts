/** The map-style dataset interface: a length and random access to examples, optionally whole batches at once. */
import type { Batch, Example } from './example';

/**
 * A dataset with random access, like `torch.utils.data.Dataset`.
 *
 * Implement `getItem(i)`; implement `getBatch(indices)` too when a batch can be gathered in one operation
 * (TensorDataset does it with one `indexSelect` per field): the DataLoader prefers it.
 * Tensors returned by either are owned by the caller (new tensors, not views the dataset keeps using).
 */
export interface Dataset {
  /** Number of examples. */
  readonly length: number;
  /** Example i, for 0 <= i < length. */
  getItem(index: number): Example;
  /** The examples at these indices as one batch (each field stacked on a new first dimension). */
  getBatch?(indices: number[]): Batch;
}

/** Whether a value implements the Dataset interface (a numeric length and a getItem function). */
export function isDataset(v: unknown): v is Dataset {
  return v !== null && typeof v === 'object' && typeof (v as Dataset).getItem === 'function' && Number.isInteger((v as Dataset).length);
}

/** Throws a RangeError naming the dataset's length when index is not an integer in [0, length). */
export function checkIndex(index: number, length: number, where: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= length)
    throw new RangeError(`${where}: index ${String(index)} is out of range for a dataset of ${length} examples`);
}
