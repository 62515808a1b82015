/** findLr: fastai's learning-rate range test, an exponential sweep of the learning rate that leaves model and optimizer as they were. */
import { tidy, dispose } from '../memory';
import { defaultGenerator } from '../generator';
import { TorchError } from '../errors';
import { isTensor, type Tensor } from '../tensor';
import { LossSpec, resolveLoss } from './losses';
import { withMode } from './eval-loop';
import { DataSource, prepareBatch, toSource, eventLoopYielder } from './source';
import type { Trainable } from './types';
import type { OptimizerStateDict } from '../optim/state-dict';
import { lrSuggestions, type LrSuggestions } from './lr-suggestions';
import { checkKnownKeys } from '../known-keys';

export type { LrSuggestions } from './lr-suggestions';

/** An optimizer findLr can sweep: tg.optim's (parameter groups with `lr`, and state dicts to restore it). */
export interface SweepOptimizer {
  zeroGrad(): void;
  step(): void;
  readonly paramGroups: readonly { lr: number }[];
  stateDict(): OptimizerStateDict;
  loadStateDict(sd: OptimizerStateDict): void;
}

/** findLr's options; optimizer and loss are required. */
export interface FindLrOptions {
  optimizer: SweepOptimizer;
  loss: LossSpec;
  /** The first learning rate (default 1e-7). */
  startLr?: number;
  /** The last learning rate (default 10), reached at the last step. */
  endLr?: number;
  /** Batches in the sweep (default 100); the data is cycled when it has fewer. */
  steps?: number;
  /** The exponential average's beta for the recorded loss (default 0.98, fastai's), debiased as fastai's. */
  smoothing?: number;
  /** Stop once the smoothed loss exceeds this many times the best so far (default 4, fastai's). */
  divergeFactor?: number;
  /** For data given as a dataset or tensors: examples per batch (default 32). */
  batchSize?: number;
  /** For data given as a dataset or tensors: shuffle (default true). */
  shuffle?: boolean;
  /** Shuffling seed for data given as a dataset or tensors. */
  seed?: number;
  /** Batches are moved here before the forward pass; the model must already be there. */
  device?: string;
}

/** What toJSON() gives, for `npx torchgraft plot`: a loss-against-learning-rate curve (log x axis) with the suggestion marked. */
export interface LrFinderJSON {
  kind: 'lr-finder';
  lrs: number[];
  losses: number[];
  suggestion: number | null;
}

/** The curve a range test recorded and the rates it suggests. */
export class LrFinderResult {
  /** The learning rate of each batch run. */
  readonly lrs: number[];
  /** The smoothed (debiased exponential average) loss after each batch. */
  readonly losses: number[];
  /** Each batch's own loss. */
  readonly rawLosses: number[];
  /** fastai's heuristics over the curve, its first tenth and last five points left out as fastai does. */
  readonly suggestions: LrSuggestions;
  /** 'completed', or 'diverged' when the smoothed loss passed divergeFactor times the best (or was not finite). */
  readonly stopped: 'completed' | 'diverged';

  /** @internal */
  constructor(lrs: number[], losses: number[], rawLosses: number[], steps: number, stopped: 'completed' | 'diverged') {
    this.lrs = lrs;
    this.losses = losses;
    this.rawLosses = rawLosses;
    this.stopped = stopped;
    this.suggestions = lrSuggestions(lrs, losses, steps);
  }

  /** The suggested rate: fastai's default, the valley; undefined when too few points were recorded. */
  get suggestion(): number | undefined {
    return this.suggestions.valley;
  }

  /** `{ kind: 'lr-finder', lrs, losses, suggestion }`, what the plot command reads. */
  toJSON(): LrFinderJSON {
    return { kind: 'lr-finder', lrs: [...this.lrs], losses: [...this.losses], suggestion: this.suggestion ?? null };
  }
}

const WHERE = 'findLr';

