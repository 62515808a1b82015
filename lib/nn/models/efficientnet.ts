/** torchvision's EfficientNet B0-B7 with its exact module tree and parameter names, so its weights load by name. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import { Sequential } from '../sequential';
import { BatchNorm2d } from '../layers/batchnorm';
import { SiLU } from '../layers/silu';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { StochasticDepth } from '../layers/stochastic-depth';
import { Conv2dNormActivation } from '../layers/conv-norm-activation';
import { SqueezeExcitation } from '../layers/squeeze-excitation';
import type { LayerFactory } from '../layers/layer-factory';
import type { FactoryOptions } from '../layers/common';
import { checkInt, checkNumber } from '../layers/common';
import * as init from '../init';
import { makeDivisible } from './make-divisible';
import { checkMultiplier, classify, initMobileWeights, poolFlattenChain, pooledFeatures } from './mobile-common';

/** One MBConv block's configuration (torchvision's MBConvConfig for one block), channels already scaled. */
export interface MBConvConfig {
  expandRatio: number;
  kernel: number;
  stride: number;
  inputChannels: number;
  outChannels: number;
}

/**
 * EfficientNet's mobile inverted bottleneck, in `block`: a 1x1 expansion (when the channels grow), a depthwise
 * convolution, squeeze-and-excitation (SiLU inside, to a quarter of the input channels) and a linear 1x1
 * projection; with the input added, after `stochastic_depth`, when stride is 1 and the channels match.
 */
export class MBConv extends Module {
  declare block: Sequential;
  declare stochastic_depth: StochasticDepth;
  readonly useResConnect: boolean;
  readonly outChannels: number;

  constructor(cnf: MBConvConfig, stochasticDepthProb: number, normLayer: LayerFactory<[number]>, options: FactoryOptions = {}) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new RangeError(`MBConv: stride must be 1 or 2, got ${JSON.stringify(cnf.stride)}`);
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    this.outChannels = cnf.outChannels;
    const expanded = makeDivisible(cnf.inputChannels * cnf.expandRatio, 8);
    const layers: Module[] = [];
    if (expanded !== cnf.inputChannels) layers.push(new Conv2dNormActivation(cnf.inputChannels, expanded, { kernelSize: 1, normLayer, activationLayer: SiLU, ...f }));
    layers.push(new Conv2dNormActivation(expanded, expanded, { kernelSize: cnf.kernel, stride: cnf.stride, groups: expanded, normLayer, activationLayer: SiLU, ...f }));
    layers.push(new SqueezeExcitation(expanded, Math.max(1, Math.floor(cnf.inputChannels / 4)), { activation: SiLU, ...f }));
    layers.push(new Conv2dNormActivation(expanded, cnf.outChannels, { kernelSize: 1, normLayer, activationLayer: null, ...f }));
    this.registerModule('block', new Sequential(layers));
    this.registerModule('stochastic_depth', new StochasticDepth(stochasticDepthProb, 'row'));
  }

  /** The block, plus (after stochastic depth) the input when stride is 1 and the channels match. */
  forward(x: Tensor): Tensor {
    const y = this.block.call(x);
    if (!this.useResConnect) return y;
    const dropped = this.stochastic_depth.call(y);
    if (dropped !== y && y !== x) y.dispose();
    const out = dropped.add(x);
    if (dropped !== x) dropped.dispose();
    return out;
  }
}

/** Options of EfficientNet and efficientnet_b0 (torchvision's arguments in camelCase). */
export interface EfficientNetOptions extends FactoryOptions {
  /** Size of the last Linear (default 1000, ImageNet). */
  numClasses?: number;
  /** Dropout before the last Linear (default 0.2; the builders use their variant's). */
  dropout?: number;
  /** Stochastic depth probability of the last block, growing linearly from 0 at the first (default 0.2). */
  stochasticDepthProb?: number;
  /** Channel multiplier (default 1.0, B0's). */
  widthMult?: number;
  /** Depth multiplier: blocks per stage are ceil(n · depthMult) (default 1.0, B0's). */
  depthMult?: number;
  /** Makes each norm layer from its channels (default BatchNorm2d, eps 1e-5, momentum 0.1, as torchvision's B0–B4). */
  normLayer?: LayerFactory<[number]>;
  /** Channels of the input image (default 3). */
  inChannels?: number;
}

