/** The options fit, evaluate and predict know, in one place, and the check that names unknown (misspelt) ones. */
import type { FitOptions } from './fit';
import type { EvaluateOptions, PredictOptions } from './evaluate';

// One line per option: the Record type makes the compiler insist that every key of the options interface is listed.
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

/**
 * Throws a TypeError naming every own key of `options` that `known` lacks, with "did you mean" for those within a
 * small edit distance of a known one (a misspelt option would otherwise be ignored silently).
 */
export function checkKnownKeys(options: object, known: Readonly<Record<string, true>>, where: string): void {
  const unknown = Object.keys(options).filter((k) => !Object.prototype.hasOwnProperty.call(known, k));
  if (unknown.length === 0) return;
  const names = Object.keys(known);
  const parts = unknown.map((k) => {
    const near = KERAS_NAMES[k] !== undefined && names.includes(KERAS_NAMES[k]) ? KERAS_NAMES[k] : closest(k, names);
    return near === undefined ? `'${k}'` : `'${k}' (did you mean '${near}'?)`;
  });
  throw new TypeError(`${where}: unknown option${unknown.length > 1 ? 's' : ''} ${parts.join(', ')}; known: ${names.join(', ')}`);
}

// Keras' names that are too far from ours for the edit distance to find.
const KERAS_NAMES: Record<string, string> = { clipnorm: 'clipGradNorm', clipvalue: 'clipGradValue', validation_data: 'validation' };

/** The known name nearest to `key` when close enough to be a typo: edit distance at most 1 + a third of its length. */
function closest(key: string, names: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = key.toLowerCase();
  for (const n of names) {
    const d = editDistance(lower, n.toLowerCase());
    if (d < bestD) [best, bestD] = [n, d];
  }
  return bestD <= 1 + Math.floor(key.length / 3) ? best : undefined;
}

/** Levenshtein distance (insertions, deletions, substitutions), two rows at a time. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