/**
 * The learning-rate range test (fastai's `lr_find`, Leslie Smith's LR range test): trains for `steps` batches with the
 * learning rate of every parameter group rising geometrically from startLr to endLr (lr_i = startLr *
 * (endLr/startLr)^(i/(steps-1))), records the smoothed loss, and stops early once it diverges. Afterwards the model's
 * weights and buffers, the optimizer's state and options (lr included), the model's mode and the default CPU
 * generator are restored bitwise; gradients are cleared.
 * @example const r = await tg.train.findLr(net, trainSet, { optimizer, loss: 'crossEntropy' }); optimizer.paramGroups[0].lr = r.suggestion;
 */
export async function findLr(model: Trainable, data: DataSource, options: FindLrOptions): Promise<LrFinderResult> {
  const o = checkOptions(model, options);
  const lossFn = resolveLoss(o.loss, WHERE);
  // Taken first: a shuffling loader draws its seed from the default generator.
  const rng = defaultGenerator.getState();
  const source = toSource(data, { batchSize: o.batchSize, shuffle: o.shuffle, seed: o.seed }, WHERE);
  const opt = o.optimizer;
  const weights = snapshot(model);
  const optState = opt.stateDict();
  const lrs: number[] = [];
  const losses: number[] = [];
  const raw: number[] = [];
  let stopped: 'completed' | 'diverged' = 'completed';
  try {
    await withMode(model, async () => {
      model.train(true);
      const ratio = o.endLr / o.startLr;
      let avg = 0;
      let best = Infinity;
      const yieldIfDue = eventLoopYielder();
      for (let epoch = 0; lrs.length < o.steps && stopped === 'completed'; epoch++) {
        let empty = true;
        for await (const b of source.epoch(epoch)) {
          empty = false;
          const i = lrs.length;
          const lr = o.startLr * Math.pow(ratio, i / (o.steps - 1));
          for (const g of opt.paramGroups) g.lr = lr;
          const loss = trainStep(model, opt, lossFn, b, source.owned, o.device);
          avg = o.smoothing * avg + (1 - o.smoothing) * loss;
          const smooth = avg / (1 - Math.pow(o.smoothing, i + 1));
          lrs.push(lr);
          raw.push(loss);
          losses.push(smooth);
          if (smooth < best) best = smooth;
          if (!Number.isFinite(smooth) || smooth > o.divergeFactor * best) stopped = 'diverged';
          if (stopped === 'diverged' || lrs.length >= o.steps) break;
          const turn = yieldIfDue();
          if (turn) await turn;
        }
        if (empty) throw new TorchError(`findLr: the data gave no batches (epoch ${epoch} of the sweep)`, { code: 'ERR_EMPTY_DATA' });
      }
    });
  } finally {
    try {
      opt.zeroGrad();
      model.loadStateDict!(weights);
      opt.loadStateDict(optState);
      defaultGenerator.setState(rng);
    } finally {
      dispose(Object.values(weights));
      dispose(Object.values(optState.state).flatMap((s) => Object.values(s).filter((t) => isTensor(t)) as Tensor[]));
      rng.dispose();
    }
  }
  return new LrFinderResult(lrs, losses, raw, o.steps, stopped);
}

/** One training step on a raw batch; returns its loss. */
function trainStep(model: Trainable, opt: SweepOptimizer, lossFn: (o: Tensor, y: Tensor) => Tensor, raw: unknown, owned: boolean, device: string | undefined): number {
  const b = prepareBatch(raw, owned, device, WHERE);
  try {
    const [x, y] = b.fields;
    if (y === undefined) throw new TypeError('findLr: each batch needs a target: [x, y]');
    const l = tidy(() => {
      opt.zeroGrad();
      const loss = lossFn(model.forward(x), y);
      loss.backward();
      opt.step();
      return loss.detach();
    });
    const v = l.item();
    l.dispose();
    return v;
  } finally {
    b.release();
  }
}

