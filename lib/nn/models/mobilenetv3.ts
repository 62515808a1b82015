/** torchvision's MobileNetV3 (large and small) with its exact module tree and parameter names, so its weights load by name. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import { Sequential } from '../sequential';
import { BatchNorm2d } from '../layers/batchnorm';
import { ReLU } from '../layers/activation';
import { Hardswish } from '../layers/hardswish';
import { Hardsigmoid } from '../layers/hardsigmoid';
import { Dropout } from '../layers/dropout';
import { Linear } from '../layers/linear';
import { AdaptiveAvgPool2d } from '../layers/pooling';
import { Conv2dNormActivation } from '../layers/conv-norm-activation';
import { SqueezeExcitation } from '../layers/squeeze-excitation';
import type { LayerFactory } from '../layers/layer-factory';
import type { FactoryOptions } from '../layers/common';
import { checkInt, checkNumber } from '../layers/common';
import * as init from '../init';
import { makeDivisible } from './make-divisible';
import { checkMultiplier, classify, initMobileWeights, poolFlattenChain, pooledFeatures } from './mobile-common';

/** One row of MobileNetV3's block table (torchvision's InvertedResidualConfig), channels already scaled. */
export interface InvertedResidualConfig {
  inputChannels: number;
  kernel: number;
  expandedChannels: number;
  outChannels: number;
  useSe: boolean;
  /** Hardswish ('HS') rather than ReLU ('RE'). */
  useHs: boolean;
  stride: number;
  dilation: number;
}

/**
 * MobileNetV3's block, in `block`: a 1x1 expansion (when the channels grow), a depthwise convolution, a
 * squeeze-and-excitation with a Hardsigmoid gate (when the row says so) and a linear 1x1 projection; the input is
 * added when stride is 1 and the channels match.
 */
export class InvertedResidualV3 extends Module {
  declare block: Sequential;
  readonly useResConnect: boolean;
  readonly outChannels: number;

  constructor(cnf: InvertedResidualConfig, normLayer: LayerFactory<[number]>, options: FactoryOptions = {}) {
    super();
    if (cnf.stride !== 1 && cnf.stride !== 2) throw new RangeError(`InvertedResidualV3: stride must be 1 or 2, got ${JSON.stringify(cnf.stride)}`);
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    this.useResConnect = cnf.stride === 1 && cnf.inputChannels === cnf.outChannels;
    this.outChannels = cnf.outChannels;
    const activationLayer = cnf.useHs ? Hardswish : ReLU;
    const layers: Module[] = [];
    if (cnf.expandedChannels !== cnf.inputChannels)
      layers.push(new Conv2dNormActivation(cnf.inputChannels, cnf.expandedChannels, { kernelSize: 1, normLayer, activationLayer, ...f }));
    layers.push(
      new Conv2dNormActivation(cnf.expandedChannels, cnf.expandedChannels, {
        kernelSize: cnf.kernel, stride: cnf.dilation > 1 ? 1 : cnf.stride, dilation: cnf.dilation, groups: cnf.expandedChannels, normLayer, activationLayer, ...f,
      }),
    );
    if (cnf.useSe) {
      const squeeze = makeDivisible(Math.floor(cnf.expandedChannels / 4), 8);
      layers.push(new SqueezeExcitation(cnf.expandedChannels, squeeze, { scaleActivation: Hardsigmoid, ...f }));
    }
    layers.push(new Conv2dNormActivation(cnf.expandedChannels, cnf.outChannels, { kernelSize: 1, normLayer, activationLayer: null, ...f }));
    this.registerModule('block', new Sequential(layers));
  }

  /** The block, plus the input when stride is 1 and the channels match. */
  forward(x: Tensor): Tensor {
    const y = this.block.call(x);
    if (!this.useResConnect) return y;
    const out = y.add(x);
    if (y !== x) y.dispose();
    return out;
  }
}

