/** torchvision's ConvNeXt (Tiny, Small, Base, Large) with torchvision's exact module tree and parameter names, so its weights load by name. */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { Module } from '../module';
import { Sequential } from '../sequential';
import { Conv2d } from '../layers/conv';
import { Linear } from '../layers/linear';
import { LayerNorm } from '../layers/layernorm';
import { LayerNorm2d } from '../layers/layernorm2d';
import { Permute } from '../layers/permute';
import { GELU } from '../layers/activation';
import { StochasticDepth } from '../layers/stochastic-depth';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { Flatten } from '../layers/shape';
import * as init from '../init';
import { truncNormal_ } from './trunc-normal';
import type { FactoryOptions } from '../layers/common';
import { checkInt, checkNumber, newTensor } from '../layers/common';

/**
 * torchvision's CNBlock: `block` = depthwise 7x7 conv → Permute(NHWC) → LayerNorm(eps 1e-6) → Linear(4·dim) → GELU →
 * Linear(dim) → Permute(NCHW), scaled per channel by `layer_scale` [dim, 1, 1], through StochasticDepth ('row'),
 * plus the input.
 */
export class CNBlock extends Module {
  declare layer_scale: Tensor;
  declare block: Sequential;
  declare stochastic_depth: StochasticDepth;

  /** @param dim channels; @param layerScale layer_scale's initial value; @param stochasticDepthProb the block's drop probability. */
  constructor(dim: number, layerScale: number, stochasticDepthProb: number, options: FactoryOptions = {}) {
    super();
    checkInt(dim, 'dim', 'CNBlock');
    checkNumber(layerScale, 'layerScale', 'CNBlock');
    this.registerModule('block', new Sequential([
      new Conv2d(dim, dim, 7, { padding: 3, groups: dim, bias: true, ...options }),
      new Permute([0, 2, 3, 1]),
      new LayerNorm(dim, { eps: 1e-6, ...options }),
      new Linear(dim, 4 * dim, options),
      new GELU(),
      new Linear(4 * dim, dim, options),
      new Permute([0, 3, 1, 2]),
    ]));
    // The state dict lists layer_scale first whatever the order here: a module's own parameters precede its children's, as in PyTorch.
    this.registerParameter('layer_scale', init.constant_(newTensor([dim, 1, 1], options, 'CNBlock'), layerScale));
    this.registerModule('stochastic_depth', new StochasticDepth(stochasticDepthProb, 'row'));
  }

  /** input + StochasticDepth(layer_scale · block(input)). */
  forward(input: Tensor): Tensor {
    const b = this.block.call(input);
    const scaled = b.mul(this.layer_scale);
    b.dispose();
    const dropped = this.stochastic_depth.call(scaled);
    const out = dropped.add(input);
    if (dropped !== scaled) dropped.dispose();
    scaled.dispose();
    return out;
  }
}

/** One ConvNeXt stage: numLayers CNBlocks of inputChannels, then (unless outChannels is null) a downsampling layer to outChannels. */
export interface CNBlockConfig {
  inputChannels: number;
  outChannels: number | null;
  numLayers: number;
}

/** Options of the ConvNeXt builders. */
export interface ConvNeXtOptions extends FactoryOptions {
  /** Size of the classifier's last Linear (default 1000, ImageNet). */
  numClasses?: number;
  /** Drop probability of the last block, growing linearly from 0 at the first (default per builder: Tiny 0.1, Small 0.4, Base and Large 0.5; the class's 0). */
  stochasticDepthProb?: number;
  /** layer_scale's initial value (default 1e-6). */
  layerScale?: number;
  /** Channels of the input image (default 3). */
  inChannels?: number;
}

/**
 * torchvision's ConvNeXt: `features` (0: stem conv 4x4/4 + LayerNorm2d; then stages of CNBlocks, each but the last
 * followed by LayerNorm2d + conv 2x2/2), `avgpool`, `classifier` (LayerNorm2d, Flatten, Linear), with torchvision's
 * initialisation (truncated normal, std 0.02, for convolutions and Linears; zero biases). Layer groups: one per
 * `features.i`, then `classifier`.
 */
export class ConvNeXt extends Module {
  declare features: Sequential;
  declare avgpool: AdaptiveAvgPool2d;
  declare classifier: Sequential;
  readonly numClasses: number;
  readonly blockSetting: CNBlockConfig[];

