'use strict';
// Tensor identity and lifetime: what is (not) a tensor, disposal, slot reuse, tidy/keep counts, finalizers.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

const disposedError = (e) => e.code === 'ERR_TENSOR_DISPOSED';

test('objects that are not tensors throw TypeError, never unwrapped', () => {
  const x = tg.ones([4]);
  const y = x.add(x);
  for (const bad of [{}, { shape: [4] }, { ...y }, Object.assign({}, y), Object.create(tg.Tensor.prototype), 'a', null, [y]]) {
    assert.throws(() => x.add(bad), TypeError);
  }
  assert.throws(() => x.add(new Proxy({}, { get() { throw new Error('trap'); } })), TypeError);
  for (const recv of [{}, 5, undefined, null, 'a']) assert.throws(() => tg.Tensor.prototype.add.call(recv, x), TypeError);
  const unbound = x.add;
  assert.throws(() => unbound(x), TypeError);
  assert.throws(() => Object.getOwnPropertyDescriptor(tg.Tensor.prototype, 'shape').get.call({}), TypeError);
  assert.throws(() => new tg.Tensor(), TypeError);
  assert.strictEqual(tg.isTensor({}), false);
  assert.strictEqual(Object.keys(y).length, 0);
  x.dispose();
  y.dispose();
});

test('a disposed tensor stays disposed after its slot is reused', () => {
  const x = tg.ones([1]);
  const a = [];
  for (let i = 0; i < 3000; i++) a.push(x.add(i));
  for (let i = 0; i < 3000; i += 2) a[i].dispose();
  const b = [];
  for (let i = 0; i < 3000; i++) b.push(x.mul(i));
  for (let i = 1; i < 3000; i += 2) assert.strictEqual(a[i].item(), i + 1);
  for (let i = 0; i < 3000; i++) assert.strictEqual(b[i].item(), i);
  for (let i = 0; i < 3000; i += 2) {
    assert.strictEqual(a[i].isDisposed, true);
    assert.throws(() => a[i].item(), disposedError);
    assert.throws(() => x.add(a[i]), disposedError);
    a[i].dispose(); // idempotent
  }
  tg.dispose([x, a, b]);
});

test('tidy and keep keep the tensor count exact', () => {
  const x = tg.ones([4]);
  const start = tg.memory().tensors;
  for (let i = 0; i < 10000; i++) tg.tidy(() => { x.add(x).mul(2); });
  assert.strictEqual(tg.memory().tensors, start);
  const kept = tg.tidy(() => { tg.keep(x.mul(3)); return x.add(1); });
  assert.strictEqual(tg.memory().tensors, start + 2);
  assert.deepStrictEqual(Array.from(kept.dataSync()), [2, 2, 2, 2]);
  kept.dispose();
  x.dispose();
});

test('the finalizer releases dropped tensors that left every scope', async () => {
  require('node:v8').setFlagsFromString('--expose-gc');
  const gc = require('node:vm').runInNewContext('gc'); // a GC on demand without a command-line flag
  const x = tg.ones([4]);
  const start = tg.memory().tensors;
  for (let i = 0; i < 2000; i++) x.add(i); // global scope, never disposed
  for (let i = 0; i < 200; i++) tg.tidy(() => x.mul(i)); // returned from tidy, dropped
  for (let k = 0; k < 4; k++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  // At most one batch of global-scope tensors (256) waits for its finalizer decision.
  assert.ok(tg.memory().tensors <= start + 256, `${tg.memory().tensors} live`);
  x.dispose();
});
