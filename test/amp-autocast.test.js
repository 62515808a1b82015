'use strict';
// tg.amp.autocast: PyTorch's autocast policy on the same weights (golden vs torch.autocast('cpu', bfloat16)), nesting, restore, async, bad options.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { runTorch, hasPyTorch, assertClose, avoidOneDnnBackwardNaN } = require('./helpers/torch');
const { cudaAvailable, CUDA_SKIP } = require('./helpers/cuda');
// tg.amp is the namespace lib/index.ts exports (`export * as amp from './amp'`); dist/amp until it does.
const amp = tg.amp ?? require('../dist/amp');

avoidOneDnnBackwardNaN();  // LibTorch 2.6's oneDNN: NaN convolution gradients under load (helpers/torch.js)
const F = tg.nn.functional;
const CPU = { deviceType: 'cpu' };
const DTYPES = ['float32', 'bfloat16', 'float16', 'float64'];
const PY_DTYPES = "DT = [torch.float32, torch.bfloat16, torch.float16, torch.float64]\ndef code(t): return float(DT.index(t.dtype))\n";

function codes(...ts) {
  return ts.map((t) => DTYPES.indexOf(t.dtype));
}

test('inside autocast a linear layer gives bfloat16 and cross-entropy float32; outside, float32 again', () => {
  tg.manualSeed(0);
  const x = tg.randn([4, 6]);
  const w = tg.randn([5, 6]);
  const y = tg.tensor([0, 1, 2, 3]);
  const [h, l] = amp.autocast(() => {
    assert.deepStrictEqual(amp.autocastState('cpu'), { enabled: true, dtype: 'bfloat16' });
    const h = F.linear(x, w);
    return [h, F.crossEntropy(h, y)];
  }, CPU);
  assert.strictEqual(h.dtype, 'bfloat16');
  assert.strictEqual(l.dtype, 'float32');
  assert.strictEqual(amp.autocastState('cpu').enabled, false);
  const after = F.linear(x, w);
  assert.strictEqual(after.dtype, 'float32');
  tg.dispose([x, w, y, h, l, after]);
});

test('nesting: an inner enabled: false region runs float32 and the outer state comes back; restored after a throw', () => {
  const a = tg.ones([2, 2]);
  amp.autocast(() => {
    const inner = amp.autocast(() => a.matmul(a), { deviceType: 'cpu', enabled: false });
    assert.strictEqual(inner.dtype, 'float32');
    assert.deepStrictEqual(amp.autocastState('cpu'), { enabled: true, dtype: 'bfloat16' });
    const outer = a.matmul(a);
    assert.strictEqual(outer.dtype, 'bfloat16');
    tg.dispose([inner, outer]);
  }, CPU);
  assert.throws(() => amp.autocast(() => { throw new RangeError('inside'); }, CPU), /inside/);
  assert.deepStrictEqual(amp.autocastState('cpu'), { enabled: false, dtype: 'bfloat16' });
  const m = a.matmul(a);
  assert.strictEqual(m.dtype, 'float32');
  tg.dispose([a, m]);
});

test('an async function keeps autocast on until its promise settles, and the state is restored on reject', async () => {
  const a = tg.ones([2, 2]);
  const p = amp.autocast(async () => {
    await new Promise((r) => setTimeout(r, 5));
    return a.matmul(a);
  }, CPU);
  assert.ok(p instanceof Promise);
  assert.strictEqual(amp.autocastState('cpu').enabled, true, 'on while the promise is pending');
  const m = await p;
  assert.strictEqual(m.dtype, 'bfloat16');
  assert.strictEqual(amp.autocastState('cpu').enabled, false);
  await assert.rejects(amp.autocast(async () => { throw new TypeError('async boom'); }, CPU), /async boom/);
  assert.strictEqual(amp.autocastState('cpu').enabled, false);
  tg.dispose([a, m]);
});

test('bad options are clear errors and leave the state alone', () => {
  assert.throws(() => amp.autocast(() => 1), TypeError);
  assert.throws(() => amp.autocast(() => 1, { deviceType: 'tpu' }), /deviceType must be 'cpu' or 'cuda'/);
  assert.throws(() => amp.autocast(() => 1, { deviceType: 'cpu', dtype: 'float32' }), (e) => e instanceof RangeError && /bfloat16' or 'float16/.test(e.message));
  assert.throws(() => amp.autocast(() => 1, { deviceType: 'cpu', enabled: 'yes' }), TypeError);
  assert.throws(() => amp.autocast(() => 1, { deviceType: 'cpu', cache: false }), /unknown option 'cache'/);
  assert.throws(() => amp.autocast(1, CPU), /expected a function/);
  if (tg.buildInfo().torchVersion.startsWith('1.')) assert.throws(() => amp.autocast(() => 1, { deviceType: 'cpu', dtype: 'float16' }), /supports only bfloat16/);
  if (!cudaAvailable) assert.throws(() => amp.autocast(() => 1, { deviceType: 'cuda' }), (e) => e.code === 'ERR_NO_CUDA');
  assert.deepStrictEqual(amp.autocastState('cpu'), { enabled: false, dtype: 'bfloat16' });
});

/** One step's loss and gradients of the model under autocast, with the output dtypes. */
function autocastStep(params, forward, x, y) {
  for (const p of Object.values(params)) p.grad = undefined;
  const [out, loss] = amp.autocast(() => {
    const out = forward(x);
    return [out, F.crossEntropy(out, y)];
  }, CPU);
  loss.backward();
  return { out, loss, grads: Object.fromEntries(Object.entries(params).map(([k, p]) => [k, p.grad])) };
}

