/** progressiveUnfreeze: train the head, then unfreeze the pretrained layer groups stage by stage from the top. */
import type { Module } from '../../nn/module';
import { fit } from '../../train/fit';
import { History } from '../../train/history';
import type { Callback } from '../../train/callbacks';
import type { DataSource } from '../../train/source';
import { freezeWhere, unfreezeWhere } from '../freezing';
import { discriminativeLrs } from './discriminative';
import { HeadPattern, headMatcher } from './head';
import { LayerGroupSpec, resolveLayerGroups } from './layer-groups';
import { OptimizerSpec, makeOptimizer, release } from './optimizer';
import { checkGrowable, unfreezeNext } from './unfreeze-next';
import type { PassThroughFitOptions } from './fine-tune';

/** Options of progressiveUnfreeze. */
export interface ProgressiveUnfreezeOptions extends PassThroughFitOptions {
  /** Stages after the head-only one (default: enough to unfreeze every group). */
  stages?: number;
  /** Epochs of each stage, the head-only one included (default 1). */
  epochsPerStage?: number;
  /** Groups unfrozen per stage (default 1). */
  step?: number;
  /** The head's rate (default 1e-3); lower groups get baseLr / factor^depth. */
  baseLr?: number;
  /** Ratio between neighbouring groups' rates (default 2.6). */
  factor?: number;
  /** Layer groups, lowest first (default: model.layerGroups, else the top-level children with parameters). */
  groups?: readonly LayerGroupSpec[];
  /** The new layers trained first (default: the head `reuse` appended, else 'last'). */
  head?: HeadPattern;
  /** 'adam' (default), 'sgd', or a factory `(groups, stage) => optimizer` (it must support addParamGroup). */
  optimizer?: OptimizerSpec;
  optimizerOptions?: Record<string, unknown>;
}

/**
 * The staged recipe: stage 0 trains the head with everything else frozen; each later stage unfreezes the next
 * `step` layer groups from the top (adding them to the same optimizer at rates spread down geometrically,
 * `baseLr / factor^depth`) and trains `epochsPerStage` epochs. Each epoch's logs get `stage`.
 * @returns one History over every stage.
 */
export async function progressiveUnfreeze(model: Module, data: DataSource, options: ProgressiveUnfreezeOptions): Promise<History> {
  const fn = 'progressiveUnfreeze';
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}: expected options with at least { loss }`);
  if (options.loss === undefined) throw new TypeError(`${fn}: options.loss is required (a name such as 'crossEntropy', or a function)`);
  const { stages, epochsPerStage = 1, step = 1, baseLr = 1e-3, factor = 2.6, groups: groupSpecs, head, optimizer, optimizerOptions, callbacks, ...fitOptions } = options;
  for (const [k, v, min] of [['epochsPerStage', epochsPerStage, 1], ['step', step, 1]] as const) {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`${fn}: ${k} must be an integer >= ${min}, got ${String(v)}`);
  }
  if (callbacks !== undefined && !Array.isArray(callbacks)) throw new TypeError(`${fn}: callbacks must be an array of objects with hooks such as onEpochEnd`);
  const isHead = headMatcher(model, head, fn);
  const groups = resolveLayerGroups(model, groupSpecs, fn);
  const lrs = discriminativeLrs(groups.length, { baseLr, factor });
  // The head's parameters train from the start, whatever group they fall in.
  const base = groups.map((g) => ({ ...g, params: g.params.filter(([n]) => !isHead(n)) })).filter((g) => g.params.length > 0);
  const baseLrs = groups.map((g, i) => ({ g, lr: lrs[i] })).filter(({ g }) => g.params.some(([n]) => !isHead(n))).map(({ lr }) => lr);
  const total = stages ?? Math.ceil(base.length / step);
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`${fn}: stages must be a non-negative integer, got ${String(stages)}`);

  freezeWhere(model, (n) => !isHead(n));
  unfreezeWhere(model, isHead);
  const opt = makeOptimizer(optimizer, [{ params: model.namedParameters().filter(([n]) => isHead(n)), lr: baseLr }], 0, optimizerOptions, fn);
  const growable = checkGrowable(opt.optimizer, fn);
  const history = new History();
  try {
    for (let stage = 0; stage <= total; stage++) {
      if (stage > 0) unfreezeNext(model, base, baseLrs, growable, step);
      const tag: Callback = {
        onEpochEnd(_e, logs) {
          logs.stage = stage;
        },
      };
      await fit(model, data, { ...fitOptions, epochs: epochsPerStage, optimizer: opt.optimizer, history, callbacks: [tag, ...(callbacks ?? [])] });
      // Early stopping within a stage ends that stage; only the last stage's stop ends the run.
      if (stage < total) history.stopped = null;
    }
  } finally {
    release(opt);
  }
  return history;
}
