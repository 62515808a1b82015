/**
 * torchgraft: transfer learning for Node.js over LibTorch.
 * @packageDocumentation
 */
export { TorchError } from './errors';
export { ERROR_CODES, ErrorCode } from './error-codes';
export type { DType, Device, AnyTypedArray } from './dtype';
export { DTYPES } from './dtype';
export { Tensor, isTensor } from './tensor';
export type { ValuesIndices, ToOptions } from './tensor';
export {
  tensor, empty, zeros, ones, full, rand, randn, randint, arange, linspace, eye,
  zerosLike, onesLike, fullLike, emptyLike, randLike, randnLike, randintLike,
  manualSeed, Generator, defaultGenerator, randperm, cat, stack, where,
} from './creation';
export type { TensorOptions, FromDataOptions, RandpermOptions } from './creation';
export { tidy, keep, dispose, memory } from './memory';
export type { MemoryInfo } from './memory';
export { noGrad, enableGrad, isGradEnabled } from './autograd';
export * as nn from './nn';
export * as data from './data';
export { fit, evaluate, predict, History, EarlyStopping, ModelCheckpoint, AbortError } from './train';
export type { ModelCheckpointOptions, ResumeFrom } from './train';
export type { FitOptions, FitCache, EvaluateOptions, PredictOptions, Callback, FitContext, EpochLogs, BatchLogs, DataSource, Trainable, StepOptimizer, EarlyStoppingOptions, LossSpec, MetricSpec } from './train';
export * as cuda from './cuda';
export * as io from './io';
export * as jit from './jit';
export { buildInfo, setNumThreads } from './info';
export * as backends from './backends';
export * as distributed from './distributed';
export * as datasets from './datasets';
export * as optim from './optim';
export * as transfer from './transfer';
export * as transforms from './transforms';
export * as pretrain from './pretrain';
export * as train from './train';
export * as amp from './amp';
export * as zoo from './zoo';