test('golden: an MLP (Linear, ReLU, Linear, cross-entropy) under bfloat16 autocast: loss, gradients and dtypes as PyTorch', { skip: !hasPyTorch() && 'no Python PyTorch' }, () => {
  tg.manualSeed(11);
  const P = { w1: tg.randn([16, 6]).mul_(0.4), b1: tg.randn([16]).mul_(0.1), w2: tg.randn([3, 16]).mul_(0.3), b2: tg.randn([3]).mul_(0.1) };
  for (const p of Object.values(P)) p.requiresGrad_(true);
  const x = tg.randn([8, 6]);
  const y = tg.randint(0, 3, [8]);
  const r = autocastStep(P, (t) => F.linear(F.linear(t, P.w1, P.b1).relu(), P.w2, P.b2), x, y);
  const py = runTorch(`${PY_DTYPES}
import torch.nn.functional as F
P = {k: T[k].float().requires_grad_(True) for k in ('w1', 'b1', 'w2', 'b2')}
with torch.autocast('cpu', dtype=torch.bfloat16):
    out = F.linear(F.relu(F.linear(T['x'].float(), P['w1'], P['b1'])), P['w2'], P['b2'])
    loss = F.cross_entropy(out, T['y'])
loss.backward()
OUT['loss'] = loss
for k in P: OUT['g_' + k] = P[k].grad
OUT['dtypes'] = torch.tensor([code(out), code(loss)] + [code(P[k].grad) for k in ('w1', 'b1', 'w2', 'b2')])
`, { ...P, x, y });
  assert.deepStrictEqual(codes(r.out, r.loss, r.grads.w1, r.grads.b1, r.grads.w2, r.grads.b2), [...py.dtypes.data], 'dtypes: output bfloat16, loss and gradients float32');
  assert.strictEqual(r.out.dtype, 'bfloat16');
  assert.strictEqual(r.loss.dtype, 'float32');
  assertClose(assert, r.loss, py.loss, 1e-2, 'loss');
  for (const k of Object.keys(P)) assertClose(assert, r.grads[k], py[`g_${k}`], 1e-2, `grad ${k}`);
  tg.dispose([...Object.values(P), ...Object.values(r.grads), x, y, r.out, r.loss]);
});

test('golden: a small conv net (Conv2d, ReLU, MaxPool2d, Linear) under bfloat16 autocast: loss, gradients and dtypes as PyTorch', { skip: !hasPyTorch() && 'no Python PyTorch' }, () => {
  tg.manualSeed(12);
  const P = { cw: tg.randn([4, 2, 3, 3]).mul_(0.3), cb: tg.randn([4]).mul_(0.1), w: tg.randn([3, 36]).mul_(0.2), b: tg.randn([3]).mul_(0.1) };
  for (const p of Object.values(P)) p.requiresGrad_(true);
  const x = tg.randn([5, 2, 8, 8]);
  const y = tg.randint(0, 3, [5]);
  const feats = [];
  const r = autocastStep(P, (t) => {
    const f = F.maxPool2d(F.conv2d(t, P.cw, P.cb).relu(), 2);
    feats.push(f);
    return F.linear(f.reshape([5, 36]), P.w, P.b);
  }, x, y);
  const py = runTorch(`${PY_DTYPES}
import torch.nn.functional as F
P = {k: T[k].float().requires_grad_(True) for k in ('cw', 'cb', 'w', 'b')}
with torch.autocast('cpu', dtype=torch.bfloat16):
    f = F.max_pool2d(F.relu(F.conv2d(T['x'].float(), P['cw'], P['cb'])), 2)
    out = F.linear(f.reshape(5, 36), P['w'], P['b'])
    loss = F.cross_entropy(out, T['y'])
loss.backward()
OUT['loss'] = loss
for k in P: OUT['g_' + k] = P[k].grad
OUT['dtypes'] = torch.tensor([code(f), code(out), code(loss)] + [code(P[k].grad) for k in ('cw', 'cb', 'w', 'b')])
`, { ...P, x, y });
  assert.deepStrictEqual(codes(feats[0], r.out, r.loss, r.grads.cw, r.grads.cb, r.grads.w, r.grads.b), [...py.dtypes.data]);
  assert.strictEqual(feats[0].dtype, 'bfloat16', 'convolution in bfloat16');
  assertClose(assert, r.loss, py.loss, 1e-2, 'loss');
  for (const k of Object.keys(P)) assertClose(assert, r.grads[k], py[`g_${k}`], 1e-2, `grad ${k}`);
  tg.dispose([...Object.values(P), ...Object.values(r.grads), x, y, r.out, r.loss, ...feats]);
});

test('CUDA autocast: float16 by default, linear in float16 and the loss in float32', { skip: CUDA_SKIP }, () => {
  const x = tg.randn([4, 6], { device: 'cuda' });
  const w = tg.randn([3, 6], { device: 'cuda' });
  const y = tg.tensor([0, 1, 2, 0]).to('cuda');
  const [h, l] = amp.autocast(() => {
    assert.deepStrictEqual(amp.autocastState('cuda'), { enabled: true, dtype: 'float16' });
    const h = F.linear(x, w);
    return [h, F.crossEntropy(h, y)];
  }, { deviceType: 'cuda' });
  assert.strictEqual(h.dtype, 'float16');
  assert.strictEqual(l.dtype, 'float32');
  assert.strictEqual(amp.autocastState('cuda').enabled, false);
  tg.dispose([x, w, y, h, l]);
});
