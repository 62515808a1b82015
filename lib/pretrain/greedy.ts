/** Greedy layer-wise pretraining: each layer learns to model the (cached) output of the layers below it. */
import type { Tensor } from '../tensor';
import { isTensor } from '../tensor';
import { Module } from '../nn/module';
import { Sequential } from '../nn/sequential';
import { Linear } from '../nn/layers/linear';
import { Sigmoid } from '../nn/layers/activation';
import { Identity } from '../nn/layers/shape';
import { noGrad } from '../autograd';
import { manualSeed } from '../creation';
import { keep, tidy } from '../memory';
import { RBM } from './rbm';
import { Autoencoder } from './autoencoder';
import { PretrainHistory, UnsupervisedOptimizer } from './train-loop';

/** Options of `greedyLayerwise`. */
export interface GreedyOptions {
  /** What each layer is trained as: an autoencoder, a denoising autoencoder, or an RBM (default 'autoencoder'). */
  kind?: 'autoencoder' | 'denoising' | 'rbm';
  /** Epochs per layer (default 5). */
  epochs?: number;
  /** Learning rate (default: RBM 0.1 with SGD, autoencoders 1e-3 with Adam). */
  lr?: number;
  /** Minibatch size (default 64). */
  batchSize?: number;
  /** Build an optimizer for the parameters of one layer's model, instead of the default. */
  optimizer?: (params: Tensor[]) => UnsupervisedOptimizer;
  /** Autoencoders: decode with the encoder's weight transposed (default true). */
  tiedWeights?: boolean;
  /** Denoising corruption (default 0.3 for 'denoising', else 0); see AutoencoderOptions. */
  noise?: number;
  noiseType?: 'mask' | 'gaussian';
  /** RBM Gibbs steps and persistent CD. */
  k?: number;
  persistent?: boolean;
  /** Activation after each Linear given as an array (default Sigmoid, the units RBMs and these autoencoders model). */
  activation?: () => Module;
  /** Seed (tg.manualSeed) before the first layer. */
  seed?: number;
  verbose?: boolean;
  /** Called after each layer with its index and training history. */
  onLayer?: (index: number, history: PretrainHistory) => void;
}

/** Splits a stack into Linear layers and the activation following each (undefined when none follows). */
function pairs(layers: Linear[] | Sequential): { linear: Linear; act?: Module; name?: string }[] {
  if (Array.isArray(layers)) {
    if (layers.length === 0 || layers.some((l) => !(l instanceof Linear))) throw new TypeError('greedyLayerwise(): expected an array of Linear layers or a Sequential');
    return layers.map((linear) => ({ linear }));
  }
  if (!(layers instanceof Sequential)) throw new TypeError('greedyLayerwise(): expected an array of Linear layers or a Sequential');
  const out: { linear: Linear; act?: Module; name?: string }[] = [];
  for (const [name, m] of layers.namedChildren()) {
    if (m instanceof Linear) out.push({ linear: m, name });
    else if (out.length === 0) throw new TypeError(`greedyLayerwise(): the Sequential must start with a Linear, got ${m.constructor.name} '${name}'`);
    else if (m.parameters().length > 0) throw new TypeError(`greedyLayerwise(): only Linear layers and parameter-free activations are supported, got ${m.constructor.name} '${name}'`);
    else if (!out[out.length - 1].act) out[out.length - 1].act = m;
    else throw new TypeError(`greedyLayerwise(): one activation per Linear, found a second after '${out[out.length - 1].name}': '${name}'`);
  }
  if (out.length === 0) throw new TypeError('greedyLayerwise(): the Sequential has no Linear layer');
  return out;
}

/**
 * Pretrains a stack of Linear layers without labels, one layer at a time: layer i is trained as an autoencoder
 * (or RBM) on the output of layers 0..i-1, computed once per layer and cached, with every other layer frozen.
 * The layers are trained in place; the result is a Sequential of Linear + activation ready for a head.
 * @param layers Linear layers (activations added: `hidden1, act1, ...`) or a Sequential of Linear + activation
 *   (returned itself, trained).
 * @param unlabeled samples × features, values in [0, 1] for 'rbm' and the default BCE autoencoders.
 * @example
 * const stack = await tg.pretrain.greedyLayerwise([new tg.nn.Linear(784, 128), new tg.nn.Linear(128, 64)], x, { kind: 'denoising', epochs: 3 });
 * stack.append(new tg.nn.Linear(64, 10), 'outputs');
 */
