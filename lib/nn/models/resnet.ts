/** torchvision's ResNet-18/34 (BasicBlock) and ResNet-50/101/152 (Bottleneck) with torchvision's exact parameter and buffer names, so its weights load by name. */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { Module } from '../module';
import { Sequential } from '../sequential';
import { Conv2d } from '../layers/conv';
import { BatchNorm2d } from '../layers/batchnorm';
import { ReLU } from '../layers/activation';
import { MaxPool2d, AdaptiveAvgPool2d } from '../layers/pooling';
import { Flatten } from '../layers/shape';
import { Linear } from '../layers/linear';
import * as init from '../init';
import type { FactoryOptions } from '../layers/common';
import { checkInt } from '../layers/common';

/**
 * torchvision's BasicBlock: conv1 (3x3, stride) → bn1 → relu → conv2 (3x3) → bn2, plus the shortcut
 * (`downsample`: a 1x1 conv and a BatchNorm when the shape changes), then relu.
 */
export class BasicBlock extends Module {
  /** Output channels / planes (1 for BasicBlock). */
  static readonly expansion = 1;
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare relu: ReLU;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare downsample: Sequential | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null, options: FactoryOptions = {}) {
    super();
    this.stride = stride;
    this.registerModule('conv1', new Conv2d(inplanes, planes, 3, { stride, padding: 1, bias: false, ...options }));
    this.registerModule('bn1', new BatchNorm2d(planes, options));
    this.registerModule('relu', new ReLU());
    this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false, ...options }));
    this.registerModule('bn2', new BatchNorm2d(planes, options));
    this.registerModule('downsample', downsample);
  }

  /** The residual block. */
  forward(x: Tensor): Tensor {
    const out1 = this.relu.call(this.bn1.call(this.conv1.call(x)));
    const out2 = this.bn2.call(this.conv2.call(out1));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(out2.add(identity));
  }
}

/**
 * torchvision's Bottleneck (ResNet V1.5: the stride sits on the 3x3 conv): conv1 (1x1) → bn1 → conv2 (3x3, stride)
 * → bn2 → conv3 (1x1, 4x channels) → bn3, plus the shortcut, with relu after bn1, bn2 and the sum.
 */
export class Bottleneck extends Module {
  /** Output channels / planes. */
  static readonly expansion = 4;
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare conv2: Conv2d;
  declare bn2: BatchNorm2d;
  declare conv3: Conv2d;
  declare bn3: BatchNorm2d;
  declare relu: ReLU;
  declare downsample: Sequential | null;
  readonly stride: number;

  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null, options: FactoryOptions = {}) {
    super();
    this.stride = stride;
    this.registerModule('conv1', new Conv2d(inplanes, planes, 1, { bias: false, ...options }));
    this.registerModule('bn1', new BatchNorm2d(planes, options));
    this.registerModule('conv2', new Conv2d(planes, planes, 3, { stride, padding: 1, bias: false, ...options }));
    this.registerModule('bn2', new BatchNorm2d(planes, options));
    this.registerModule('conv3', new Conv2d(planes, planes * Bottleneck.expansion, 1, { bias: false, ...options }));
    this.registerModule('bn3', new BatchNorm2d(planes * Bottleneck.expansion, options));
    this.registerModule('relu', new ReLU());
    this.registerModule('downsample', downsample);
  }

  /** The residual block. */
  forward(x: Tensor): Tensor {
    const out1 = this.relu.call(this.bn1.call(this.conv1.call(x)));
    const out2 = this.relu.call(this.bn2.call(this.conv2.call(out1)));
    const out3 = this.bn3.call(this.conv3.call(out2));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(out3.add(identity));
  }
}

/** The residual block a ResNet stacks. */
export type ResNetBlock = typeof BasicBlock | typeof Bottleneck;

/** Options of the ResNet builders. */
export interface ResNetOptions extends FactoryOptions {
  /** Size of the final fc layer (default 1000, ImageNet). */
  numClasses?: number;
  /** Channels of the input image (default 3); conv1's weight is [64, inChannels, 7, 7]. */
  inChannels?: number;
  /** Start each block's last BatchNorm at zero so blocks begin as the identity (torchvision's option; default false). */
  zeroInitResidual?: boolean;
}

/**
 * torchvision's ResNet over BasicBlocks: conv1, bn1, relu, maxpool, layer1..layer4, avgpool, fc, with
 * torchvision's initialisation (Kaiming normal, fan out, for convolutions; BatchNorm ones/zeros).
 */
export class ResNet extends Module {
  declare conv1: Conv2d;
  declare bn1: BatchNorm2d;
  declare relu: ReLU;
  declare maxpool: MaxPool2d;
  declare layer1: Sequential;
  declare layer2: Sequential;
  declare layer3: Sequential;
  declare layer4: Sequential;
  declare avgpool: AdaptiveAvgPool2d;
  declare fc: Linear;
  readonly inChannels: number;
  readonly numClasses: number;

  readonly block: ResNetBlock;

