/** torchvision's MobileNetV2 with its exact module tree and parameter names, so its weights load by name. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import { Sequential } from '../sequential';
import { Conv2d } from '../layers/conv';
import { BatchNorm2d } from '../layers/batchnorm';
import { ReLU6 } from '../layers/hardtanh';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { Conv2dNormActivation } from '../layers/conv-norm-activation';
import type { LayerFactory } from '../layers/layer-factory';
import { makeLayer } from '../layers/layer-factory';
import type { FactoryOptions } from '../layers/common';
import { checkInt, checkNumber } from '../layers/common';
import * as F from '../functional';
import * as init from '../init';
import { makeDivisible } from './make-divisible';
import { checkMultiplier, classify, initMobileWeights, poolFlattenChain, pooledFeatures } from './mobile-common';

/**
 * MobileNetV2's inverted residual block: a 1x1 expansion (when expandRatio ≠ 1), a 3x3 depthwise convolution, both
 * with ReLU6, and a linear 1x1 projection with its BatchNorm, in `conv`; the input is added when the shape allows.
 */
export class InvertedResidual extends Module {
  declare conv: Sequential;
  readonly stride: number;
  readonly useResConnect: boolean;
  readonly outChannels: number;

  constructor(inp: number, oup: number, stride: number, expandRatio: number, options: FactoryOptions & { normLayer?: LayerFactory<[number]> } = {}) {
    super();
    if (stride !== 1 && stride !== 2) throw new RangeError(`InvertedResidual: stride must be 1 or 2, got ${JSON.stringify(stride)}`);
    checkNumber(expandRatio, 'expandRatio', 'InvertedResidual', 0);
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    const normLayer = options.normLayer ?? ((c: number) => new BatchNorm2d(c, f));
    this.stride = stride;
    this.outChannels = oup;
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(new Conv2dNormActivation(inp, hidden, { kernelSize: 1, normLayer, activationLayer: ReLU6, ...f }));
    layers.push(new Conv2dNormActivation(hidden, hidden, { stride, groups: hidden, normLayer, activationLayer: ReLU6, ...f }));
    layers.push(new Conv2d(hidden, oup, 1, { bias: false, ...f }));
    layers.push(makeLayer(normLayer, [oup], 'normLayer', 'InvertedResidual'));
    this.registerModule('conv', new Sequential(layers));
  }

  /** The block, plus the input when stride is 1 and the channels match. */
  forward(x: Tensor): Tensor {
    if (!this.useResConnect) return this.conv.call(x);
    const y = this.conv.call(x);
    const out = x.add(y);
    if (y !== x) y.dispose();
    return out;
  }
}

/** Options of MobileNetV2 (torchvision's constructor arguments in camelCase). */
export interface MobileNetV2Options extends FactoryOptions {
  /** Size of the last Linear (default 1000, ImageNet). */
  numClasses?: number;
  /** Channel multiplier (default 1.0). */
  widthMult?: number;
  /** Rows [t (expansion), c (channels), n (blocks), s (stride)]; default the paper's 7 rows. */
  invertedResidualSetting?: number[][];
  /** Channels are rounded to multiples of this (default 8; 1 turns rounding off). */
  roundNearest?: number;
  /** Makes each norm layer from its channels (default BatchNorm2d, eps 1e-5, momentum 0.1). */
  normLayer?: LayerFactory<[number]>;
  /** Dropout before the last Linear (default 0.2). */
  dropout?: number;
  /** Channels of the input image (default 3). */
  inChannels?: number;
}

const V2_SETTING = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/**
 * torchvision's MobileNetV2 (Sandler et al., 2018): `features` (a stem Conv2dNormActivation, the inverted residual
 * blocks, a 1x1 Conv2dNormActivation to `lastChannel`), global average pooling, and `classifier` (Dropout, Linear).
 * Layer groups: the stem, one per row of the block table, the last convolution, the classifier.
 */
export class MobileNetV2 extends Module {
  declare features: Sequential;
  declare classifier: Sequential;
  readonly numClasses: number;
  readonly lastChannel: number;

  constructor(options: MobileNetV2Options = {}) {
    super();
    const name = 'MobileNetV2';
    this.numClasses = checkInt(options.numClasses ?? 1000, 'numClasses', name);
    const widthMult = checkMultiplier(options.widthMult ?? 1.0, 'widthMult', name);
    const roundNearest = checkInt(options.roundNearest ?? 8, 'roundNearest', name);
    const dropout = checkNumber(options.dropout ?? 0.2, 'dropout', name, 0, 1);
    const inChannels = checkInt(options.inChannels ?? 3, 'inChannels', name);
    const setting = options.invertedResidualSetting ?? V2_SETTING;
    if (!Array.isArray(setting) || setting.length === 0 || !setting.every((r) => Array.isArray(r) && r.length === 4))
      throw new TypeError(`${name}: invertedResidualSetting must be a non-empty list of [t, c, n, s] rows`);
    setting.forEach(([t, c, n, s]) => {
      checkNumber(t, 'expansion t', name, 0);
      checkInt(c, 'channels c', name);
      checkInt(n, 'blocks n', name);
      checkInt(s, 'stride s', name);
    });
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    const normLayer = options.normLayer ?? ((c: number) => new BatchNorm2d(c, f));
    let inputChannel = makeDivisible(32 * widthMult, roundNearest);
    this.lastChannel = makeDivisible(1280 * Math.max(1.0, widthMult), roundNearest);
    const features: Module[] = [new Conv2dNormActivation(inChannels, inputChannel, { stride: 2, normLayer, activationLayer: ReLU6, ...f })];
    const groups: string[][] = [['features.0']];
    for (const [t, c, n, s] of setting) {
      const out = makeDivisible(c * widthMult, roundNearest);
      const group: string[] = [];
      for (let i = 0; i < n; i++) {
        group.push(`features.${features.length}`);
        features.push(new InvertedResidual(inputChannel, out, i === 0 ? s : 1, t, { normLayer, ...f }));
        inputChannel = out;
      }
      groups.push(group);
    }
    groups.push([`features.${features.length}`], ['classifier']);
    features.push(new Conv2dNormActivation(inputChannel, this.lastChannel, { kernelSize: 1, normLayer, activationLayer: ReLU6, ...f }));
    this.registerModule('features', new Sequential(features));
    this.registerModule('classifier', new Sequential([new Dropout(dropout), new Linear(this.lastChannel, this.numClasses, f)]));
    this.layerGroups = groups;
    initMobileWeights(this, (m) => {
      init.normal_(m.weight, 0, 0.01);
      if (m.bias) init.zeros_(m.bias);
    });
  }

  /** Pooled features (N, lastChannel) before the classifier. */
  forwardFeatures(x: Tensor): Tensor {
    return pooledFeatures(this.features, (h) => F.adaptiveAvgPool2d(h, [1, 1]), x, 'MobileNetV2');
  }

  /**
   * The layers its forward applies, for reuse and feature caching: features, an 'avgpool' (the functional pooling
   * as a layer), a 'flatten', classifier.
   */
  chainLayers(): [string, Module][] {
    return poolFlattenChain(this, 'features', new AdaptiveAvgPool2d(1));
  }

  /** Class scores (N, numClasses) for images (N, C, H, W). */
  forward(x: Tensor): Tensor {
    return classify(this.classifier, this.forwardFeatures(x));
  }
}

/** MobileNetV2, named as torchvision's `mobilenet_v2`. */
export function mobilenet_v2(options: MobileNetV2Options = {}): MobileNetV2 {
  return new MobileNetV2(options);
}