export async function greedyLayerwise(layers: Linear[] | Sequential, unlabeled: Tensor, options: GreedyOptions = {}): Promise<Sequential> {
  if (!isTensor(unlabeled) || unlabeled.ndim !== 2) throw new TypeError('greedyLayerwise(): unlabeled must be a 2-D tensor (samples, features)');
  const kind = options.kind ?? 'autoencoder';
  if (!['autoencoder', 'denoising', 'rbm'].includes(kind)) throw new TypeError(`greedyLayerwise(): kind must be 'autoencoder', 'denoising' or 'rbm', got '${kind}'`);
  const stack = pairs(layers);
  for (let i = 1; i < stack.length; i++) {
    if (stack[i].linear.inFeatures !== stack[i - 1].linear.outFeatures)
      throw new RangeError(`greedyLayerwise(): layer ${i} takes ${stack[i].linear.inFeatures} features, layer ${i - 1} gives ${stack[i - 1].linear.outFeatures}`);
  }
  if (stack[0].linear.inFeatures !== unlabeled.shape[1])
    throw new RangeError(`greedyLayerwise(): the first layer takes ${stack[0].linear.inFeatures} features, the data has ${unlabeled.shape[1]}`);
  // A Sequential's Linear with no activation after it feeds the next layer as is; an array gets the activation option.
  for (const s of stack) s.act ??= Array.isArray(layers) ? options.activation?.() ?? new Sigmoid() : new Identity();
  if (options.seed !== undefined) manualSeed(options.seed);

  const all = stack.flatMap((s) => s.linear.parameters());
  const wasTrainable = all.map((p) => p.requiresGrad);
  let input = unlabeled;
  try {
    for (let i = 0; i < stack.length; i++) {
      const { linear, act } = stack[i];
      // Only this layer trains; the layers below are already folded into the cached input.
      for (const p of all) p.requiresGrad = false;
      for (const p of linear.parameters()) p.requiresGrad = true;
      const model = kind === 'rbm'
        ? new RBM(linear, { k: options.k, persistent: options.persistent })
        : new Autoencoder(linear, {
          tiedWeights: options.tiedWeights ?? true, activation: act,
          noise: options.noise ?? (kind === 'denoising' ? 0.3 : 0), noiseType: options.noiseType,
        });
      const params = model.parameters().filter((p) => p.requiresGrad);
      const history = await model.fit(input, {
        epochs: options.epochs, lr: options.lr, batchSize: options.batchSize,
        optimizer: options.optimizer?.(params), verbose: false,
      });
      if (options.verbose) console.log(`greedyLayerwise: layer ${i + 1}/${stack.length} (${kind}) reconstruction error ${history.initial.toFixed(4)} -> ${history.epochs.at(-1)?.toFixed(4)}`);
      options.onLayer?.(i, history);
      disposeOwn(model, linear);
      if (i < stack.length - 1) {
        const next = keep(noGrad(() => tidy(() => act!.forward(linear.forward(input)))));
        if (input !== unlabeled) input.dispose();
        input = next;
      }
    }
  } finally {
    if (input !== unlabeled) input.dispose();
    all.forEach((p, j) => (p.requiresGrad = wasTrainable[j]));
  }
  if (layers instanceof Sequential) return layers;
  const seq = new Sequential();
  stack.forEach((s, i) => {
    seq.append(s.linear, `hidden${i + 1}`);
    seq.append(s.act!, `act${i + 1}`);
  });
  return seq;
}

// The helper model's own tensors (visible biases, decoders) are not part of the stack: free them.
function disposeOwn(model: Module, linear: Linear): void {
  const shared = new Set(linear.parameters());
  for (const p of model.parameters()) if (!shared.has(p)) p.dispose();
}
