/** fineTune: train the new head with the pretrained base frozen, then everything at lower, discriminative rates. */
import type { Module } from '../../nn/module';
import { fit, FitOptions } from '../../train/fit';
import { History } from '../../train/history';
import type { Callback } from '../../train/callbacks';
import type { DataSource } from '../../train/source';
import { discriminativeGroups } from './discriminative';
import { HeadPattern, headMatcher } from './head';
import type { LayerGroupSpec } from '../../nn/layer-groups';
import { OptimizerSpec, makeOptimizer, release } from './optimizer';
import { cacheFeatures } from '../cache/feature-cache';
import type { CacheFeaturesOptions } from '../cache/options';

/** The fit options a recipe passes through to each phase. */
export type PassThroughFitOptions = Pick<
  FitOptions,
  'loss' | 'metrics' | 'validation' | 'callbacks' | 'earlyStopping' | 'verbose' | 'batchSize' | 'shuffle' | 'seed' | 'device' | 'output'
>;

/** Options of fineTune. */
export interface FineTuneOptions extends PassThroughFitOptions {
  /** Epochs of phase 1, the head alone with the base frozen (default 1; 0 skips it). */
  freezeEpochs?: number;
  /** Epochs of phase 2, everything (or the top `unfreeze` groups) unfrozen (default 1; 0 skips it). */
  epochs?: number;
  /** Phase 1's learning rate for the head (default 1e-3). */
  baseLr?: number;
  /** Phase 2's rate for the highest layer group (default baseLr / 2, as fastai: lower than phase 1's). */
  fineTuneLr?: number;
  /** Phase 2: ratio of the highest group's rate to the lowest's (default 100); see discriminativeGroups. */
  lrMult?: number;
  /** Phase 2: ratio between neighbouring groups' rates instead of lrMult. */
  factor?: number;
  /** Layer groups for phase 2's rates, lowest first (default: model.layerGroups, else the top-level children). */
  groups?: readonly LayerGroupSpec[];
  /** The new layers (default: the head `reuse` appended, else 'last', the last top-level child with parameters). */
  head?: HeadPattern;
  /** 'adam' (default), 'sgd', or a factory `(groups, phase) => optimizer`; a new optimizer for each phase. */
  optimizer?: OptimizerSpec;
  /** More options for the 'adam' or 'sgd' optimizer (weightDecay, momentum, ...). */
  optimizerOptions?: Record<string, unknown>;
  /**
   * Phase 1 trains the head on features of the frozen base computed once (tg.transfer.cacheFeatures, default cut)
   * instead of running the base every epoch: `true`, or cacheFeatures' options. The cache is freed after phase 1.
   */
  cache?: boolean | CacheFeaturesOptions;
  /** Phase 2 unfreezes only the top `unfreeze` layer groups (default: all); the lower ones stay frozen after it. */
  unfreeze?: number;
}

function cacheOptions(o: true | CacheFeaturesOptions, fit: PassThroughFitOptions): CacheFeaturesOptions {
  // built in fit's batch size: unshuffled, the frozen part then sees the very batches it would see uncached
  const base: CacheFeaturesOptions = { verbose: fit.verbose, output: fit.output, device: fit.device, batchSize: fit.batchSize };
  return o === true ? base : { ...base, ...o };
}

// Only fit's own options go on to fit; the recipe's are its business.
function passThrough(o: FineTuneOptions): PassThroughFitOptions {
  const { loss, metrics, validation, earlyStopping, verbose, batchSize, shuffle, seed, device, output } = o;
  return { loss, metrics, validation, earlyStopping, verbose, batchSize, shuffle, seed, device, output };
}

function epochsOf(v: number | undefined, name: string): number {
  const n = v ?? 1;
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`fineTune: ${name} must be a non-negative integer, got ${String(v)}`);
  return n;
}

