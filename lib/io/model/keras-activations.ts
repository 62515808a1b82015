/**
 * Keras activation functions by their config names (`'relu'`, `'relu6'`, `'swish'`, ...), as functions of a tensor in
 * the model builder's internal layout (4-D tensors NCHW, so softmax's Keras axis -1 is dimension 1 there).
 */
import type { Tensor } from '../../tensor';
import * as F from '../../nn/functional';
import { Module } from '../../nn/module';
import { hardtanh } from '../../nn/layers/hardtanh';

/** One activation: a tensor in, a new tensor out (never the input itself, except for 'linear'). */
export type ActivationFn = (x: Tensor) => Tensor;

/** Runs `f` on `t`, then disposes `t`: for the intermediate tensors of a composed activation. */
function then(t: Tensor, f: (t: Tensor) => Tensor): Tensor {
  try {
    return f(t);
  } finally {
    t.dispose();
  }
}

const ACTIVATIONS: Record<string, ActivationFn> = {
  linear: (x) => x,
  relu: (x) => F.relu(x),
  // TensorFlow's relu6 also passes no gradient at 0 and 6
  relu6: (x) => hardtanh(x, 0, 6),
  sigmoid: (x) => F.sigmoid(x),
  tanh: (x) => F.tanh(x),
  softmax: (x) => F.softmax(x, x.ndim === 4 ? 1 : -1),
  elu: (x) => F.elu(x, 1),
  selu: (x) => F.selu(x),
  softplus: (x) => F.softplus(x, 1, 20),
  softsign: (x) => then(x.abs(), (a) => then(a.add(1), (d) => x.div(d))),
  swish: (x) => then(F.sigmoid(x), (s) => x.mul(s)),
  silu: (x) => then(F.sigmoid(x), (s) => x.mul(s)),
  gelu: (x) => F.gelu(x, 'none'),
  // Keras 2 / TF.js: clip(0.2 x + 0.5, 0, 1)
  hard_sigmoid: (x) => then(x.mul(0.2), (a) => then(a.add(0.5), (b) => b.clamp(0, 1))),
  exponential: (x) => x.exp(),
  leaky_relu: (x) => F.leakyRelu(x, 0.2),
};

/** The activation for a Keras activation name, or undefined when the builder does not know it. */
export function kerasActivation(name: unknown): ActivationFn | undefined {
  if (name === undefined || name === null) return ACTIVATIONS.linear;
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(ACTIVATIONS, name) ? ACTIVATIONS[name] : undefined;
}

/** Keras' `Activation` layer as a module: applies the named activation. */
export class KerasActivation extends Module {
  readonly activation: string;
  readonly #fn: ActivationFn;

  /** @param activation a Keras activation name (`'relu'`, `'softmax'`, ...). */
  constructor(activation: string) {
    super();
    const fn = kerasActivation(activation);
    if (!fn) throw new TypeError(`KerasActivation: unknown activation '${String(activation)}'`);
    this.activation = activation;
    this.#fn = fn;
  }

  /** Applies the activation. */
  forward(x: Tensor): Tensor {
    return this.#fn(x);
  }

  extraRepr(): string {
    return `'${this.activation}'`;
  }
}

/** Whether `fn` is Keras' 'linear' activation (the identity), which a chain may leave out. */
export function isIdentityActivation(fn: ActivationFn | undefined): boolean {
  return fn === undefined || fn === ACTIVATIONS.linear;
}
