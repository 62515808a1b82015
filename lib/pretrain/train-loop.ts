/** The unsupervised training loop shared by RBM, Autoencoder and the greedy stack: shuffled minibatches, one optimizer. */
import type { Tensor } from '../tensor';
import { isTensor } from '../tensor';
import { manualSeed, rand } from '../creation';
import { tidy, dispose } from '../memory';
import { noGrad } from '../autograd';
import { SGD } from '../optim/sgd';
import { Adam } from '../optim/adam';

/** A minimal optimizer as the loop uses it (any `tg.optim` optimizer). */
export interface UnsupervisedOptimizer {
  zeroGrad(): void;
  step(): void;
}

/** Options of `fit` on an RBM or an Autoencoder. */
export interface PretrainFitOptions {
  /** Passes over the data (default 5). */
  epochs?: number;
  /** Learning rate of the default optimizer (RBM: SGD with momentum 0.5, lr 0.1; Autoencoder: Adam, lr 1e-3). */
  lr?: number;
  /** Minibatch size (default 64). */
  batchSize?: number;
  /** An optimizer over the module's parameters, instead of the default. */
  optimizer?: UnsupervisedOptimizer;
  /** Seed for shuffling, sampling and noise (tg.manualSeed) before training. */
  seed?: number;
  /** Print the progress measure after each epoch. */
  verbose?: boolean;
  /** Called after each epoch with its index and the progress measure. */
  onEpoch?: (epoch: number, value: number) => void;
}

/** What `fit` returns: the progress measure (reconstruction error; for auxiliary tasks their loss) before training and after each epoch. */
export interface PretrainHistory {
  initial: number;
  epochs: number[];
}

/** @internal the loop: `step(batch)` returns the tensor to backpropagate; `progress(all)` a number, computed without grad. */
export async function runEpochs(
  data: Tensor, params: Tensor[], o: PretrainFitOptions, defaults: { lr: number; kind: 'sgd' | 'adam' },
  step: (batch: Tensor) => Tensor, progress: (x: Tensor) => number, label: string,
): Promise<PretrainHistory> {
  if (!isTensor(data) || data.ndim !== 2) throw new TypeError(`${label}.fit(): expected a 2-D float tensor (samples, features)`);
  return runIndexed(data.shape[0], params, o, defaults, (idx) => step(data.indexSelect(0, idx)), () => progress(data), label);
}

/** @internal the loop over `n` samples named by index: `step(indices)` returns the loss of that minibatch. */
export async function runIndexed(
  n: number, params: Tensor[], o: PretrainFitOptions, defaults: { lr: number; kind: 'sgd' | 'adam' },
  step: (indices: Tensor) => Tensor, progress: () => number, label: string, progressName = 'reconstruction error',
): Promise<PretrainHistory> {
  const epochs = o.epochs ?? 5;
  const batchSize = o.batchSize ?? 64;
  if (!Number.isInteger(epochs) || epochs < 0) throw new RangeError(`${label}.fit(): epochs must be a non-negative integer, got ${epochs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`${label}.fit(): batchSize must be a positive integer, got ${batchSize}`);
  if (o.seed !== undefined) manualSeed(o.seed);
  const lr = o.lr ?? defaults.lr;
  const opt = o.optimizer ?? (defaults.kind === 'sgd' ? new SGD(params, { lr, momentum: 0.5 }) : new Adam(params, { lr }));
  const measure = () => noGrad(progress);
  const history: PretrainHistory = { initial: measure(), epochs: [] };
  for (let e = 0; e < epochs; e++) {
    const order = tidy(() => rand([n]).sort(0).indices);
    for (let s = 0; s < n; s += batchSize) {
      tidy(() => {
        const idx = order.narrow(0, s, Math.min(batchSize, n - s));
        opt.zeroGrad();
        step(idx).backward();
        opt.step();
      });
      // Leave the event loop free between batches.
      if ((s / batchSize) % 16 === 15) await new Promise((r) => setImmediate(r));
    }
    dispose(order);
    const value = measure();
    history.epochs.push(value);
    o.onEpoch?.(e, value);
    if (o.verbose) console.log(`${label} epoch ${e + 1}/${epochs}: ${progressName} ${value.toFixed(5)}`);
  }
  return history;
}

/** softplus(x) = log(1 + eˣ), computed stably as relu(x) + log1p(e^-|x|). */
export function softplus(x: Tensor): Tensor {
  return tidy(() => x.relu().add(x.abs().neg().exp().add(1).log()));
}
