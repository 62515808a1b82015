/** torchvision's DenseNet-121/161/169/201 with torchvision's exact module tree and parameter names, so its weights load by name. */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { cat } from '../../creation';
import { Module } from '../module';
import { Sequential } from '../sequential';
import { Conv2d } from '../layers/conv';
import { BatchNorm2d } from '../layers/batchnorm';
import { ReLU } from '../layers/activation';
import { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from '../layers/pooling';
import { Flatten } from '../layers/shape';
import { Linear } from '../layers/linear';
import * as F from '../functional';
import * as init from '../init';
import type { FactoryOptions } from '../layers/common';
import { checkInt, checkNumber } from '../layers/common';

/**
 * torchvision's _DenseLayer: the concatenation of all earlier features → norm1 → relu1 → conv1 (1x1, bnSize·growth)
 * → norm2 → relu2 → conv2 (3x3, growth), then dropout (dropRate) in training. Returns only the new features.
 */
export class DenseLayer extends Module {
  declare norm1: BatchNorm2d;
  declare relu1: ReLU;
  declare conv1: Conv2d;
  declare norm2: BatchNorm2d;
  declare relu2: ReLU;
  declare conv2: Conv2d;
  readonly dropRate: number;

  constructor(numInputFeatures: number, growthRate: number, bnSize: number, dropRate: number, options: FactoryOptions = {}) {
    super();
    this.dropRate = checkNumber(dropRate, 'dropRate', 'DenseLayer', 0, 1);
    this.registerModule('norm1', new BatchNorm2d(numInputFeatures, options));
    this.registerModule('relu1', new ReLU());
    this.registerModule('conv1', new Conv2d(numInputFeatures, bnSize * growthRate, 1, { bias: false, ...options }));
    this.registerModule('norm2', new BatchNorm2d(bnSize * growthRate, options));
    this.registerModule('relu2', new ReLU());
    this.registerModule('conv2', new Conv2d(bnSize * growthRate, growthRate, 3, { padding: 1, bias: false, ...options }));
  }

  /** New features (N, growthRate, H, W) from one tensor or the list of earlier features (concatenated on channels). */
  forward(input: Tensor | Tensor[]): Tensor {
    const concat = Array.isArray(input) ? (input.length === 1 ? input[0] : cat(input, 1)) : input;
    const a = this.relu1.call(this.norm1.call(concat));
    if (concat !== input && !(Array.isArray(input) && input.includes(concat))) concat.dispose();
    const b = this.conv1.call(a);
    a.dispose();
    const c = this.relu2.call(this.norm2.call(b));
    b.dispose();
    const out = this.conv2.call(c);
    c.dispose();
    if (this.dropRate > 0 && this.training) {
      const dropped = F.dropout(out, this.dropRate, true);
      out.dispose();
      return dropped;
    }
    return out;
  }
}

/** torchvision's _DenseBlock: denselayer1..n, each fed every earlier output; returns them all concatenated on channels. */
export class DenseBlock extends Module {
  constructor(numLayers: number, numInputFeatures: number, bnSize: number, growthRate: number, dropRate: number, options: FactoryOptions = {}) {
    super();
    checkInt(numLayers, 'numLayers', 'DenseBlock');
    for (let i = 0; i < numLayers; i++)
      this.registerModule(`denselayer${i + 1}`, new DenseLayer(numInputFeatures + i * growthRate, growthRate, bnSize, dropRate, options));
  }

  /** The input and every layer's new features, concatenated: (N, C + numLayers·growthRate, H, W). */
  forward(initFeatures: Tensor): Tensor {
    const features: Tensor[] = [initFeatures];
    for (const [, layer] of this.namedChildren()) features.push((layer as DenseLayer).call(features));
    const out = cat(features, 1);
    for (const t of features.slice(1)) t.dispose();
    return out;
  }
}

/** torchvision's _Transition (a Sequential): norm → relu → conv (1x1) → pool (avg 2x2/2). */
export class Transition extends Sequential {
  constructor(numInputFeatures: number, numOutputFeatures: number, options: FactoryOptions = {}) {
    super({
      norm: new BatchNorm2d(numInputFeatures, options),
      relu: new ReLU(),
      conv: new Conv2d(numInputFeatures, numOutputFeatures, 1, { bias: false, ...options }),
      pool: new AvgPool2d(2, { stride: 2 }),
    });
  }
}

/** Options of the DenseNet builders. */
export interface DenseNetOptions extends FactoryOptions {
  /** Size of the classifier (default 1000, ImageNet). */
  numClasses?: number;
  /** Dropout after each dense layer in training (default 0). */
  dropRate?: number;
  /** Channels of the input image (default 3). */
  inChannels?: number;
}

/** DenseNet's architecture: torchvision's constructor arguments. */
export interface DenseNetConfig {
  /** Features each dense layer adds (k; default 32). */
  growthRate?: number;
  /** Dense layers of each of the 4 blocks (default [6, 12, 24, 16], DenseNet-121). */
  blockConfig?: number[];
  /** Channels of the stem convolution (default 64). */
  numInitFeatures?: number;
  /** Bottleneck width as a multiple of growthRate (default 4). */
  bnSize?: number;
}

/**
 * torchvision's DenseNet-BC: `features` (conv0, norm0, relu0, pool0, denseblock1, transition1, …, denseblock4,
 * norm5), then relu, global average pooling and `classifier` (Linear), with torchvision's initialisation (Kaiming
 * normal convolutions, BatchNorm ones/zeros, zero Linear bias). torchvision's memory_efficient (gradient
 * checkpointing) is not offered: the numbers are the same without it. Layer groups: the stem (conv0, norm0), each
 * dense block with its transition, norm5 with the classifier.
 */
export class DenseNet extends Module {
  declare features: Sequential;
  declare classifier: Linear;
  readonly numClasses: number;

  constructor(config: DenseNetConfig = {}, options: DenseNetOptions = {}) {
    super();
    const growth = checkInt(config.growthRate ?? 32, 'growthRate', 'DenseNet');
    const blocks = config.blockConfig ?? [6, 12, 24, 16];
    if (!Array.isArray(blocks) || blocks.length === 0) throw new TypeError('DenseNet: blockConfig must be a non-empty list of dense layer counts, e.g. [6, 12, 24, 16]');
    blocks.forEach((n) => checkInt(n, 'each blockConfig count', 'DenseNet'));
    const numInit = checkInt(config.numInitFeatures ?? 64, 'numInitFeatures', 'DenseNet');
    const bnSize = checkInt(config.bnSize ?? 4, 'bnSize', 'DenseNet');
    const dropRate = checkNumber(options.dropRate ?? 0, 'dropRate', 'DenseNet', 0, 1);
    this.numClasses = checkInt(options.numClasses ?? 1000, 'numClasses', 'DenseNet');
    const inChannels = checkInt(options.inChannels ?? 3, 'inChannels', 'DenseNet');
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    const layers: Record<string, Module> = {
      conv0: new Conv2d(inChannels, numInit, 7, { stride: 2, padding: 3, bias: false, ...f }),
      norm0: new BatchNorm2d(numInit, f),
      relu0: new ReLU(),
      pool0: new MaxPool2d(3, { stride: 2, padding: 1 }),
    };
    const groups: string[][] = [['features.conv0', 'features.norm0']];
    let n = numInit;
    blocks.forEach((numLayers, i) => {
      layers[`denseblock${i + 1}`] = new DenseBlock(numLayers, n, bnSize, growth, dropRate, f);
      n += numLayers * growth;
      const group = [`features.denseblock${i + 1}`];
      if (i !== blocks.length - 1) {
        layers[`transition${i + 1}`] = new Transition(n, Math.floor(n / 2), f);
        group.push(`features.transition${i + 1}`);
        n = Math.floor(n / 2);
      }
      groups.push(group);
    });
    layers.norm5 = new BatchNorm2d(n, f);
    this.registerModule('features', new Sequential(layers));
    this.registerModule('classifier', new Linear(n, this.numClasses, f));
    this.layerGroups = [...groups, ['features.norm5', 'classifier']];
    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight);
      else if (m instanceof BatchNorm2d) {
        if (m.weight) init.ones_(m.weight);
        if (m.bias) init.zeros_(m.bias);
      } else if (m instanceof Linear && m.bias) init.zeros_(m.bias);
    }
  }

  /** Features before the classifier: features → relu → global average pool, flattened to (N, C). */
  forwardFeatures(x: Tensor): Tensor {
    if (!isTensor(x)) throw new TypeError('DenseNet: expected a Tensor of images (N, C, H, W)');
    // conv0's channels, not the constructor's: surgery may have adapted it (tg.transfer.adaptInputChannels).
    const c = (this.features.at('conv0') as Conv2d).inChannels;
    if (x.ndim !== 4 || x.shape[1] !== c) throw new RangeError(`DenseNet: expected input of shape (N, ${c}, H, W), got [${x.shape.join(', ')}]`);
    const h = this.features.call(x);
    const r = F.relu(h);
    h.dispose();
    const pooled = F.adaptiveAvgPool2d(r, [1, 1]);
    r.dispose();
    const flat = pooled.flatten(1);
    pooled.dispose();
    return flat;
  }

  /**
   * The layers its forward applies, for reuse and slice: `features`, then a `relu`, `avgpool` and `flatten` where
   * forward applies them as functions, then `classifier`.
   */
  chainLayers(): [string, Module][] {
    return [['features', this.features], ['relu', new ReLU()], ['avgpool', new AdaptiveAvgPool2d([1, 1])], ['flatten', new Flatten()], ['classifier', this.classifier]];
  }

  /** Class scores (N, numClasses) for images (N, C, H, W). */
  forward(x: Tensor): Tensor {
    const feats = this.forwardFeatures(x);
    const out = this.classifier.call(feats);
    feats.dispose();
    return out;
  }
}

/** DenseNet-121 (growth 32, blocks [6, 12, 24, 16], 64 initial features), named as torchvision's `densenet121`. */
export function densenet121(options: DenseNetOptions = {}): DenseNet {
  return new DenseNet({ growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64 }, options);
}

/** DenseNet-161 (growth 48, blocks [6, 12, 36, 24], 96 initial features), named as torchvision's `densenet161`. */
export function densenet161(options: DenseNetOptions = {}): DenseNet {
  return new DenseNet({ growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96 }, options);
}

/** DenseNet-169 (growth 32, blocks [6, 12, 32, 32]), named as torchvision's `densenet169`. */
export function densenet169(options: DenseNetOptions = {}): DenseNet {
  return new DenseNet({ growthRate: 32, blockConfig: [6, 12, 32, 32], numInitFeatures: 64 }, options);
}

/** DenseNet-201 (growth 32, blocks [6, 12, 48, 32]), named as torchvision's `densenet201`. */
export function densenet201(options: DenseNetOptions = {}): DenseNet {
  return new DenseNet({ growthRate: 32, blockConfig: [6, 12, 48, 32], numInitFeatures: 64 }, options);
}
