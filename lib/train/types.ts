/** The structural interfaces fit relies on, so tg.nn modules, tg.optim optimizers and hand-written ones all plug in. */
import type { Tensor } from '../tensor';

/** A model fit can train: a forward pass and a training/evaluation mode switch (tg.nn.Module has both). */
export interface Trainable {
  forward(input: Tensor): Tensor;
  /** Training mode (dropout active, BatchNorm updating its statistics). */
  train(mode?: boolean): unknown;
  /** Evaluation mode. */
  eval(): unknown;
  /** The current mode, when the model reports it: fit and evaluate restore it afterwards. */
  readonly training?: boolean;
  /** The weights by dotted name; earlyStopping's restoreBest needs it with loadStateDict. */
  stateDict?(): Record<string, Tensor> | Map<string, Tensor>;
  loadStateDict?(stateDict: Record<string, Tensor> | Map<string, Tensor>, options?: unknown): unknown;
}

/** A model that only needs a forward pass (evaluate and predict switch it to eval mode when it has one). */
export interface Forward {
  forward(input: Tensor): Tensor;
  train?(mode?: boolean): unknown;
  eval?(): unknown;
  readonly training?: boolean;
}

/** An optimizer fit can drive: tg.optim's, or any object with these two methods. */
export interface StepOptimizer {
  /** Clears the gradients of the parameters it updates. */
  zeroGrad(): void;
  /** Updates the parameters from their gradients. */
  step(): void;
}

/** One epoch's results: `epoch` (from 0), `loss`, each metric, `val_loss` and `val_<metric>` with validation, `time` in seconds. */
export interface EpochLogs {
  epoch: number;
  time: number;
  [key: string]: number;
}

/** One training batch's results, given to onBatchEnd. */
export interface BatchLogs {
  /** Batch index within the epoch, from 0. */
  batch: number;
  /** Examples in the batch. */
  size: number;
  /** The batch's loss (before the optimizer step). */
  loss: number;
}
