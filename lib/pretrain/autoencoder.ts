/** A one-hidden-layer autoencoder, tied or untied, optionally denoising: the building block of greedy pretraining. */
import type { Tensor } from '../tensor';
import { Module } from '../nn/module';
import { Linear } from '../nn/layers/linear';
import { Sigmoid } from '../nn/layers/activation';
import * as F from '../nn/functional';
import { zeros, randLike, randnLike } from '../creation';
import { tidy } from '../memory';
import { noGrad } from '../autograd';
import { PretrainFitOptions, PretrainHistory, runEpochs } from './train-loop';

/** Options of an Autoencoder. */
export interface AutoencoderOptions {
  /** Decode with the transpose of the encoder's weight (one shared tensor) plus a decoder bias (default false). */
  tiedWeights?: boolean;
  /** The code's activation (default Sigmoid). */
  activation?: Module;
  /** Denoising: the amount of corruption applied to inputs while training (default 0: none). */
  noise?: number;
  /** `'mask'` (default): each input set to 0 with probability `noise`; `'gaussian'`: add N(0, noise²). */
  noiseType?: 'mask' | 'gaussian';
  /** Reconstruction loss: `'bce'` (default; inputs in [0, 1], sigmoid outputs) or `'mse'` (linear outputs). */
  loss?: 'bce' | 'mse';
}

/**
 * x → act(encoder(x)) → decoder → x̂. The encoder is a Linear (a layer of your own network when built from one);
 * with `tiedWeights` the decoder uses `encoder.weight` transposed (the same tensor, not a copy) and its own
 * `decoder_bias`; otherwise it is a Linear(hidden, in).
 * @example
 * const ae = new tg.pretrain.Autoencoder(784, 64, { tiedWeights: true, noise: 0.3 });
 * await ae.fit(digits.x, { epochs: 5 });
 */
export class Autoencoder extends Module {
  declare encoder: Linear;
  declare decoder: Linear | undefined;
  declare activation: Module;
  declare decoder_bias: Tensor | undefined;
  readonly tiedWeights: boolean;
  readonly noise: number;
  readonly noiseType: 'mask' | 'gaussian';
  readonly lossKind: 'bce' | 'mse';

  constructor(inFeatures: number, hidden: number, options?: AutoencoderOptions);
  /** Builds around an existing Linear: training the autoencoder trains that layer. */
  constructor(layer: Linear, options?: AutoencoderOptions);
  constructor(a: number | Linear, b?: number | AutoencoderOptions, c?: AutoencoderOptions) {
    super();
    const encoder = a instanceof Linear ? a : new Linear(a, b as number);
    const o = ((a instanceof Linear ? b : c) as AutoencoderOptions | undefined) ?? {};
    this.tiedWeights = o.tiedWeights ?? false;
    this.noise = o.noise ?? 0;
    if (!(this.noise >= 0)) throw new RangeError(`Autoencoder: noise must be >= 0, got ${o.noise}`);
    this.noiseType = o.noiseType ?? 'mask';
    if (this.noiseType === 'mask' && this.noise >= 1) throw new RangeError(`Autoencoder: a masking noise must be below 1, got ${this.noise}`);
    this.lossKind = o.loss ?? 'bce';
    this.registerModule('encoder', encoder);
    this.registerModule('activation', o.activation ?? new Sigmoid());
    if (this.tiedWeights) {
      this.registerParameter('decoder_bias', zeros([encoder.inFeatures], { dtype: encoder.weight.dtype, device: encoder.weight.device }));
    } else {
      this.registerModule('decoder', new Linear(encoder.outFeatures, encoder.inFeatures, { dtype: encoder.weight.dtype, device: encoder.weight.device }));
    }
  }

  /** The weight the decoder uses, [in, hidden]: with tied weights, a transposed view of `encoder.weight`. */
  get decoderWeight(): Tensor {
    return this.tiedWeights ? this.encoder.weight.t() : this.decoder!.weight;
  }

  /** The code act(encoder(x)). */
  encode(x: Tensor): Tensor {
    return tidy(() => this.activation.forward(this.encoder.forward(x)));
  }

  /** Decoder pre-activations (logits for the 'bce' loss). */
  decodeRaw(h: Tensor): Tensor {
    return tidy(() => this.tiedWeights ? F.linear(h, this.encoder.weight.t(), this.decoder_bias) : this.decoder!.forward(h));
  }

  /** The reconstruction x̂ (through a sigmoid for the 'bce' loss). */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const raw = this.decodeRaw(this.encode(x));
      return this.lossKind === 'bce' ? raw.sigmoid() : raw;
    });
  }

  /** x corrupted by the denoising noise (x itself when noise is 0). */
  corrupt(x: Tensor): Tensor {
    if (this.noise === 0) return x;
    return noGrad(() => tidy(() => this.noiseType === 'mask' ? x.mul(randLike(x).ge(this.noise).to({ dtype: x.dtype })) : x.add(randnLike(x).mul(this.noise))));
  }

  /** The training loss on a batch: reconstruct the clean x from its corrupted version. */
  loss(x: Tensor): Tensor {
    return tidy(() => {
      const raw = this.decodeRaw(this.encode(this.corrupt(x)));
      return this.lossKind === 'bce' ? F.binaryCrossEntropyWithLogits(raw, x) : F.mseLoss(raw, x);
    });
  }

  /** Mean squared error between x and its (clean) reconstruction. */
  reconstructionError(x: Tensor): number {
    return noGrad(() => tidy(() => this.forward(x).sub(x).square().mean().item()));
  }

  /**
   * Trains on `data` (samples × in) with Adam (lr 1e-3) by default.
   * @returns the reconstruction error before training and after each epoch.
   */
  async fit(data: Tensor, options: PretrainFitOptions = {}): Promise<PretrainHistory> {
    const params = this.parameters().filter((p) => p.requiresGrad);
    return runEpochs(data, params, options, { lr: 1e-3, kind: 'adam' }, (b) => this.loss(b), (x) => this.reconstructionError(x), 'Autoencoder');
  }

  extraRepr(): string {
    return `tiedWeights=${this.tiedWeights}, noise=${this.noise}${this.noise ? ` (${this.noiseType})` : ''}, loss=${this.lossKind}`;
  }
}