/**
 * The two-phase fine-tuning recipe. Phase 1 (`freezeEpochs`): everything but the head is frozen (through
 * `model.freeze` when the model has it, which also keeps frozen BatchNorm statistics; without it only
 * `requiresGrad` is cleared, and a BatchNorm's running statistics still move in training mode) and the head trains at
 * `baseLr`. Phase 2 (`epochs`): everything is unfrozen and trains with a new optimizer whose groups have
 * discriminative rates, from `fineTuneLr` (the highest group) down to `fineTuneLr / lrMult` (the lowest).
 * Callbacks and early stopping apply to each phase (early stopping in phase 1 ends the head's training and
 * moves on); each epoch's logs get `phase` (1 or 2). The model is left unfrozen, or with `unfreeze: n` as phase 2
 * trained it: the top n groups trainable, the lower ones frozen. With `cache`, phase 1 trains the head on cached
 * features of the frozen base: for a deterministic base, bitwise the weights of uncached training with
 * `shuffle: false` (the cache is built in fit's batches), and equal to float rounding of the base's matmuls when
 * shuffled batches group examples differently.
 * @returns one History over both phases, epochs numbered on from phase 1.
 * @example
 * const history = await tg.transfer.fineTune(model, trainSet, { freezeEpochs: 2, epochs: 5, baseLr: 1e-3,
 *   loss: 'crossEntropy', metrics: ['accuracy'], validation: valSet });
 */
export async function fineTune(model: Module, data: DataSource, options: FineTuneOptions): Promise<History> {
  const fn = 'fineTune';
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: expected options with at least { loss }`);
  // Checked before anything is frozen, so a bad call leaves the model as it was.
  if (options.loss === undefined) throw new TypeError(`${fn}: options.loss is required (a name such as 'crossEntropy', or a function)`);
  const freezeEpochs = epochsOf(options.freezeEpochs, 'freezeEpochs');
  const epochs = epochsOf(options.epochs, 'epochs');
  const baseLr = options.baseLr ?? 1e-3;
  if (typeof baseLr !== 'number' || !(baseLr > 0)) throw new RangeError(`${fn}: baseLr must be a positive number, got ${String(baseLr)}`);
  const fineTuneLr = options.fineTuneLr ?? baseLr / 2;
  const isHead = headMatcher(model, options.head, fn);
  const { lrMult, factor, groups, optimizer, optimizerOptions, callbacks } = options;
  const fitOptions = passThrough(options);
  if (callbacks !== undefined && !Array.isArray(callbacks)) throw new TypeError(`${fn}: callbacks must be an array of objects with hooks such as onEpochEnd`);
  // Phase 2's groups and rates are checked now rather than after phase 1 has trained.
  if (epochs > 0) {
    const k = discriminativeGroups(model, { groups, baseLr: fineTuneLr, lrMult, factor }).length;
    const u = options.unfreeze;
    if (u !== undefined && (!Number.isInteger(u) || u < 1 || u > k)) throw new RangeError(`${fn}: unfreeze must be an integer from 1 to ${k} (the layer groups), got ${String(u)}`);
  }
  const cacheOption = options.cache;
  if (cacheOption !== undefined && typeof cacheOption !== 'boolean' && (cacheOption === null || typeof cacheOption !== 'object'))
    throw new TypeError(`${fn}: cache must be true, false or cacheFeatures' options, got ${String(cacheOption)}`);
  const history = new History();
  const phaseCallbacks = (phase: number): Callback[] => [
    {
      onEpochEnd(_epoch, logs) {
        logs.phase = phase;
      },
    },
    ...(callbacks ?? []),
  ];

  if (freezeEpochs > 0) {
    model.freeze((n) => !isHead(n));
    model.unfreeze(isHead);
    const headParams = model.namedParameters().filter(([n]) => isHead(n));
    const cache = cacheOption ? await cacheFeatures(model, data as Parameters<typeof cacheFeatures>[1], cacheOptions(cacheOption, fitOptions)) : undefined;
    const opt = makeOptimizer(optimizer, [{ params: headParams, lr: baseLr }], 1, optimizerOptions, fn);
    try {
      await fit(model, data, { ...fitOptions, epochs: freezeEpochs, optimizer: opt.optimizer, history, callbacks: phaseCallbacks(1), cache });
    } finally {
      release(opt);
      cache?.dispose();
    }
    // Early stopping in phase 1 only ends the head's training.
    history.stopped = null;
  }
  if (epochs > 0) {
    model.unfreeze();
    let lrGroups = discriminativeGroups(model, { groups, baseLr: fineTuneLr, lrMult, factor });
    if (options.unfreeze !== undefined) {
      lrGroups = lrGroups.slice(-options.unfreeze);
      const top = new Set(lrGroups.flatMap((g) => g.params.map(([n]) => n)));
      model.freeze((n) => !top.has(n));
    }
    const opt = makeOptimizer(optimizer, lrGroups, 2, optimizerOptions, fn);
    try {
      await fit(model, data, { ...fitOptions, epochs, optimizer: opt.optimizer, history, callbacks: phaseCallbacks(2) });
    } finally {
      release(opt);
    }
  }
  return history;
}
