/** SqueezeExcitation: channel attention (avgpool, fc1, activation, fc2, scale_activation), as torchvision.ops.SqueezeExcitation. */
import type { Tensor } from '../../tensor';
import { Module } from '../module';
import { Conv2d } from './conv';
import { ReLU, Sigmoid } from './activation';
import { AdaptiveAvgPool2d } from './pooling';
import type { FactoryOptions } from './common';
import { checkInput, checkInt } from './common';
import type { LayerFactory } from './layer-factory';
import { makeLayer } from './layer-factory';

/** Options of SqueezeExcitation. */
export interface SqueezeExcitationOptions extends FactoryOptions {
  /** The activation between fc1 and fc2 (torchvision's `activation`, default ReLU). */
  activation?: LayerFactory<[]>;
  /** The gate on the scale (torchvision's `scale_activation`, default Sigmoid; MobileNetV3 uses Hardsigmoid). */
  scaleActivation?: LayerFactory<[]>;
}

/**
 * Squeeze-and-excitation (Hu et al., 2018): the input times a per-channel scale computed from its global average by
 * two 1x1 convolutions, `fc1` (to `squeezeChannels`) and `fc2` (back), with torchvision's child names.
 */
export class SqueezeExcitation extends Module {
  declare avgpool: AdaptiveAvgPool2d;
  declare fc1: Conv2d;
  declare fc2: Conv2d;
  declare activation: Module;
  declare scale_activation: Module;

  constructor(inputChannels: number, squeezeChannels: number, options: SqueezeExcitationOptions = {}) {
    super();
    const name = 'SqueezeExcitation';
    checkInt(inputChannels, 'inputChannels', name);
    checkInt(squeezeChannels, 'squeezeChannels', name);
    const f: FactoryOptions = { device: options.device, dtype: options.dtype };
    this.registerModule('avgpool', new AdaptiveAvgPool2d(1));
    this.registerModule('fc1', new Conv2d(inputChannels, squeezeChannels, 1, f));
    this.registerModule('fc2', new Conv2d(squeezeChannels, inputChannels, 1, f));
    this.registerModule('activation', makeLayer(options.activation ?? ReLU, [], 'activation', name));
    this.registerModule('scale_activation', makeLayer(options.scaleActivation ?? Sigmoid, [], 'scaleActivation', name));
  }

  /** The per-channel scale, (N, C, 1, 1). */
  scale(x: Tensor): Tensor {
    return this.scale_activation.call(this.fc2.call(this.activation.call(this.fc1.call(this.avgpool.call(x)))));
  }

  /** The input (N, C, H, W) scaled per channel. */
  forward(input: Tensor): Tensor {
    const x = checkInput(input, [3, 4], 'SqueezeExcitation');
    const s = this.scale(x);
    try {
      return s.mul(x);
    } finally {
      s.dispose();
    }
  }
}
