/** The options fit, evaluate and predict know, in one place, and the check that names unknown (misspelt) ones. */
import { checkKnownKeys } from '../known-keys';
import type { FitOptions } from './fit';
import type { EvaluateOptions, PredictOptions } from './evaluate';

// One line per option: the Record type makes the compiler insist that every key of the options interface is listed.
// Stryker disable BooleanLiteral: only the keys are read (Object.keys); the values exist for that compile-time check
/** fit's option names. */
export const FIT_OPTION_KEYS: Readonly<Record<keyof FitOptions, true>> = {
  epochs: true,
  initialEpoch: true,
  optimizer: true,
  loss: true,
  metrics: true,
  validation: true,
  validationSplit: true,
  callbacks: true,
  earlyStopping: true,
  batchSize: true,
  shuffle: true,
  seed: true,
  device: true,
  verbose: true,
  output: true,
  history: true,
  cache: true,
  engine: true,
  clipGradNorm: true,
  clipGradValue: true,
  distributed: true,
  resumeFrom: true,
  precision: true,
  signal: true,
  accumulate: true,
  classWeights: true,
};

/** evaluate's option names. */
export const EVALUATE_OPTION_KEYS: Readonly<Record<keyof EvaluateOptions, true>> = {
  loss: true,
  metrics: true,
  batchSize: true,
  device: true,
  signal: true,
};

/** predict's option names. */
export const PREDICT_OPTION_KEYS: Readonly<Record<keyof PredictOptions, true>> = {
  batchSize: true,
  device: true,
  signal: true,
};

// Stryker restore BooleanLiteral

// Keras' names that are too far from ours for the edit distance to find.
const KERAS_NAMES: Record<string, string> = { clipnorm: 'clipGradNorm', clipvalue: 'clipGradValue', validation_data: 'validation' };

/** Throws a TypeError naming fit's, evaluate's or predict's unknown (misspelt) options, with Keras' names mapped. */
export function checkFitKeys(options: object, known: Readonly<Record<string, true>>, where: string): void {
  checkKnownKeys(options, Object.keys(known), where, KERAS_NAMES);
}