/** Options of mobilenet_v3_large / mobilenet_v3_small (torchvision's arguments in camelCase). */
export interface MobileNetV3Options extends FactoryOptions {
  /** Size of the last Linear (default 1000, ImageNet). */
  numClasses?: number;
  /** Channel multiplier (default 1.0). */
  widthMult?: number;
  /** Halve the channels of the last stage (torchvision's `reduced_tail`, default false). */
  reducedTail?: boolean;
  /** Dilate the last stage instead of striding it (torchvision's `dilated`, default false). */
  dilated?: boolean;
  /** Dropout inside the classifier (default 0.2). */
  dropout?: number;
  /** Makes each norm layer from its channels (default BatchNorm2d with eps 0.001 and momentum 0.01, as torchvision's). */
  normLayer?: LayerFactory<[number]>;
  /** Channels of the input image (default 3). */
  inChannels?: number;
}

// [input, kernel, expanded, out, SE, activation, stride, last stage?] as in torchvision's _mobilenet_v3_conf.
type Row = [number, number, number, number, boolean, 'RE' | 'HS', number, boolean];
const LARGE: Row[] = [
  [16, 3, 16, 16, false, 'RE', 1, false],
  [16, 3, 64, 24, false, 'RE', 2, false],
  [24, 3, 72, 24, false, 'RE', 1, false],
  [24, 5, 72, 40, true, 'RE', 2, false],
  [40, 5, 120, 40, true, 'RE', 1, false],
  [40, 5, 120, 40, true, 'RE', 1, false],
  [40, 3, 240, 80, false, 'HS', 2, false],
  [80, 3, 200, 80, false, 'HS', 1, false],
  [80, 3, 184, 80, false, 'HS', 1, false],
  [80, 3, 184, 80, false, 'HS', 1, false],
  [80, 3, 480, 112, true, 'HS', 1, false],
  [112, 3, 672, 112, true, 'HS', 1, false],
  [112, 5, 672, 160, true, 'HS', 2, true],
  [160, 5, 960, 160, true, 'HS', 1, true],
  [160, 5, 960, 160, true, 'HS', 1, true],
];
const SMALL: Row[] = [
  [16, 3, 16, 16, true, 'RE', 2, false],
  [16, 3, 72, 24, false, 'RE', 2, false],
  [24, 3, 88, 24, false, 'RE', 1, false],
  [24, 5, 96, 40, true, 'HS', 2, false],
  [40, 5, 240, 40, true, 'HS', 1, false],
  [40, 5, 240, 40, true, 'HS', 1, false],
  [40, 5, 120, 48, true, 'HS', 1, false],
  [48, 5, 144, 48, true, 'HS', 1, false],
  [48, 5, 288, 96, true, 'HS', 2, true],
  [96, 5, 576, 96, true, 'HS', 1, true],
  [96, 5, 576, 96, true, 'HS', 1, true],
];

/** The block table and last channel of an architecture, as torchvision's `_mobilenet_v3_conf`. */
export function mobilenetV3Config(arch: 'mobilenet_v3_large' | 'mobilenet_v3_small', options: MobileNetV3Options = {}): { setting: InvertedResidualConfig[]; lastChannel: number } {
  const name = arch;
  const widthMult = checkMultiplier(options.widthMult ?? 1.0, 'widthMult', name);
  const div = options.reducedTail ? 2 : 1;
  const dilation = options.dilated ? 2 : 1;
  const adjust = (c: number) => makeDivisible(c * widthMult, 8);
  const rows = arch === 'mobilenet_v3_large' ? LARGE : SMALL;
  // In the last stage torchvision divides the channels by reduce_divider, except the first row's input.
  const setting = rows.map(([inp, kernel, exp, out, se, act, stride, tail], i): InvertedResidualConfig => ({
    inputChannels: adjust(tail && rows[i - 1][7] ? Math.floor(inp / div) : inp),
    kernel,
    expandedChannels: adjust(tail && rows[i - 1][7] ? Math.floor(exp / div) : exp),
    outChannels: adjust(tail ? Math.floor(out / div) : out),
    useSe: se,
    useHs: act === 'HS',
    stride,
    dilation: tail ? dilation : 1,
  }));
  return { setting, lastChannel: adjust(Math.floor((arch === 'mobilenet_v3_large' ? 1280 : 1024) / div)) };
}