/** Clones of the model's state dict (a state dict shares storage with the weights the sweep changes). */
function snapshot(model: Trainable): Record<string, Tensor> {
  return tidy(() => {
    const sd = model.stateDict!();
    const entries = sd instanceof Map ? [...sd] : Object.entries(sd);
    return Object.fromEntries(
      entries.map(([k, t]) => {
        if (!isTensor(t)) throw new TypeError(`findLr: the model's stateDict() must map names to tensors ('${k}' is not one)`);
        return [k, t.detach().clone()];
      }),
    );
  });
}

type Resolved = Required<Omit<FindLrOptions, 'seed' | 'device'>> & Pick<FindLrOptions, 'seed' | 'device'>;

function checkOptions(model: unknown, options: FindLrOptions): Resolved {
  const m = model as Trainable | null | undefined;
  if (typeof m?.forward !== 'function' || typeof m.train !== 'function' || typeof m.eval !== 'function')
    throw new TypeError('findLr: model must have forward(x), train() and eval() (a tg.nn.Module)');
  if (typeof m.stateDict !== 'function' || typeof m.loadStateDict !== 'function')
    throw new TypeError('findLr: model needs stateDict() and loadStateDict() to be restored after the sweep (a tg.nn.Module)');
  if (options === null || typeof options !== 'object') throw new TypeError('findLr: expected options { optimizer, loss }');
  checkKnownKeys(options, ['optimizer', 'loss', 'startLr', 'endLr', 'steps', 'smoothing', 'divergeFactor', 'batchSize', 'shuffle', 'seed', 'device'], 'findLr');
  const opt = options.optimizer as Partial<SweepOptimizer> | undefined;
  if (!opt || typeof opt.zeroGrad !== 'function' || typeof opt.step !== 'function' || !Array.isArray(opt.paramGroups) ||
      typeof opt.stateDict !== 'function' || typeof opt.loadStateDict !== 'function')
    throw new TypeError('findLr: options.optimizer must be a tg.optim optimizer (paramGroups with lr, stateDict and loadStateDict to restore it)');
  if (options.loss === undefined) throw new TypeError("findLr: options.loss is required (a name such as 'crossEntropy', or a function)");
  const pos = (v: unknown, name: string, dflt: number): number => {
    if (v === undefined) return dflt;
    if (!Number.isFinite(v) || !((v as number) > 0)) throw new RangeError(`findLr: ${name} must be a finite number > 0, got ${String(v)}`);
    return v as number;
  };
  const startLr = pos(options.startLr, 'startLr', 1e-7);
  const endLr = pos(options.endLr, 'endLr', 10);
  if (!(endLr > startLr)) throw new RangeError(`findLr: endLr (${endLr}) must be greater than startLr (${startLr})`);
  const steps = options.steps ?? 100;
  if (!Number.isInteger(steps) || steps < 2) throw new RangeError(`findLr: steps must be an integer >= 2, got ${String(options.steps)}`);
  const smoothing = options.smoothing ?? 0.98;
  if (typeof smoothing !== 'number' || !(smoothing >= 0 && smoothing < 1)) throw new RangeError(`findLr: smoothing must be a number in [0, 1), got ${String(options.smoothing)}`);
  const divergeFactor = options.divergeFactor ?? 4;
  if (typeof divergeFactor !== 'number' || !(divergeFactor > 1)) throw new RangeError(`findLr: divergeFactor must be a number > 1 (Infinity never stops), got ${String(options.divergeFactor)}`);
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`findLr: batchSize must be an integer >= 1, got ${String(options.batchSize)}`);
  if (options.shuffle !== undefined && typeof options.shuffle !== 'boolean') throw new TypeError(`findLr: shuffle must be a boolean, got ${String(options.shuffle)}`);
  return { ...options, startLr, endLr, steps, smoothing, divergeFactor, batchSize, shuffle: options.shuffle ?? true };
}
