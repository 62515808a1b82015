'use strict';
// Gradient clipping by norm and by value, against torch.nn.utils.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { runTorch, relError, hasPyTorch } = require('./helpers/torch');
const { problem, params, loss, PY_LOSS } = require('./helpers/optim-net');

const skipPy = hasPyTorch() ? false : 'no PyTorch at /usr/bin/python3';
const NORMS = [['2', 2, 'p2'], ['1', 1, 'p1'], ['inf', Infinity, 'pinf'], ['3.5', 3.5, 'p35']];

test('clipGradNorm_ scales gradients and returns the total norm as torch.nn.utils.clip_grad_norm_ does', { skip: skipPy }, () => {
  const p = problem();
  let code = PY_LOSS;
  for (const [py, , tag] of NORMS) {
    code += `
P = fresh()
loss_fn(P).backward()
OUT['${tag}_total'] = torch.nn.utils.clip_grad_norm_(P.values(), 0.05, float('${py}'))
for k in P: OUT['${tag}_' + k] = P[k].grad
`;
  }
  const ref = runTorch(code, p);
  for (const [, norm, tag] of NORMS) {
    const P = params(p);
    tg.tidy(() => loss(P, p.X, p.Y).backward());
    const total = tg.nn.utils.clipGradNorm_(Object.values(P), 0.05, norm);
    assert.ok(relError(total, ref[`${tag}_total`]) < 1e-6, `${tag}: total norm`);
    for (const k of Object.keys(P)) assert.ok(relError(P[k].grad, ref[`${tag}_${k}`]) < 1e-6, `${tag}: grad of ${k}`);
  }
});

test('clipGradValue_ clamps gradients in place; parameters without a gradient are ignored', () => {
  const a = tg.tensor([1.5, -2, 3], { requiresGrad: true });
  const b = tg.tensor([1.5, 2], { requiresGrad: true });
  a.mul(tg.tensor([0.5, 2, -4])).sum().backward();
  tg.optim.clipGradValue_([a, b], 1);
  assert.deepStrictEqual(Array.from(a.grad.dataSync()), [0.5, 1, -1]);
  assert.strictEqual(b.grad, undefined);
  assert.throws(() => tg.optim.clipGradValue_([a], -1), RangeError);
});

test('clipGradNorm_ leaves small gradients alone, accepts one tensor, and can refuse a non-finite norm', () => {
  const a = tg.tensor([3, 4], { requiresGrad: true, dtype: 'float32' });
  a.mul(tg.tensor([1, 1])).sum().backward();
  assert.ok(Math.abs(tg.optim.clipGradNorm_(a, 10).item() - Math.SQRT2) < 1e-6);
  assert.deepStrictEqual(Array.from(a.grad.dataSync()), [1, 1]);
  assert.strictEqual(tg.optim.clipGradNorm_([tg.zeros([2], { requiresGrad: true })], 1).item(), 0);
  a.grad = tg.tensor([Infinity, 1]);
  assert.throws(() => tg.optim.clipGradNorm_([a], 1, 2, { errorIfNonfinite: true }), (e) => e.code === 'ERR_NONFINITE_NORM');
  assert.throws(() => tg.optim.clipGradNorm_([a, 'x'], 1), /params\[1\] is not a Tensor/);
});

test('clipGradNorm_ and clipGradValue_ refuse bad arguments by name, before touching a gradient', () => {
  const p = tg.tensor([3, 4], { requiresGrad: true, dtype: 'float32' });
  p.sum().mul(2).backward();  // gradient [2, 2]
  for (const bad of ['1', NaN, undefined, null]) {
    assert.throws(() => tg.optim.clipGradNorm_([p], bad), { name: 'TypeError', message: 'clipGradNorm_: maxNorm must be a number' }, String(bad));
  }
  for (const bad of ['2', NaN, null]) {
    assert.throws(() => tg.optim.clipGradNorm_([p], 1, bad), { name: 'TypeError', message: 'clipGradNorm_: normType must be a number' }, String(bad));
  }
  for (const bad of [-1, NaN, '1', undefined]) {
    assert.throws(() => tg.optim.clipGradValue_([p], bad), { name: 'RangeError', message: `clipGradValue_: clipValue must be a number >= 0, got ${bad}` }, String(bad));
  }
  assert.deepStrictEqual(Array.from(p.grad.dataSync()), [2, 2], 'no refused call changed the gradient');
  tg.optim.clipGradValue_([p], 0);  // 0 is allowed: every element clamps to 0
  assert.deepStrictEqual(Array.from(p.grad.dataSync()), [0, 0]);
  p.dispose();
});
