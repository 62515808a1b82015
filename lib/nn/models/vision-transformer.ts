/** torchvision's Vision Transformer (ViT-B/16, B/32, L/16, L/32, H/14) with torchvision's exact module tree and parameter names, so its weights load by name. */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { cat } from '../../creation';
import { Module } from '../module';
import { Sequential } from '../sequential';
import { Conv2d } from '../layers/conv';
import { Linear } from '../layers/linear';
import { LayerNorm } from '../layers/layernorm';
import { GELU, Tanh } from '../layers/activation';
import { Dropout } from '../layers/dropout';
import { MultiheadAttention } from '../layers/multihead-attention';
import * as init from '../init';
import { truncNormal_ } from './trunc-normal';
import type { FactoryOptions } from '../layers/common';
import { checkInt, checkNumber, newTensor } from '../layers/common';

/** torchvision's MLPBlock (an MLP Sequential): 0 Linear(inDim, mlpDim), 1 GELU, 2 Dropout, 3 Linear(mlpDim, inDim), 4 Dropout. */
export class MLPBlock extends Sequential {
  constructor(inDim: number, mlpDim: number, dropout: number, options: FactoryOptions = {}) {
    super([new Linear(inDim, mlpDim, options), new GELU(), new Dropout(dropout), new Linear(mlpDim, inDim, options), new Dropout(dropout)]);
    // torchvision's: Xavier uniform weights, N(0, 1e-6²) biases.
    for (const m of this.modules()) {
      if (m instanceof Linear) {
        init.xavierUniform_(m.weight);
        if (m.bias) init.normal_(m.bias, 0, 1e-6);
      }
    }
  }
}

/** torchvision's EncoderBlock (pre-LN): x = input + dropout(self_attention(ln_1(input))); out = x + mlp(ln_2(x)). */
export class EncoderBlock extends Module {
  declare ln_1: LayerNorm;
  declare self_attention: MultiheadAttention;
  declare dropout: Dropout;
  declare ln_2: LayerNorm;
  declare mlp: MLPBlock;
  readonly numHeads: number;

  constructor(numHeads: number, hiddenDim: number, mlpDim: number, dropout: number, attentionDropout: number, options: FactoryOptions = {}) {
    super();
    this.numHeads = numHeads;
    this.registerModule('ln_1', new LayerNorm(hiddenDim, { eps: 1e-6, ...options }));
    this.registerModule('self_attention', new MultiheadAttention(hiddenDim, numHeads, { dropout: attentionDropout, batchFirst: true, ...options }));
    this.registerModule('dropout', new Dropout(dropout));
    this.registerModule('ln_2', new LayerNorm(hiddenDim, { eps: 1e-6, ...options }));
    this.registerModule('mlp', new MLPBlock(hiddenDim, mlpDim, dropout, options));
  }

  /** Encodes (N, S, hiddenDim). */
  forward(input: Tensor): Tensor {
    if (!isTensor(input) || input.ndim !== 3) throw new RangeError(`EncoderBlock: expected (batch_size, seq_length, hidden_dim), got ${isTensor(input) ? `[${input.shape.join(', ')}]` : typeof input}`);
    const n1 = this.ln_1.call(input);
    const [a] = this.self_attention.call(n1, n1, n1, { needWeights: false });
    n1.dispose();
    const d = this.dropout.call(a);
    const x = d.add(input);
    a.dispose();
    d.dispose();
    const n2 = this.ln_2.call(x);
    const y = this.mlp.call(n2);
    n2.dispose();
    const out = x.add(y);
    x.dispose();
    y.dispose();
    return out;
  }
}

/** torchvision's Encoder: adds `pos_embedding` [1, S, hiddenDim], dropout, `layers` (encoder_layer_0 …), then `ln`. */
export class Encoder extends Module {
  declare pos_embedding: Tensor;
  declare dropout: Dropout;
  declare layers: Sequential;
  declare ln: LayerNorm;

  constructor(seqLength: number, numLayers: number, numHeads: number, hiddenDim: number, mlpDim: number, dropout: number, attentionDropout: number, options: FactoryOptions = {}) {
    super();
    // From BERT, as torchvision: N(0, 0.02²).
    this.registerParameter('pos_embedding', init.normal_(newTensor([1, seqLength, hiddenDim], options, 'Encoder'), 0, 0.02));
    this.registerModule('dropout', new Dropout(dropout));
    const layers: Record<string, Module> = {};
    for (let i = 0; i < numLayers; i++) layers[`encoder_layer_${i}`] = new EncoderBlock(numHeads, hiddenDim, mlpDim, dropout, attentionDropout, options);
    this.registerModule('layers', new Sequential(layers));
    this.registerModule('ln', new LayerNorm(hiddenDim, { eps: 1e-6, ...options }));
  }

