/** StopGradient: a layer through which no gradient flows back (TensorFlow's `tf.stop_gradient` as a module). */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { Module } from '../module';

/**
 * Returns its input detached from the autograd graph (`input.detach()`): the forward values pass unchanged,
 * but nothing below this layer gets a gradient from what is above it. Put it on top of the layers to keep
 * fixed when they are not to be frozen in place (they may still train through another path).
 * @example new tg.nn.Sequential({ base, stop: new tg.nn.StopGradient(), head })
 */
export class StopGradient extends Module {
  /** The input, detached (shares storage, no grad history). */
  forward(input: Tensor): Tensor {
    if (!isTensor(input)) throw new TypeError('StopGradient: expected a Tensor');
    return input.detach();
  }
}