/**
 * torchvision's MobileNetV3 (Howard et al., 2019): `features` (a Hardswish stem, the blocks, a 1x1 convolution to 6x
 * the last block's channels), `avgpool`, and `classifier` (Linear, Hardswish, Dropout, Linear). Layer groups: the
 * stem, one per stage (a stride-2 block or new width starts one), the last convolution, the classifier.
 */
export class MobileNetV3 extends Module {
  declare features: Sequential;
  declare avgpool: AdaptiveAvgPool2d;
  declare classifier: Sequential;
  readonly numClasses: number;
  readonly lastChannel: number;

  constructor(setting: InvertedResidualConfig[], lastChannel: number, options: MobileNetV3Options = {}) {
    super();
    const name = 'MobileNetV3';
    if (!Array.isArray(setting) || setting.length === 0) throw new TypeError(`${name}: the block table must be a non-empty list of InvertedResidualConfig`);
    this.numClasses = checkInt(options.numClasses ?? 1000, 'numClasses', name);
    this.lastChannel = checkInt(lastChannel, 'lastChannel', name);
    const dropout = checkNumber(options.dropout ?? 0.2, 'dropout', name, 0, 1);
    const inChannels = checkInt(options.inChannels ?? 3, 'inChannels', name);
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    const normLayer = options.normLayer ?? ((c: number) => new BatchNorm2d(c, { eps: 0.001, momentum: 0.01, ...f }));
    const layers: Module[] = [new Conv2dNormActivation(inChannels, setting[0].inputChannels, { stride: 2, normLayer, activationLayer: Hardswish, ...f })];
    const groups: string[][] = [['features.0']];
    for (const cnf of setting) {
      const prev = layers.length > 1 ? (layers[layers.length - 1] as InvertedResidualV3).outChannels : -1;
      // A stage starts where the resolution or the width changes.
      if (cnf.stride > 1 || cnf.outChannels !== prev) groups.push([]);
      groups[groups.length - 1].push(`features.${layers.length}`);
      layers.push(new InvertedResidualV3(cnf, normLayer, f));
    }
    const lastIn = setting[setting.length - 1].outChannels;
    groups.push([`features.${layers.length}`], ['classifier']);
    layers.push(new Conv2dNormActivation(lastIn, 6 * lastIn, { kernelSize: 1, normLayer, activationLayer: Hardswish, ...f }));
    this.registerModule('features', new Sequential(layers));
    this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.registerModule(
      'classifier',
      new Sequential([new Linear(6 * lastIn, lastChannel, f), new Hardswish(), new Dropout(dropout), new Linear(lastChannel, this.numClasses, f)]),
    );
    this.layerGroups = groups;
    initMobileWeights(this, (m) => {
      init.normal_(m.weight, 0, 0.01);
      if (m.bias) init.zeros_(m.bias);
    });
  }

  /** Pooled features (N, 6 · last block channels) before the classifier. */
  forwardFeatures(x: Tensor): Tensor {
    return pooledFeatures(this.features, (h) => this.avgpool.call(h), x, 'MobileNetV3');
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

/** MobileNetV3-Large, named as torchvision's `mobilenet_v3_large`. */
export function mobilenet_v3_large(options: MobileNetV3Options = {}): MobileNetV3 {
  const { setting, lastChannel } = mobilenetV3Config('mobilenet_v3_large', options);
  return new MobileNetV3(setting, lastChannel, options);
}

/** MobileNetV3-Small, named as torchvision's `mobilenet_v3_small`. */
export function mobilenet_v3_small(options: MobileNetV3Options = {}): MobileNetV3 {
  const { setting, lastChannel } = mobilenetV3Config('mobilenet_v3_small', options);
  return new MobileNetV3(setting, lastChannel, options);
}