  /** Encodes (N, S, hiddenDim), S the positional embedding's length. */
  forward(input: Tensor): Tensor {
    const S = this.pos_embedding.shape[1];
    if (!isTensor(input) || input.ndim !== 3 || input.shape[1] !== S || input.shape[2] !== this.pos_embedding.shape[2])
      throw new RangeError(`Encoder: expected (batch_size, ${S}, ${this.pos_embedding.shape[2]}), got ${isTensor(input) ? `[${input.shape.join(', ')}]` : typeof input}`);
    const x = input.add(this.pos_embedding);
    const d = this.dropout.call(x);
    x.dispose();
    const h = this.layers.call(d);
    d.dispose();
    const out = this.ln.call(h);
    h.dispose();
    return out;
  }
}

/** Options of the Vision Transformer builders. */
export interface VisionTransformerOptions extends FactoryOptions {
  /** Side of the (square) input images (default 224); fixes pos_embedding's length. */
  imageSize?: number;
  /** Size of the head (default 1000, ImageNet). */
  numClasses?: number;
  /** Dropout after attention, in the MLPs and on the embeddings (default 0). */
  dropout?: number;
  /** Dropout on the attention weights (default 0). */
  attentionDropout?: number;
  /** When set, heads = pre_logits Linear(hiddenDim, representationSize) → Tanh → head (default none: head only). */
  representationSize?: number | null;
}

/** The shape of a Vision Transformer: torchvision's VisionTransformer arguments. */
export interface VisionTransformerConfig {
  patchSize: number;
  numLayers: number;
  numHeads: number;
  hiddenDim: number;
  mlpDim: number;
}

/**
 * torchvision's VisionTransformer: `conv_proj` (patchSize x patchSize, stride patchSize) cuts the image into
 * patches, `class_token` [1, 1, hiddenDim] is prepended, `encoder` (pos_embedding, layers.encoder_layer_i, ln)
 * encodes, and `heads` (head, or pre_logits, act, head) classifies the class token. Same initialisation as
 * torchvision (conv_proj truncated normal with std √(1/fan_in); head zeros). torchvision's conv_stem_configs are not
 * offered. Layer groups: the embedding (conv_proj, class_token, encoder.pos_embedding), each encoder layer, then
 * encoder.ln with the heads.
 */
export class VisionTransformer extends Module {
  declare class_token: Tensor;
  declare conv_proj: Conv2d;
  declare encoder: Encoder;
  declare heads: Sequential;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly hiddenDim: number;
  readonly mlpDim: number;
  readonly numClasses: number;
  readonly seqLength: number;

  constructor(config: VisionTransformerConfig, options: VisionTransformerOptions = {}) {
    super();
    if (config === null || typeof config !== 'object') throw new TypeError('VisionTransformer: config must be { patchSize, numLayers, numHeads, hiddenDim, mlpDim }');
    const p = (this.patchSize = checkInt(config.patchSize, 'patchSize', 'VisionTransformer'));
    const numLayers = checkInt(config.numLayers, 'numLayers', 'VisionTransformer');
    const numHeads = checkInt(config.numHeads, 'numHeads', 'VisionTransformer');
    const hidden = (this.hiddenDim = checkInt(config.hiddenDim, 'hiddenDim', 'VisionTransformer'));
    this.mlpDim = checkInt(config.mlpDim, 'mlpDim', 'VisionTransformer');
    if (hidden % numHeads !== 0) throw new RangeError(`VisionTransformer: hiddenDim (${hidden}) must be divisible by numHeads (${numHeads})`);
    const size = (this.imageSize = checkInt(options.imageSize ?? 224, 'imageSize', 'VisionTransformer'));
    if (size % p !== 0) throw new RangeError(`VisionTransformer: imageSize (${size}) must be divisible by patchSize (${p})`);
    this.numClasses = checkInt(options.numClasses ?? 1000, 'numClasses', 'VisionTransformer');
    const dropout = checkNumber(options.dropout ?? 0, 'dropout', 'VisionTransformer', 0, 1);
    const attentionDropout = checkNumber(options.attentionDropout ?? 0, 'attentionDropout', 'VisionTransformer', 0, 1);
    const rep = options.representationSize ?? null;
    if (rep !== null) checkInt(rep, 'representationSize', 'VisionTransformer');
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    this.registerModule('conv_proj', new Conv2d(3, hidden, p, { stride: p, ...f }));
    this.seqLength = (size / p) ** 2 + 1;
    this.registerParameter('class_token', init.zeros_(newTensor([1, 1, hidden], f, 'VisionTransformer')));
    this.registerModule('encoder', new Encoder(this.seqLength, numLayers, numHeads, hidden, this.mlpDim, dropout, attentionDropout, f));
    const heads: Record<string, Module> =
      rep === null ? { head: new Linear(hidden, this.numClasses, f) } : { pre_logits: new Linear(hidden, rep, f), act: new Tanh(), head: new Linear(rep, this.numClasses, f) };
    this.registerModule('heads', new Sequential(heads));

    truncNormal_(this.conv_proj.weight, Math.sqrt(1 / (3 * p * p)));
    if (this.conv_proj.bias) init.zeros_(this.conv_proj.bias);
    if (rep !== null) {
      const pre = this.heads.at('pre_logits') as Linear;
      truncNormal_(pre.weight, Math.sqrt(1 / hidden));
      if (pre.bias) init.zeros_(pre.bias);
    }
    const head = this.heads.at('head') as Linear;
    init.zeros_(head.weight);
    if (head.bias) init.zeros_(head.bias);
    this.layerGroups = [
      ['conv_proj', 'class_token', 'encoder.pos_embedding'],
      ...Array.from({ length: numLayers }, (_, i) => `encoder.layers.encoder_layer_${i}`),
      ['encoder.ln', 'heads'],
    ];
  }