// [expand ratio, kernel, stride, input channels, output channels, blocks] of torchvision's efficientnet_b* table.
const B_SETTING = [
  [1, 3, 1, 32, 16, 1],
  [6, 3, 2, 16, 24, 2],
  [6, 5, 2, 24, 40, 2],
  [6, 3, 2, 40, 80, 3],
  [6, 5, 1, 80, 112, 3],
  [6, 5, 2, 112, 192, 4],
  [6, 3, 1, 192, 320, 1],
];

/**
 * torchvision's EfficientNet (Tan & Le, 2019): `features` (a SiLU stem, one Sequential of MBConv blocks per stage,
 * a 1x1 convolution to 4x the last stage's channels), `avgpool`, and `classifier` (Dropout, Linear). Layer groups:
 * each child of `features` (stem, the seven stages, the last convolution), then the classifier.
 */
export class EfficientNet extends Module {
  declare features: Sequential;
  declare avgpool: AdaptiveAvgPool2d;
  declare classifier: Sequential;
  readonly numClasses: number;

  constructor(options: EfficientNetOptions = {}) {
    super();
    const name = 'EfficientNet';
    this.numClasses = checkInt(options.numClasses ?? 1000, 'numClasses', name);
    const dropout = checkNumber(options.dropout ?? 0.2, 'dropout', name, 0, 1);
    const sdProb = checkNumber(options.stochasticDepthProb ?? 0.2, 'stochasticDepthProb', name, 0, 1);
    const widthMult = checkMultiplier(options.widthMult ?? 1.0, 'widthMult', name);
    const depthMult = checkMultiplier(options.depthMult ?? 1.0, 'depthMult', name);
    const inChannels = checkInt(options.inChannels ?? 3, 'inChannels', name);
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    const normLayer = options.normLayer ?? ((c: number) => new BatchNorm2d(c, f));
    const adjust = (c: number) => makeDivisible(c * widthMult, 8);
    const stages = B_SETTING.map(([expandRatio, kernel, stride, inp, out, n]) => ({
      expandRatio, kernel, stride, inputChannels: adjust(inp), outChannels: adjust(out), numLayers: Math.ceil(n * depthMult),
    }));
    const layers: Module[] = [new Conv2dNormActivation(inChannels, stages[0].inputChannels, { stride: 2, normLayer, activationLayer: SiLU, ...f })];
    const total = stages.reduce((s, c) => s + c.numLayers, 0);
    let blockId = 0;
    for (const cnf of stages) {
      const stage: Module[] = [];
      for (let i = 0; i < cnf.numLayers; i++) {
        const blockCnf = i === 0 ? cnf : { ...cnf, inputChannels: cnf.outChannels, stride: 1 };
        // The drop probability grows with depth, as torchvision's.
        stage.push(new MBConv(blockCnf, (sdProb * blockId) / total, normLayer, f));
        blockId++;
      }
      layers.push(new Sequential(stage));
    }
    const lastIn = stages[stages.length - 1].outChannels;
    layers.push(new Conv2dNormActivation(lastIn, 4 * lastIn, { kernelSize: 1, normLayer, activationLayer: SiLU, ...f }));
    this.registerModule('features', new Sequential(layers));
    this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.registerModule('classifier', new Sequential([new Dropout(dropout), new Linear(4 * lastIn, this.numClasses, f)]));
    this.layerGroups = [...layers.map((_, i) => `features.${i}`), 'classifier'];
    initMobileWeights(this, (m) => {
      const range = 1.0 / Math.sqrt(m.outFeatures);
      init.uniform_(m.weight, -range, range);
      if (m.bias) init.zeros_(m.bias);
    });
  }

