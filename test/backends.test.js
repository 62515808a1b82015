'use strict';
// tg.backends.mkldnn: the process-wide oneDNN switch (torch.backends.mkldnn), a workaround for broken oneDNN builds.
const test = require('node:test');
const assert = require('node:assert');
const { tg, hasPyTorch, runTorch, assertClose } = require('./helpers/torch');

const noTorch = !hasPyTorch() && 'needs /usr/bin/python3 with torch';

/** A 2-D convolution's output and the gradients of its input and weight, seeded. */
function convWithGrads() {
  tg.manualSeed(11);
  const x = tg.rand([2, 4, 12, 12]).requiresGrad_(true);
  const w = tg.randn([6, 4, 3, 3]).requiresGrad_(true);
  const y = tg.nn.functional.conv2d(x, w, null, { padding: 1 });
  y.square().sum().backward();
  return { x, w, y };
}

test('mkldnn reports availability and starts enabled; enabled switches and reads back', () => {
  assert.strictEqual(typeof tg.backends.mkldnn.isAvailable(), 'boolean');
  assert.strictEqual(tg.backends.mkldnn.enabled, true);
  tg.backends.mkldnn.enabled = false;
  assert.strictEqual(tg.backends.mkldnn.enabled, false);
  tg.backends.mkldnn.enabled = true;
  assert.strictEqual(tg.backends.mkldnn.enabled, true);
});

test('enabled takes only booleans and stays as it was after a bad value', () => {
  for (const bad of [0, 1, 'false', null, undefined, {}]) {
    assert.throws(() => { tg.backends.mkldnn.enabled = bad; }, (e) => e instanceof TypeError && /expected a boolean/.test(e.message), String(bad));
    assert.strictEqual(tg.backends.mkldnn.enabled, true);
  }
});

test('with oneDNN off, convolutions and their gradients still match PyTorch (with oneDNN off too), and match oneDNN on', { skip: noTorch }, () => {
  const on = convWithGrads();
  tg.backends.mkldnn.enabled = false;
  try {
    const off = convWithGrads();
    const ref = runTorch(`
assert not torch.backends.mkldnn.enabled
x = T['x'].detach().requires_grad_(True); w = T['w'].detach().requires_grad_(True)
y = torch.nn.functional.conv2d(x, w, None, padding=1)
y.square().sum().backward()
OUT['y'] = y; OUT['gx'] = x.grad; OUT['gw'] = w.grad`, { x: off.x, w: off.w });
    assertClose(assert, off.y, ref.y, 1e-5, 'output');
    assertClose(assert, off.x.grad, ref.gx, 1e-5, 'input gradient');
    assertClose(assert, off.w.grad, ref.gw, 1e-5, 'weight gradient');
    // The same values through either kernel (up to float32 summation order).
    assert.ok(on.x.equal(off.x) && on.w.equal(off.w), 'same seeded inputs');
    assertClose(assert, on.y, { shape: off.y.shape, data: off.y.to({ dtype: 'float64' }).dataSync() }, 1e-5, 'oneDNN on vs off');
    assertClose(assert, on.w.grad, { shape: off.w.shape, data: off.w.grad.to({ dtype: 'float64' }).dataSync() }, 1e-5, 'weight gradient on vs off');
  } finally {
    tg.backends.mkldnn.enabled = true;
  }
});