  /** The class token's encoding (N, hiddenDim) for images (N, 3, imageSize, imageSize): what the heads classify. */
  forwardFeatures(x: Tensor): Tensor {
    if (!isTensor(x)) throw new TypeError('VisionTransformer: expected a Tensor of images (N, C, H, W)');
    const c = this.conv_proj.inChannels;
    const s = this.imageSize;
    if (x.ndim !== 4 || x.shape[1] !== c || x.shape[2] !== s || x.shape[3] !== s)
      throw new RangeError(`VisionTransformer: expected input of shape (N, ${c}, ${s}, ${s}), got [${x.shape.join(', ')}]`);
    const n = x.shape[0];
    const proj = this.conv_proj.call(x);
    // (N, hidden, h, w) → (N, h·w, hidden), as torchvision's _process_input.
    const flat = proj.reshape([n, this.hiddenDim, this.seqLength - 1]);
    proj.dispose();
    const seq = flat.permute([0, 2, 1]);
    flat.dispose();
    const token = this.class_token.expand([n, -1, -1]);
    const withToken = cat([token, seq], 1);
    token.dispose();
    seq.dispose();
    const encoded = this.encoder.call(withToken);
    withToken.dispose();
    const first = encoded.select(1, 0);
    encoded.dispose();
    return first;
  }

  /** Not a chain: forward reshapes, prepends the class token and picks it out; cut with forwardFeatures() and heads instead. */
  chainLayers(): [string, Module][] {
    throw new TypeError("VisionTransformer: its forward is not a chain of its children (it reshapes patches, prepends class_token and picks it out after the encoder); use forwardFeatures() for the class token's features and 'heads' to classify them");
  }

  /** Class scores (N, numClasses). */
  forward(x: Tensor): Tensor {
    const feats = this.forwardFeatures(x);
    const out = this.heads.call(feats);
    feats.dispose();
    return out;
  }
}

function vit(config: VisionTransformerConfig, options: VisionTransformerOptions): VisionTransformer {
  return new VisionTransformer(config, options);
}

/** ViT-B/16 (86.6M parameters at 224x224), named as torchvision's `vit_b_16`. */
export function vit_b_16(options: VisionTransformerOptions = {}): VisionTransformer {
  return vit({ patchSize: 16, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072 }, options);
}

/** ViT-B/32, named as torchvision's `vit_b_32`. */
export function vit_b_32(options: VisionTransformerOptions = {}): VisionTransformer {
  return vit({ patchSize: 32, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072 }, options);
}

/** ViT-L/16, named as torchvision's `vit_l_16`. */
export function vit_l_16(options: VisionTransformerOptions = {}): VisionTransformer {
  return vit({ patchSize: 16, numLayers: 24, numHeads: 16, hiddenDim: 1024, mlpDim: 4096 }, options);
}

/** ViT-L/32, named as torchvision's `vit_l_32`. */
export function vit_l_32(options: VisionTransformerOptions = {}): VisionTransformer {
  return vit({ patchSize: 32, numLayers: 24, numHeads: 16, hiddenDim: 1024, mlpDim: 4096 }, options);
}

/** ViT-H/14, named as torchvision's `vit_h_14`. */
export function vit_h_14(options: VisionTransformerOptions = {}): VisionTransformer {
  return vit({ patchSize: 14, numLayers: 32, numHeads: 16, hiddenDim: 1280, mlpDim: 5120 }, options);
}