  /**
   * @param layers blocks per stage, e.g. [2, 2, 2, 2] for ResNet-18.
   * @param options also `block`: BasicBlock (default) or Bottleneck.
   */
  constructor(layers: number[], options: ResNetOptions & { block?: ResNetBlock } = {}) {
    super();
    if (!Array.isArray(layers) || layers.length !== 4) throw new TypeError('ResNet: layers must list the number of blocks of each of the 4 stages, e.g. [2, 2, 2, 2]');
    layers.forEach((n) => checkInt(n, 'each stage block count', 'ResNet'));
    this.inChannels = checkInt(options.inChannels ?? 3, 'inChannels', 'ResNet');
    this.numClasses = checkInt(options.numClasses ?? 1000, 'numClasses', 'ResNet');
    const block = (this.block = options.block ?? BasicBlock);
    if (block !== BasicBlock && block !== Bottleneck) throw new TypeError('ResNet: block must be tg.nn.models.BasicBlock or Bottleneck');
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    let inplanes = 64;
    const makeLayer = (planes: number, blocks: number, stride: number): Sequential => {
      let downsample: Sequential | null = null;
      if (stride !== 1 || inplanes !== planes * block.expansion) {
        downsample = new Sequential([
          new Conv2d(inplanes, planes * block.expansion, 1, { stride, bias: false, ...f }),
          new BatchNorm2d(planes * block.expansion, f),
        ]);
      }
      const blocksList: Module[] = [new block(inplanes, planes, stride, downsample, f)];
      inplanes = planes * block.expansion;
      for (let i = 1; i < blocks; i++) blocksList.push(new block(inplanes, planes, 1, null, f));
      return new Sequential(blocksList);
    };
    this.registerModule('conv1', new Conv2d(this.inChannels, 64, 7, { stride: 2, padding: 3, bias: false, ...f }));
    this.registerModule('bn1', new BatchNorm2d(64, f));
    this.registerModule('relu', new ReLU());
    this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    this.registerModule('layer1', makeLayer(64, layers[0], 1));
    this.registerModule('layer2', makeLayer(128, layers[1], 2));
    this.registerModule('layer3', makeLayer(256, layers[2], 2));
    this.registerModule('layer4', makeLayer(512, layers[3], 2));
    this.registerModule('avgpool', new AdaptiveAvgPool2d([1, 1]));
    this.registerModule('fc', new Linear(512 * block.expansion, this.numClasses, f));

    for (const m of this.modules()) {
      if (m instanceof Conv2d) init.kaimingNormal_(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      else if (m instanceof BatchNorm2d) {
        if (m.weight) init.ones_(m.weight);
        if (m.bias) init.zeros_(m.bias);
      }
    }
    if (options.zeroInitResidual) {
      for (const m of this.modules()) {
        if (m instanceof BasicBlock && m.bn2.weight) init.zeros_(m.bn2.weight);
        if (m instanceof Bottleneck && m.bn3.weight) init.zeros_(m.bn3.weight);
      }
    }
  }

  /** Features before the classifier: everything up to avgpool, flattened to (N, 512 · expansion). */
  forwardFeatures(x: Tensor): Tensor {
    if (!isTensor(x)) throw new TypeError('ResNet: expected a Tensor of images (N, C, H, W)');
    // conv1's channels, not the constructor's: surgery may have adapted conv1 (tg.transfer.adaptInputChannels).
    const c = this.conv1.inChannels;
    if (x.ndim !== 4 || x.shape[1] !== c) throw new RangeError(`ResNet: expected input of shape (N, ${c}, H, W), got [${x.shape.join(', ')}]`);
    let h = this.maxpool.call(this.relu.call(this.bn1.call(this.conv1.call(x))));
    h = this.layer4.call(this.layer3.call(this.layer2.call(this.layer1.call(h))));
    return this.avgpool.call(h).flatten(1);
  }

  /**
   * The layers its forward applies, for reuse and slice: the children with a `flatten` (tg.nn.Flatten) after
   * `avgpool`, where forward flattens, so every prefix computes the ResNet's intermediate features (up to
   * 'flatten' is `forwardFeatures`, up to 'avgpool' the same unflattened, (N, C, 1, 1)).
   */
  chainLayers(): [string, Module][] {
    const kids = this.namedChildren();
    kids.splice(kids.findIndex(([n]) => n === 'avgpool') + 1, 0, ['flatten', new Flatten()]);
    return kids;
  }

  /** Class scores (N, numClasses) for images (N, inChannels, H, W). */
  forward(x: Tensor): Tensor {
    return this.fc.call(this.forwardFeatures(x));
  }
}

/** ResNet-18 ([2, 2, 2, 2] BasicBlocks), named as torchvision's `resnet18`. */
export function resnet18(options: ResNetOptions = {}): ResNet {
  return new ResNet([2, 2, 2, 2], options);
}

/** ResNet-34 ([3, 4, 6, 3] BasicBlocks), named as torchvision's `resnet34`. */
export function resnet34(options: ResNetOptions = {}): ResNet {
  return new ResNet([3, 4, 6, 3], options);
}

/** ResNet-50 ([3, 4, 6, 3] Bottlenecks), named as torchvision's `resnet50`. */
export function resnet50(options: ResNetOptions = {}): ResNet {
  return new ResNet([3, 4, 6, 3], { ...options, block: Bottleneck });
}

/** ResNet-101 ([3, 4, 23, 3] Bottlenecks), named as torchvision's `resnet101`. */
export function resnet101(options: ResNetOptions = {}): ResNet {
  return new ResNet([3, 4, 23, 3], { ...options, block: Bottleneck });
}

/** ResNet-152 ([3, 8, 36, 3] Bottlenecks), named as torchvision's `resnet152`. */
export function resnet152(options: ResNetOptions = {}): ResNet {
  return new ResNet([3, 8, 36, 3], { ...options, block: Bottleneck });
}
