'use strict';
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

test('tensor() infers shape and dtype like torch.tensor', () => {
  const a = tg.tensor([[1, 2, 3], [4, 5, 6]]);
  assert.deepStrictEqual(a.shape, [2, 3]);
  assert.strictEqual(a.dtype, 'int64');
  assert.strictEqual(tg.tensor([1.5, 2]).dtype, 'float32');
  assert.strictEqual(tg.tensor([true, false]).dtype, 'bool');
  assert.strictEqual(tg.tensor(3.5).ndim, 0);
  assert.deepStrictEqual(tg.tensor(new Float32Array([1, 2, 3, 4]), { shape: [2, 2] }).toArray(), [[1, 2], [3, 4]]);
});

test('printing looks like PyTorch', () => {
  assert.strictEqual(String(tg.tensor([[1.5, 2], [3, 4]])), 'tensor([[1.5000, 2.0000],\n        [3.0000, 4.0000]])');
  assert.strictEqual(String(tg.tensor([1, 2])), 'tensor([1, 2])');
  assert.strictEqual(String(tg.tensor([1, 2], { dtype: 'float32', requiresGrad: true })), 'tensor([1., 2.], requires_grad=True)');
});

test('data() copies off the JavaScript thread and survives dispose of the source', async () => {
  const t = tg.arange(0, 6, 1, { dtype: 'float32' });
  const p = t.data();
  t.dispose();
  assert.deepStrictEqual(Array.from(await p), [0, 1, 2, 3, 4, 5]);
});

test('data() settles only from the event loop (a worker thread\'s completion), never within the calling turn\'s microtasks', async () => {
  // A copy made on the JS thread would settle within a few microtask hops; a worker's completion is delivered by
  // libuv, which cannot run while microtasks are still queued: deterministic, not timing-dependent.
  for (const n of [1, 6, 1 << 20]) {
    const t = tg.ones([n]);
    let settled = false;
    const p = t.data().then((v) => {
      settled = true;
      return v;
    });
    for (let i = 0; i < 200; i++) await null;
    assert.strictEqual(settled, false, `data() of ${n} elements settled within the microtasks of the calling turn`);
    // A macrotask queued now runs before or after the completion; either way the promise settles with the values.
    const v = await p;
    assert.strictEqual(v.length, n);
    assert.strictEqual(v[n - 1], 1);
    t.dispose();
  }
});

test('autograd: backward fills grad', () => {
  const x = tg.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
  x.mul(x).sum().backward();
  assert.deepStrictEqual(Array.from(x.grad.dataSync()), [2, 4, 6]);
});
