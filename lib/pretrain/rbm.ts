/** A Bernoulli restricted Boltzmann machine trained by contrastive divergence (CD-k) or persistent CD. */
import type { Tensor } from '../tensor';
import { Module } from '../nn/module';
import { Linear } from '../nn/layers/linear';
import * as F from '../nn/functional';
import { zeros } from '../creation';
import { tidy, keep, dispose } from '../memory';
import { noGrad } from '../autograd';
import { PretrainFitOptions, PretrainHistory, runEpochs, softplus } from './train-loop';

/** Options of an RBM. */
export interface RBMOptions {
  /** Gibbs steps per update (default 1: CD-1). */
  k?: number;
  /** Persistent CD: the negative chain continues from the previous batch's instead of restarting at the data. */
  persistent?: boolean;
}

/**
 * A restricted Boltzmann machine with Bernoulli visible and hidden units. Its weights are named like a Linear
 * (`weight` [hidden, visible], `bias` [hidden]) plus `visible_bias` [visible], so a trained RBM's `weight` and
 * `bias` load straight into a `Linear(visible, hidden)` followed by a Sigmoid.
 * @example
 * const rbm = new tg.pretrain.RBM(784, 64);
 * const h = await rbm.fit(digits.x, { epochs: 5, lr: 0.05 });   // h.epochs: reconstruction error per epoch
 */
export class RBM extends Module {
  declare weight: Tensor;
  declare bias: Tensor;
  declare visible_bias: Tensor;
  readonly visible: number;
  readonly hidden: number;
  readonly k: number;
  readonly persistent: boolean;
  #chain: Tensor | undefined;

  constructor(visible: number, hidden: number, options?: RBMOptions);
  /** Wraps an existing Linear(visible, hidden): the RBM trains that layer's own weight and bias tensors. */
  constructor(layer: Linear, options?: RBMOptions);
  constructor(a: number | Linear, b?: number | RBMOptions, c?: RBMOptions) {
    super();
    const layer = a instanceof Linear ? a : new Linear(a, b as number);
    const options = (a instanceof Linear ? b : c) as RBMOptions | undefined ?? {};
    if (!layer.bias) throw new TypeError('RBM: the layer needs a bias (the hidden biases)');
    this.visible = layer.inFeatures;
    this.hidden = layer.outFeatures;
    this.k = options.k ?? 1;
    if (!Number.isInteger(this.k) || this.k < 1) throw new RangeError(`RBM: k must be a positive integer, got ${options.k}`);
    this.persistent = options.persistent ?? false;
    // Share the layer's tensors (not copies) so training the RBM trains the layer, keeping its frozen state.
    this.registerParameter('weight', layer.weight, { requiresGrad: layer.weight.requiresGrad });
    this.registerParameter('bias', layer.bias, { requiresGrad: layer.bias.requiresGrad });
    this.registerParameter('visible_bias', zeros([this.visible], { dtype: layer.weight.dtype, device: layer.weight.device }));
  }

  /** p(h = 1 | v) = sigmoid(v Wᵀ + b). */
  hiddenProbs(v: Tensor): Tensor {
    return tidy(() => F.linear(v, this.weight, this.bias).sigmoid());
  }

  /** p(v = 1 | h) = sigmoid(h W + c). */
  visibleProbs(h: Tensor): Tensor {
    return tidy(() => F.linear(h, this.weight.t(), this.visible_bias).sigmoid());
  }

  /** The hidden probabilities: the RBM used as a feature layer. */
  forward(v: Tensor): Tensor {
    return this.hiddenProbs(v);
  }

  /** Free energy per sample: F(v) = -v·c - Σⱼ softplus((v Wᵀ + b)ⱼ), shape [n]. Differentiable. */
  freeEnergy(v: Tensor): Tensor {
    return tidy(() => softplus(F.linear(v, this.weight, this.bias)).sum(1).add(v.matmul(this.visible_bias)).neg());
  }

  /**
   * Runs k steps of block Gibbs sampling from `v` without grad: h ~ p(h|v), v ~ p(v|h). The last visible state is
   * the probabilities (mean field) for CD, and a sample for persistent CD (its chain must stay a Markov chain).
   */
  gibbs(v: Tensor, k = this.k, sampleLast = this.persistent): Tensor {
    return noGrad(() => tidy(() => {
      let x = v;
      for (let i = 0; i < k; i++) {
        const h = this.hiddenProbs(x).bernoulli();
        const pv = this.visibleProbs(h);
        x = i === k - 1 && !sampleLast ? pv : pv.bernoulli();
      }
      return x;
    }));
  }

  /**
   * One contrastive-divergence gradient: backpropagating the returned loss, mean F(v₀) - mean F(v_k), gives
   * ∂W = -(p(h|v₀)ᵀv₀ - p(h|v_k)ᵀv_k)/n, ∂b = -mean(p(h|v₀) - p(h|v_k)), ∂c = -mean(v₀ - v_k): the CD update
   * as a gradient to descend. Also returns the negative sample v_k (the caller owns it).
   */
  contrastiveDivergence(v0: Tensor): { loss: Tensor; negative: Tensor } {
    const start = this.persistent && this.#chain && this.#chain.shape[0] === v0.shape[0] ? this.#chain : v0;
    const negative = this.gibbs(start);
    if (this.persistent) {
      dispose(this.#chain);
      this.#chain = keep(negative.clone());
    }
    const loss = tidy(() => this.freeEnergy(v0).mean().sub(this.freeEnergy(negative).mean()));
    return { loss, negative };
  }

  /** Mean squared error between v and its one-step mean-field reconstruction p(v | p(h|v)). */
  reconstructionError(v: Tensor): number {
    return noGrad(() => tidy(() => this.visibleProbs(this.hiddenProbs(v)).sub(v).square().mean().item()));
  }

  /** Mean free energy of the data (lower means the model gives it higher probability). */
  meanFreeEnergy(v: Tensor): number {
    return noGrad(() => tidy(() => this.freeEnergy(v).mean().item()));
  }

  /**
   * Trains on `data` (samples × visible, values in [0, 1]) by CD-k (or PCD), SGD with momentum 0.5 by default.
   * @returns the reconstruction error before training and after each epoch.
   */
  async fit(data: Tensor, options: PretrainFitOptions = {}): Promise<PretrainHistory> {
    this.resetChain();
    const params = this.parameters().filter((p) => p.requiresGrad);
    const h = await runEpochs(data, params, options, { lr: 0.1, kind: 'sgd' }, (batch) => {
      const { loss, negative } = this.contrastiveDivergence(batch);
      negative.dispose();
      return loss;
    }, (x) => this.reconstructionError(x), 'RBM');
    this.resetChain();
    return h;
  }

  /** Forgets the persistent chain (the next PCD update restarts it at the data). */
  resetChain(): void {
    dispose(this.#chain);
    this.#chain = undefined;
  }

  extraRepr(): string {
    return `visible=${this.visible}, hidden=${this.hidden}, k=${this.k}, persistent=${this.persistent}`;
  }
}
