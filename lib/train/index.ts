/** Training: fit, evaluate, predict, with callbacks, early stopping, metrics, progress and a history. */
export { fit } from './fit';
export type { FitOptions, FitCache } from './fit';
export type { FitEngine } from './native-engine';
export { evaluate, predict } from './evaluate';
export type { EvaluateOptions, PredictOptions } from './evaluate';
export { History } from './history';
export type { StopInfo } from './history';
export { EarlyStopping } from './early-stopping';
export type { EarlyStoppingOptions } from './early-stopping';
export type { Callback, FitContext } from './callbacks';
export type { LossFn, LossName, LossSpec } from './losses';
export { accuracy, topK } from './metrics';
export type { Metric, MetricFn, MetricSpec } from './metrics';
export type { DataSource } from './source';
export type { Trainable, Forward, StepOptimizer, EpochLogs, BatchLogs } from './types';
export type { ProgressStream, Verbosity } from './progress';
export { findLr, LrFinderResult } from './find-lr';
export type { FindLrOptions, LrFinderJSON, LrSuggestions, SweepOptimizer } from './find-lr';