  /** Pooled features (N, 4 · last stage channels) before the classifier. */
  forwardFeatures(x: Tensor): Tensor {
    return pooledFeatures(this.features, (h) => this.avgpool.call(h), x, 'EfficientNet');
  }

  /** The layers its forward applies, for reuse and feature caching: features, avgpool, a 'flatten', classifier. */
  chainLayers(): [string, Module][] {
    return poolFlattenChain(this, 'avgpool');
  }

  /** Class scores (N, numClasses) for images (N, C, H, W). */
  forward(x: Tensor): Tensor {
    return classify(this.classifier, this.forwardFeatures(x));
  }
}

// [width, depth, dropout, BatchNorm eps/momentum of torchvision's (B5-B7: 0.001 and 0.01)] per variant.
const VARIANTS: Record<string, [number, number, number, boolean]> = {
  b0: [1.0, 1.0, 0.2, false],
  b1: [1.0, 1.1, 0.2, false],
  b2: [1.1, 1.2, 0.3, false],
  b3: [1.2, 1.4, 0.3, false],
  b4: [1.4, 1.8, 0.4, false],
  b5: [1.6, 2.2, 0.4, true],
  b6: [1.8, 2.6, 0.5, true],
  b7: [2.0, 3.1, 0.5, true],
};

function variant(v: keyof typeof VARIANTS, options: EfficientNetOptions): EfficientNet {
  const [widthMult, depthMult, dropout, tfNorm] = VARIANTS[v];
  const f: FactoryOptions = { device: options.device, dtype: options.dtype };
  const normLayer = options.normLayer ?? (tfNorm ? (c: number) => new BatchNorm2d(c, { eps: 0.001, momentum: 0.01, ...f }) : undefined);
  return new EfficientNet({ dropout, ...options, normLayer, widthMult, depthMult });
}

/** EfficientNet-B0, named as torchvision's `efficientnet_b0`. */
export function efficientnet_b0(options: EfficientNetOptions = {}): EfficientNet {
  return variant('b0', options);
}

/** EfficientNet-B1 (depth 1.1), named as torchvision's `efficientnet_b1`. */
export function efficientnet_b1(options: EfficientNetOptions = {}): EfficientNet {
  return variant('b1', options);
}

/** EfficientNet-B2 (width 1.1, depth 1.2, dropout 0.3), named as torchvision's `efficientnet_b2`. */
export function efficientnet_b2(options: EfficientNetOptions = {}): EfficientNet {
  return variant('b2', options);
}

/** EfficientNet-B3 (width 1.2, depth 1.4, dropout 0.3), named as torchvision's `efficientnet_b3`. */
export function efficientnet_b3(options: EfficientNetOptions = {}): EfficientNet {
  return variant('b3', options);
}

/** EfficientNet-B4 (width 1.4, depth 1.8, dropout 0.4), named as torchvision's `efficientnet_b4`. */
export function efficientnet_b4(options: EfficientNetOptions = {}): EfficientNet {
  return variant('b4', options);
}

/** EfficientNet-B5 (width 1.6, depth 2.2, dropout 0.4, BatchNorm eps 0.001, momentum 0.01), named as torchvision's `efficientnet_b5`. */
export function efficientnet_b5(options: EfficientNetOptions = {}): EfficientNet {
  return variant('b5', options);
}

/** EfficientNet-B6 (width 1.8, depth 2.6, dropout 0.5, BatchNorm eps 0.001, momentum 0.01), named as torchvision's `efficientnet_b6`. */
export function efficientnet_b6(options: EfficientNetOptions = {}): EfficientNet {
  return variant('b6', options);
}

/** EfficientNet-B7 (width 2.0, depth 3.1, dropout 0.5, BatchNorm eps 0.001, momentum 0.01), named as torchvision's `efficientnet_b7`. */
export function efficientnet_b7(options: EfficientNetOptions = {}): EfficientNet {
  return variant('b7', options);
}
