// A small deterministic problem for optimizer tests: a 2-layer tanh net, MSE on fixed data, two parameter groups.
'use strict';
const tg = require('../..');

// Values from a fixed formula (no RNG), so JavaScript and Python start from the same numbers.
function fixed(shape, seed, scale = 0.5) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 1.3 + i * 0.77) * scale;
  return tg.tensor(data, { shape });
}

/** Inputs (X, Y) and starting weights of the net, as plain float32 tensors (no grad). */
function problem() {
  return {
    X: fixed([16, 4], 1, 1.0),
    Y: fixed([16, 3], 2, 1.0),
    w1: fixed([5, 4], 3),
    b1: fixed([5], 4, 0.1),
    w2: fixed([3, 5], 5),
    b2: fixed([3], 6, 0.1),
  };
}

/** Leaf copies of the starting weights that require grad, on a device. */
function params(p, device = 'cpu') {
  const out = {};
  for (const k of ['w1', 'b1', 'w2', 'b2']) out[k] = p[k].to({ device, copy: true }).requiresGrad_(true);
  return out;
}

/** The loss: mean squared error of linear(tanh(linear(X, w1, b1)), w2, b2) against Y. */
function loss(P, X, Y) {
  const F = tg.nn.functional;
  return F.linear(F.linear(X, P.w1, P.b1).tanh(), P.w2, P.b2).sub(Y).pow(2).mean();
}

/** The same net and loss in Python (for runTorch), with T['X'], T['Y'] and a dict P of parameters. */
const PY_LOSS = `
import torch.nn.functional as F
def loss_fn(P):
    return (F.linear(F.linear(T['X'], P['w1'], P['b1']).tanh(), P['w2'], P['b2']) - T['Y']).pow(2).mean()
def fresh():
    return {k: T[k].clone().float().requires_grad_(True) for k in ['w1', 'b1', 'w2', 'b2']}
`;

/** Runs `steps` optimizer steps over the problem; `opt` is built from P by makeOpt. */
function train(makeOpt, P, X, Y, steps) {
  const opt = makeOpt(P);
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    tg.tidy(() => loss(P, X, Y).backward());
    opt.step();
  }
  return opt;
}

module.exports = { problem, params, loss, train, PY_LOSS, fixed };
