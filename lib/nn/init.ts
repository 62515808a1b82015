/**
 * tg.nn.init: weight initialisation as torch.nn.init does it (same fans, gains and bounds), in place,
 * without grad, drawing from the global generator (reproducible with tg.manualSeed).
 */
import type { Tensor } from '../tensor';
import { isTensor } from '../tensor';
import { noGrad } from '../autograd';

/** Nonlinearities calculateGain knows; snake_case (PyTorch's) and camelCase both work. */
export type Nonlinearity =
  | 'linear' | 'identity' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'leakyRelu' | 'selu'
  | 'convTranspose1d' | 'convTranspose2d' | 'convTranspose3d';

/** Which fan a Kaiming init preserves the variance of: forward activations (`fanIn`) or backward gradients (`fanOut`). */
export type FanMode = 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out';

const LINEAR_LIKE = new Set([
  'linear', 'identity', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d',
  'convTranspose1d', 'convTranspose2d', 'convTranspose3d', 'sigmoid',
]);

/**
 * The recommended gain for a nonlinearity (torch.nn.init.calculate_gain): 1 for linear/conv/sigmoid,
 * 5/3 for tanh, √2 for relu, √(2 / (1 + slope²)) for leaky_relu (slope defaults to 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity | string, param?: number): number {
  if (LINEAR_LIKE.has(nonlinearity)) return 1;
  switch (nonlinearity) {
    case 'tanh':
      return 5.0 / 3;
    case 'relu':
      return Math.sqrt(2.0);
    case 'leaky_relu':
    case 'leakyRelu': {
      const slope = param === undefined || param === null ? 0.01 : param;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new TypeError(`calculateGain(): negative slope ${String(param)} is not a valid number`);
      return Math.sqrt(2.0 / (1 + slope ** 2));
    }
    case 'selu':
      return 3.0 / 4;
    default:
      throw new TypeError(`calculateGain(): unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/**
 * Fan-in and fan-out of a weight as PyTorch computes them: dimension 1 and dimension 0, each times the
 * receptive field (the product of the dimensions after the second). Needs at least 2 dimensions.
 */
export function computeFans(tensorOrShape: Tensor | number[]): { fanIn: number; fanOut: number } {
  const shape = isTensor(tensorOrShape) ? tensorOrShape.shape : tensorOrShape;
  if (!Array.isArray(shape)) throw new TypeError('computeFans(): expected a Tensor or a shape');
  if (shape.length < 2) throw new RangeError(`computeFans(): fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape [${shape.join(', ')}])`);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

function fanFor(t: Tensor, mode: FanMode, fn: string): number {
  const { fanIn, fanOut } = computeFans(t);
  if (mode === 'fanIn' || mode === 'fan_in') return fanIn;
  if (mode === 'fanOut' || mode === 'fan_out') return fanOut;
  throw new TypeError(`${fn}(): mode must be 'fanIn' or 'fanOut', got '${String(mode)}'`);
}

function check(t: Tensor, fn: string): void {
  if (!isTensor(t)) throw new TypeError(`${fn}(): expected a Tensor`);
}

/** Fills with values from U(a, b). */
export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  check(t, 'uniform_');
  return noGrad(() => t.uniform_(a, b));
}

/** Fills with values from N(mean, std²). */
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  check(t, 'normal_');
  return noGrad(() => t.normal_(mean, std));
}

/** Fills with a constant. */
export function constant_(t: Tensor, value: number): Tensor {
  check(t, 'constant_');
  return noGrad(() => t.fill_(value));
}

/** Fills with zeros. */
export function zeros_(t: Tensor): Tensor {
  check(t, 'zeros_');
  return noGrad(() => t.zero_());
}

/** Fills with ones. */
export function ones_(t: Tensor): Tensor {
  check(t, 'ones_');
  return noGrad(() => t.fill_(1));
}

/** Options of the Kaiming (He) initialisers. */
export interface KaimingOptions {
  /** Negative slope of the rectifier after this layer (leaky_relu only); default 0. */
  a?: number;
  /** `fanIn` (default) preserves the variance of activations, `fanOut` that of gradients. */
  mode?: FanMode;
  /** Default `leaky_relu` (with a = 0 that is ReLU's gain √2), as in PyTorch. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(t: Tensor, o: KaimingOptions, fn: string): number {
  const fan = fanFor(t, o.mode ?? 'fanIn', fn);
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0);
  // PyTorch warns and leaves a zero-element tensor alone; nothing to draw either way.
  return fan === 0 ? 0 : gain / Math.sqrt(fan);
}

/** He uniform: U(-b, b) with b = gain · √(3 / fan). */
export function kaimingUniform_(t: Tensor, options: KaimingOptions = {}): Tensor {
  check(t, 'kaimingUniform_');
  const bound = Math.sqrt(3.0) * kaimingStd(t, options, 'kaimingUniform_');
  return noGrad(() => t.uniform_(-bound, bound));
}

/** He normal: N(0, std²) with std = gain / √fan. */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  check(t, 'kaimingNormal_');
  const std = kaimingStd(t, options, 'kaimingNormal_');
  return noGrad(() => t.normal_(0, std));
}

function xavierStd(t: Tensor, gain: number): number {
  const { fanIn, fanOut } = computeFans(t);
  return gain * Math.sqrt(2.0 / (fanIn + fanOut));
}

/** Glorot uniform: U(-b, b) with b = gain · √(6 / (fanIn + fanOut)). */
export function xavierUniform_(t: Tensor, gain = 1.0): Tensor {
  check(t, 'xavierUniform_');
  const a = Math.sqrt(3.0) * xavierStd(t, gain);
  return noGrad(() => t.uniform_(-a, a));
}

/** Glorot normal: N(0, std²) with std = gain · √(2 / (fanIn + fanOut)). */
export function xavierNormal_(t: Tensor, gain = 1.0): Tensor {
  check(t, 'xavierNormal_');
  const std = xavierStd(t, gain);
  return noGrad(() => t.normal_(0, std));
}

/** LeCun normal (for SELU networks): N(0, 1 / fanIn), i.e. Kaiming normal with the linear gain. */
export function lecunNormal_(t: Tensor): Tensor {
  return kaimingNormal_(t, { mode: 'fanIn', nonlinearity: 'linear' });
}

/** LeCun uniform: U(-b, b) with b = √(3 / fanIn). */
export function lecunUniform_(t: Tensor): Tensor {
  return kaimingUniform_(t, { mode: 'fanIn', nonlinearity: 'linear' });
}
