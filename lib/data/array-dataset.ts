/** Datasets from JavaScript arrays or TypedArrays of features and labels, converted to tensors once. */
import { tensor } from '../creation';
import type { AnyTypedArray, DType, Device } from '../dtype';
import { isTensor, Tensor } from '../tensor';
import { TensorDataset, describe } from './tensor-dataset';

/** Nested arrays of numbers (one inner array per example), or a flat TypedArray of all features. */
export type FeatureArray = number[][] | number[][][] | number[] | AnyTypedArray;
/** One label per example: class indices (integers) or regression targets. */
export type LabelArray = number[] | number[][] | AnyTypedArray;

/** How fromArrays converts. */
export interface ArrayDatasetOptions {
  /** Shape of one example's features, for a flat TypedArray (default: everything per example in one dimension). */
  featureShape?: number[];
  /** Features' dtype (default float32). */
  dtype?: DType;
  /** Labels' dtype (default int64 when every label is an integer in a plain array or an integer TypedArray, else float32). */
  labelDtype?: DType;
  /** Where the tensors live (default cpu). */
  device?: Device | string;
}

function isTyped(a: unknown): a is AnyTypedArray {
  return ArrayBuffer.isView(a) && !(a instanceof DataView);
}

function count(a: unknown, what: string): number {
  if (isTyped(a) || Array.isArray(a)) return a.length;
  throw new TypeError(`fromArrays: ${what} must be an array or a TypedArray, got ${describe(a)}`);
}

function labelDtype(labels: LabelArray): DType {
  if (isTyped(labels)) return labels instanceof Float32Array || labels instanceof Float64Array ? 'float32' : 'int64';
  const flat = (labels as unknown[]).flat(Infinity) as unknown[];
  return flat.every((v) => Number.isInteger(v)) ? 'int64' : 'float32';
}

function featureTensor(features: FeatureArray, n: number | undefined, o: ArrayDatasetOptions): Tensor {
  const dtype = o.dtype ?? 'float32';
  if (isTyped(features)) {
    const rows = n ?? (o.featureShape ? features.length / o.featureShape.reduce((a, b) => a * b, 1) : features.length);
    const per = o.featureShape ?? [features.length / rows];
    const perCount = per.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(rows) || !Number.isInteger(perCount) || rows * perCount !== features.length)
      throw new RangeError(
        `fromArrays: ${features.length} feature values do not split into ${n ?? rows} examples of shape [${per.join(', ')}]` +
          (n !== undefined ? ` (${n} labels given)` : ''),
      );
    return tensor(features, { shape: [rows, ...per], dtype, device: o.device });
  }
  const t = tensor(features as number[][], { dtype, device: o.device });
  if (t.ndim === 1) {
    // a flat list of scalars: one feature per example, shaped [n, 1] as a flat TypedArray would be
    const r = t.reshape([t.shape[0], 1]);
    t.dispose();
    return r;
  }
  if (o.featureShape) {
    const r = t.reshape([t.shape[0], ...o.featureShape]);
    t.dispose();
    return r;
  }
  return t;
}

/**
 * A TensorDataset built from JavaScript data: `[features[i], labels[i]]`, or `[features[i]]` without labels.
 * Plain nested arrays give their shape; a flat TypedArray is split evenly over the examples (one per label),
 * or by `featureShape`.
 * @example new tg.data.ArrayDataset([[0, 1], [1, 0]], [1, 0]); // x float32 [2, 2], y int64 [2]
 */
export class ArrayDataset extends TensorDataset {
  constructor(features: FeatureArray, labels?: LabelArray, options: ArrayDatasetOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('fromArrays: options must be an object');
    if (isTensor(features) || isTensor(labels)) throw new TypeError('fromArrays: got a Tensor; use new TensorDataset(x, y) for tensors');
    const nx = count(features, 'features');
    const n = labels === undefined ? undefined : count(labels, 'labels');
    if (n !== undefined && !isTyped(features) && nx !== n)
      throw new RangeError(`fromArrays: ${nx} feature rows but ${n} labels; each example needs exactly one label`);
    const x = featureTensor(features, n, options);
    if (labels === undefined) {
      super(x);
      return;
    }
    let y: Tensor;
    try {
      y = tensor(labels as number[], { dtype: options.labelDtype ?? labelDtype(labels), device: options.device });
    } catch (e) {
      x.dispose();
      throw e;
    }
    super(x, y);
  }

  /** Releases the tensors this dataset created from the arrays. */
  dispose(): void {
    for (const t of this.tensors) t.dispose();
  }
}

/**
 * A dataset from arrays of features and labels (see ArrayDataset).
 * @example const ds = tg.data.fromArrays(new Float32Array(n * 784), labels, { featureShape: [1, 28, 28] });
 */
export function fromArrays(features: FeatureArray, labels?: LabelArray, options?: ArrayDatasetOptions): ArrayDataset {
  return new ArrayDataset(features, labels, options);
}
