/**
 * fit's validationSplit: a seeded random split of data given as tensors or a dataset into a training part and a
 * validation part, the same on every call with the same data size and seed.
 */
import { isDataset, type Dataset } from '../data/dataset';
import { isAsyncDataset, type LoadBatchesOptions } from '../data/async-dataset';
import { TensorDataset, describe } from '../data/tensor-dataset';
import { Generator } from '../data/generator';
import { tensor } from '../creation';
import { dispose } from '../memory';
import { isTensor, type Tensor } from '../tensor';
import type { Batch, Example } from '../data/example';

// Mixed into the seed so that the split's draw differs from the loader's shuffle of epoch 0 under the same seed.
const SPLIT_STREAM = 0x5b117;

/** The two parts; dispose() frees the tensors the split copied (for tensor data). */
export interface Split {
  train: Dataset;
  validation: Dataset;
  dispose(): void;
}

/**
 * Splits `data` (tensors [x, y, ...] or a Dataset): the validation part holds N - floor(N * (1 - fraction)) examples
 * (Keras' count) drawn by a permutation seeded with `seed` (default 0, not the global generator, so that a second fit
 * phase on the same data never trains on the first phase's validation examples); each part keeps the data's order.
 * Tensors and TensorDatasets are copied into two new TensorDatasets (so the native engine can train on them); other
 * datasets are viewed through index maps.
 */
export function splitForValidation(data: unknown, fraction: number, seed: number | undefined): Split {
  const ds = Array.isArray(data) && data.length > 0 && data.every((t) => isTensor(t)) ? new TensorDataset(...(data as Tensor[])) : data;
  if (!isDataset(ds))
    throw new TypeError(`fit: validationSplit needs data given as tensors [x, y] or a dataset with a length; got ${describe(data)} (pass validation data instead)`);
  const n = ds.length;
  const nTrain = Math.floor(n * (1 - fraction));
  if (nTrain < 1 || nTrain >= n)
    throw new RangeError(`fit: validationSplit ${fraction} of ${n} examples leaves ${nTrain < 1 ? 'no training' : 'no validation'} examples`);
  const perm = new Generator(seed ?? 0, SPLIT_STREAM).permutation(n);
  const ascending = (a: number, b: number) => a - b;
  const trainIdx = perm.slice(0, nTrain).sort(ascending);
  const valIdx = perm.slice(nTrain).sort(ascending);
  if (ds instanceof TensorDataset) {
    const parts = [trainIdx, valIdx].map((idx) => {
      const byDevice = new Map<string, Tensor>();
      try {
        return ds.tensors.map((t) => {
          let i = byDevice.get(t.device);
          if (!i) byDevice.set(t.device, (i = tensor(Int32Array.from(idx), { dtype: 'int64', device: t.device })));
          return t.indexSelect(0, i);
        });
      } finally {
        dispose([...byDevice.values()]);
      }
    });
    return { train: new TensorDataset(...parts[0]), validation: new TensorDataset(...parts[1]), dispose: () => dispose(parts) };
  }
  return { train: subset(ds, trainIdx), validation: subset(ds, valIdx), dispose() {} };
}

/** A view of `ds` at `indices`, async when `ds` is. */
function subset(ds: Dataset, indices: number[]): Dataset {
  const map = (i: number): number => {
    if (!Number.isInteger(i) || i < 0 || i >= indices.length) throw new RangeError(`fit (validationSplit): index ${i} is out of range for a part of ${indices.length} examples`);
    return indices[i];
  };
  const view: Dataset & { loadBatches?: (order: number[], o: LoadBatchesOptions) => AsyncGenerator<Batch> } = {
    length: indices.length,
    getItem: (i: number): Example => ds.getItem(map(i)),
  };
  if (typeof ds.getBatch === 'function') view.getBatch = (idx: number[]): Batch => ds.getBatch!(idx.map(map));
  if (isAsyncDataset(ds)) view.loadBatches = (order, o) => ds.loadBatches(order.map(map), o);
  return view;
}
