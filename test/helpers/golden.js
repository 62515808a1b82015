// Golden suites: each case runs in torchgraft and in /usr/bin/python3 PyTorch on the same inputs; outputs and
// input gradients must agree. Python runs once per suite (its import costs seconds), every case in one script.
'use strict';
const { describe, it, before } = require('node:test');
const assert = require('node:assert');
const { runTorch, assertClose, tg } = require('./torch');
const { CUDA_SKIP } = require('./cuda');

const FLOATING = new Set(['float32', 'float64', 'float16', 'bfloat16']);

// Upstream gradient for backward(): exact small binary fractions, so both sides build the very same tensor.
function gradPattern(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (((i * 7) % 11) - 5) / 4;
  return a;
}

const PY_RUNNER = `
import traceback, math
import torch.nn.functional as F
def _pattern(o):
    n = o.numel()
    return torch.tensor([((i * 7) % 11 - 5) / 4 for i in range(n)], dtype=torch.float32).to(o.dtype).reshape(o.shape)
def _err(key):
    OUT[key + '_pyerr'] = torch.tensor(list(traceback.format_exc().encode()[-3000:]), dtype=torch.int64)
def _case(key, names, grads, fn):
    try:
        ins = {n: T[key + '_' + n] for n in names}
        o = fn(**ins)
        OUT[key + '_out'] = o
        OUT[key + '_dtype'] = torch.tensor(list(str(o.dtype).replace('torch.', '').encode()), dtype=torch.int64)
        if grads and o.is_floating_point() and o.requires_grad:
            o.backward(_pattern(o))
            for n in grads:
                g = ins[n].grad
                OUT[key + '_grad_' + n] = g if g is not None else torch.zeros_like(ins[n])
    except Exception:
        _err(key)
`;

/** Input makers shared by the suites (all float32 unless said). */
const make = {
  /** Standard normal. */
  randn: (shape) => tg.randn(shape),
  /** Uniform in [lo, hi). */
  uniform: (shape, lo, hi) => tg.rand(shape).mul(hi - lo).add(lo),
  /** Strictly positive, away from 0 (for log, sqrt, pow bases). */
  positive: (shape) => tg.rand(shape).add(0.5),
  /** Integers in [lo, hi) as int64. */
  ints: (shape, lo, hi) => tg.randint(lo, hi, shape),
  /** A random boolean mask. */
  mask: (shape) => tg.rand(shape).gt(0.5),
};

/**
 * Declares one describe() block of golden cases.
 * A case: { name, inputs: () => ({ x: Tensor, ... }), js: (ins) => Tensor, py: 'python expression over the input names',
 *           grad?: false | string[] (inputs to differentiate; default every floating input), tol?, cudaTol? }
 */
function goldenSuite(title, cases, { seed = 20261128 } = {}) {
  describe(title, () => {
    tg.manualSeed(seed);
    const prepared = cases.map((c, i) => {
      const key = `c${i}`;
      const inputs = c.inputs();
      const names = Object.keys(inputs);
      const grads =
        c.grad === false ? [] : names.filter((n) => FLOATING.has(inputs[n].dtype) && (c.grad === undefined || c.grad.includes(n)));
      for (const n of grads) inputs[n].requiresGrad = true;
      return { c, key, inputs, names, grads };
    });
    let py;
    before(() => {
      const tensors = {};
      let code = PY_RUNNER;
      for (const p of prepared) {
        for (const n of p.names) tensors[`${p.key}_${n}`] = p.inputs[n];
        code += `_case(${JSON.stringify(p.key)}, ${JSON.stringify(p.names)}, ${JSON.stringify(p.grads)}, lambda ${p.names.join(', ')}: ${p.c.py})\n`;
      }
      py = runTorch(code, tensors);
    });

    for (const p of prepared) {
      for (const device of ['cpu', 'cuda']) {
        const skip = device === 'cuda' ? CUDA_SKIP : false;
        it(`${p.c.name} matches PyTorch [${device}]`, { skip }, () => {
          const err = py[`${p.key}_pyerr`];
          assert.ok(!err, err && `Python raised:\n${Buffer.from(Array.from(err.data, Number)).toString()}`);
          // cuDNN convolutions use TF32 by default on recent GPUs, so the device bound is looser there.
          const tol = device === 'cpu' ? p.c.tol ?? 1e-5 : p.c.cudaTol ?? 1e-4;
          tg.tidy(() => {
            const ins = {};
            for (const n of p.names) {
              ins[n] = p.inputs[n].detach().to({ device, copy: true });
              if (p.grads.includes(n)) ins[n].requiresGrad = true;
            }
            const out = p.c.js(ins);
            assert.ok(tg.isTensor(out), `${p.c.name}: expected a Tensor result`);
            const pyDtype = Buffer.from(Array.from(py[`${p.key}_dtype`].data, Number)).toString();
            assert.strictEqual(out.dtype, pyDtype, `${p.c.name}: result dtype`);
            assertClose(assert, out, py[`${p.key}_out`], tol, `${p.c.name} output`);
            if (p.grads.length && out.requiresGrad) {
              const g = tg.tensor(gradPattern(out.numel), { shape: out.shape, device, dtype: out.dtype });
              out.backward(g);
              for (const n of p.grads) {
                const expected = py[`${p.key}_grad_${n}`];
                assert.ok(expected, `${p.c.name}: PyTorch computed no gradient for ${n}`);
                const grad = ins[n].grad ?? tg.zerosLike(ins[n]);
                assertClose(assert, grad, expected, tol, `${p.c.name} grad of ${n}`);
              }
            } else {
              assert.ok(!py[`${p.key}_grad_${p.grads[0]}`], `${p.c.name}: PyTorch has a gradient but torchgraft's output has none`);
            }
          });
        });
      }
    }
  });
}

module.exports = { goldenSuite, make, gradPattern, tg };