  constructor(blockSetting: CNBlockConfig[], options: ConvNeXtOptions = {}) {
    super();
    if (!Array.isArray(blockSetting) || blockSetting.length === 0)
      throw new TypeError('ConvNeXt: blockSetting must be a non-empty list of { inputChannels, outChannels, numLayers }');
    blockSetting.forEach((c, i) => {
      if (c === null || typeof c !== 'object') throw new TypeError(`ConvNeXt: blockSetting[${i}] must be { inputChannels, outChannels, numLayers }`);
      checkInt(c.inputChannels, `blockSetting[${i}].inputChannels`, 'ConvNeXt');
      if (c.outChannels !== null) checkInt(c.outChannels, `blockSetting[${i}].outChannels`, 'ConvNeXt');
      checkInt(c.numLayers, `blockSetting[${i}].numLayers`, 'ConvNeXt');
    });
    this.blockSetting = blockSetting.map((c) => ({ ...c }));
    this.numClasses = checkInt(options.numClasses ?? 1000, 'numClasses', 'ConvNeXt');
    const sdProb = checkNumber(options.stochasticDepthProb ?? 0, 'stochasticDepthProb', 'ConvNeXt', 0, 1);
    const layerScale = checkNumber(options.layerScale ?? 1e-6, 'layerScale', 'ConvNeXt');
    const inChannels = checkInt(options.inChannels ?? 3, 'inChannels', 'ConvNeXt');
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    const first = blockSetting[0].inputChannels;
    const layers: Module[] = [new Sequential([new Conv2d(inChannels, first, 4, { stride: 4, bias: true, ...f }), new LayerNorm2d(first, { eps: 1e-6, ...f })])];
    const total = blockSetting.reduce((s, c) => s + c.numLayers, 0);
    let blockId = 0;
    for (const cnf of blockSetting) {
      const stage: Module[] = [];
      for (let i = 0; i < cnf.numLayers; i++) {
        // The drop probability grows linearly with depth, as torchvision's (0/0 for a single block gives NaN there too).
        stage.push(new CNBlock(cnf.inputChannels, layerScale, total > 1 ? (sdProb * blockId) / (total - 1) : 0, f));
        blockId++;
      }
      layers.push(new Sequential(stage));
      if (cnf.outChannels !== null)
        layers.push(new Sequential([new LayerNorm2d(cnf.inputChannels, { eps: 1e-6, ...f }), new Conv2d(cnf.inputChannels, cnf.outChannels, 2, { stride: 2, ...f })]));
    }
    const last = blockSetting[blockSetting.length - 1];
    const lastChannels = last.outChannels ?? last.inputChannels;
    this.registerModule('features', new Sequential(layers));
    this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.registerModule('classifier', new Sequential([new LayerNorm2d(lastChannels, { eps: 1e-6, ...f }), new Flatten(), new Linear(lastChannels, this.numClasses, f)]));
    this.layerGroups = [...layers.map((_, i) => `features.${i}`), 'classifier'];
    for (const m of this.modules()) {
      if (m instanceof Conv2d || m instanceof Linear) {
        truncNormal_(m.weight, 0.02);
        if (m.bias) init.zeros_(m.bias);
      }
    }
  }

  /** Pooled features (N, C, 1, 1) before the classifier. */
  forwardFeatures(x: Tensor): Tensor {
    if (!isTensor(x)) throw new TypeError('ConvNeXt: expected a Tensor of images (N, C, H, W)');
    // The stem's channels, not the constructor's: surgery may have adapted it (tg.transfer.adaptInputChannels).
    const stem = (this.features.at(0) as Sequential).at(0) as Conv2d;
    if (x.ndim !== 4 || x.shape[1] !== stem.inChannels) throw new RangeError(`ConvNeXt: expected input of shape (N, ${stem.inChannels}, H, W), got [${x.shape.join(', ')}]`);
    const h = this.features.call(x);
    const pooled = this.avgpool.call(h);
    h.dispose();
    return pooled;
  }

  /** Class scores (N, numClasses) for images (N, C, H, W). */
  forward(x: Tensor): Tensor {
    const feats = this.forwardFeatures(x);
    const out = this.classifier.call(feats);
    feats.dispose();
    return out;
  }
}

const TINY: CNBlockConfig[] = [
  { inputChannels: 96, outChannels: 192, numLayers: 3 },
  { inputChannels: 192, outChannels: 384, numLayers: 3 },
  { inputChannels: 384, outChannels: 768, numLayers: 9 },
  { inputChannels: 768, outChannels: null, numLayers: 3 },
];

function setting(widths: number[], depths: number[]): CNBlockConfig[] {
  return widths.map((w, i) => ({ inputChannels: w, outChannels: i + 1 < widths.length ? widths[i + 1] : null, numLayers: depths[i] }));
}

/** ConvNeXt-Tiny (28.6M parameters), named as torchvision's `convnext_tiny`; stochasticDepthProb defaults to 0.1. */
export function convnext_tiny(options: ConvNeXtOptions = {}): ConvNeXt {
  return new ConvNeXt(TINY, { stochasticDepthProb: 0.1, ...options });
}

/** ConvNeXt-Small, named as torchvision's `convnext_small`; stochasticDepthProb defaults to 0.4. */
export function convnext_small(options: ConvNeXtOptions = {}): ConvNeXt {
  return new ConvNeXt(setting([96, 192, 384, 768], [3, 3, 27, 3]), { stochasticDepthProb: 0.4, ...options });
}

/** ConvNeXt-Base, named as torchvision's `convnext_base`; stochasticDepthProb defaults to 0.5. */
export function convnext_base(options: ConvNeXtOptions = {}): ConvNeXt {
  return new ConvNeXt(setting([128, 256, 512, 1024], [3, 3, 27, 3]), { stochasticDepthProb: 0.5, ...options });
}

/** ConvNeXt-Large, named as torchvision's `convnext_large`; stochasticDepthProb defaults to 0.5. */
export function convnext_large(options: ConvNeXtOptions = {}): ConvNeXt {
  return new ConvNeXt(setting([192, 384, 768, 1536], [3, 3, 27, 3]), { stochasticDepthProb: 0.5, ...options });
}
