/** Conv2dNormActivation: a Conv2d, a norm layer and an activation in a Sequential (children 0, 1, 2), as torchvision.ops.Conv2dNormActivation. */
import { Sequential } from '../sequential';
import { Conv2d } from './conv';
import { BatchNorm2d } from './batchnorm';
import { ReLU } from './activation';
import type { FactoryOptions } from './common';
import { checkInt, tuple } from './common';
import type { LayerFactory } from './layer-factory';
import { makeLayer } from './layer-factory';

/** Options of Conv2dNormActivation (torchvision's names in camelCase). */
export interface Conv2dNormActivationOptions extends FactoryOptions {
  /** Kernel size (default 3). */
  kernelSize?: number | number[];
  /** Stride (default 1). */
  stride?: number | number[];
  /** Padding; by default (kernelSize - 1) / 2 · dilation, which keeps the size at stride 1. */
  padding?: number | number[] | 'same' | 'valid';
  /** Groups of the convolution (default 1; `outChannels` for a depthwise one). */
  groups?: number;
  /** Makes the norm layer from the output channels (default BatchNorm2d); null for none. */
  normLayer?: LayerFactory<[number]> | null;
  /** Makes the activation from no arguments (default ReLU); null for none. */
  activationLayer?: LayerFactory<[]> | null;
  /** Dilation (default 1). */
  dilation?: number | number[];
  /** Whether the convolution has a bias; by default only without a norm layer. */
  bias?: boolean;
}

/**
 * Convolution → normalisation → activation, the building block of MobileNet and EfficientNet, named '0', '1', '2'
 * as torchvision's (the activation is '1' when there is no norm layer). The norm layer and the activation are
 * built on the convolution's device and dtype when they are the default ones.
 */
export class Conv2dNormActivation extends Sequential {
  readonly outChannels: number;

  constructor(inChannels: number, outChannels: number, options: Conv2dNormActivationOptions = {}) {
    super();
    const name = 'Conv2dNormActivation';
    if (options === null || typeof options !== 'object') throw new TypeError(`${name}: options must be an object, got ${options === null ? 'null' : typeof options}`);
    checkInt(inChannels, 'inChannels', name);
    this.outChannels = checkInt(outChannels, 'outChannels', name);
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    const kernel = tuple(options.kernelSize ?? 3, 2, 'kernelSize', name);
    const dilation = tuple(options.dilation ?? 1, 2, 'dilation', name);
    const padding = options.padding ?? kernel.map((k, i) => Math.floor((k - 1) / 2) * dilation[i]);
    const normLayer = options.normLayer === undefined ? (c: number) => new BatchNorm2d(c, f) : options.normLayer;
    const activationLayer = options.activationLayer === undefined ? ReLU : options.activationLayer;
    const bias = options.bias ?? normLayer === null;
    this.append(new Conv2d(inChannels, outChannels, kernel, { stride: options.stride ?? 1, padding, dilation, groups: options.groups ?? 1, bias, ...f }));
    if (normLayer !== null) this.append(makeLayer(normLayer, [outChannels], 'normLayer', name));
    if (activationLayer !== null) this.append(makeLayer(activationLayer, [], 'activationLayer', name));
  }
}
