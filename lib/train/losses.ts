/** Loss resolution: a loss given by name, as a function, or as a loss module with forward(output, target). */
import * as F from '../nn/functional';
import { isTensor, Tensor } from '../tensor';

/** A loss: (model output, target) -> a scalar tensor to minimise. */
export type LossFn = (output: Tensor, target: Tensor) => Tensor;

/** The losses fit knows by name. */
export type LossName = 'crossEntropy' | 'nll' | 'mse' | 'l1' | 'smoothL1' | 'bceWithLogits' | 'bce';

/** A loss by name, a function, or a module whose forward(output, target) returns the loss. */
export type LossSpec = LossName | LossFn | { forward(output: Tensor, target: Tensor): Tensor };

// Regression-style losses compare elementwise: a [N] target meets a [N, 1] output by taking its shape, and an
// integer target becomes the output's dtype (labels 0/1 for bceWithLogits); PyTorch would broadcast to [N, N].
function elementwise(fn: (a: Tensor, b: Tensor) => Tensor): LossFn {
  return (output, target) => {
    let t = target;
    if (t.numel === output.numel && t.shape.join() !== output.shape.join()) t = t.reshape(output.shape);
    if (t.dtype !== output.dtype) {
      const c = t.to(output.dtype);
      if (t !== target) t.dispose();
      t = c;
    }
    try {
      return fn(output, t);
    } finally {
      if (t !== target) t.dispose();
    }
  };
}

const LOSSES: Record<LossName, LossFn> = {
  crossEntropy: (o, t) => F.crossEntropy(o, t),
  nll: (o, t) => F.nllLoss(o, t),
  mse: elementwise((o, t) => F.mseLoss(o, t)),
  l1: elementwise((o, t) => F.l1Loss(o, t)),
  smoothL1: elementwise((o, t) => F.smoothL1Loss(o, t)),
  bceWithLogits: elementwise((o, t) => F.binaryCrossEntropyWithLogits(o, t)),
  bce: elementwise((o, t) => F.binaryCrossEntropy(o, t)),
};

/** Turns a LossSpec into a function, or throws naming the known losses. */
export function resolveLoss(spec: unknown, where: string): LossFn {
  if (typeof spec === 'string') {
    const fn = (LOSSES as Record<string, LossFn>)[spec];
    if (!fn) throw new TypeError(`${where}: unknown loss '${spec}'; known: ${Object.keys(LOSSES).join(', ')}, or pass a function (output, target) => loss`);
    return fn;
  }
  if (typeof spec === 'function') return checked(spec as LossFn, where);
  if (spec !== null && typeof spec === 'object' && typeof (spec as { forward?: unknown }).forward === 'function') {
    const m = spec as { forward(o: Tensor, t: Tensor): Tensor };
    return checked((o, t) => m.forward(o, t), where);
  }
  throw new TypeError(`${where}: loss must be a name (${Object.keys(LOSSES).join(', ')}), a function (output, target) => loss, or a loss module`);
}

function checked(fn: LossFn, where: string): LossFn {
  return (o, t) => {
    const l = fn(o, t);
    if (!isTensor(l)) throw new TypeError(`${where}: the loss function must return a Tensor, got ${l === null ? 'null' : typeof l}`);
    return l;
  };
}
