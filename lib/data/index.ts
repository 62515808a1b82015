/** tg.data: datasets (in memory, from arrays, streamed from disk) and the DataLoader that batches them. */
export type { Batch, Example, Field, Collate } from './example';
export type { Dataset } from './dataset';
export { isDataset } from './dataset';
export { TensorDataset } from './tensor-dataset';
export { ArrayDataset, fromArrays } from './array-dataset';
export type { ArrayDatasetOptions, FeatureArray, LabelArray } from './array-dataset';
export { Generator } from './generator';
export { defaultCollate } from './collate';
export { IterableDataset, isIterableDataset, fromAsyncIterable, batchStream } from './iterable-dataset';
export type { StreamOptions, BatchStreamOptions } from './iterable-dataset';
export { TextLineDataset, fromLines } from './text-lines';
export type { LineParser } from './text-lines';
export { DataLoader } from './loader';
export type { DataLoaderOptions } from './loader';
export { decodeImage, DEFAULT_PIXEL_LIMIT } from './image-decode';
export type { DecodeOptions, ImageMode } from './image-decode';
