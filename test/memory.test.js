'use strict';
// Deterministic release: tidy, keep, dispose, [Symbol.dispose] and a flat tensor count in a training-like loop.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { CUDA_SKIP } = require('./helpers/cuda');

const live = () => tg.memory().tensors;

for (const device of ['cpu', 'cuda']) {
  test(`10,000 iterations of a tidy loop leave the tensor count and bytes unchanged [${device}]`, { skip: device === 'cuda' && CUDA_SKIP }, () => {
    const w = tg.randn([8, 4], { requiresGrad: true, device });
    const x = tg.randn([16, 8], { device });
    const before = tg.memory();
    for (let i = 0; i < 10000; i++) {
      tg.tidy(() => {
        const loss = x.matmul(w).relu().sub(0.5).square().mean();
        loss.backward();
        tg.noGrad(() => w.sub_(w.grad.mul(1e-3)));
        w.grad.zero_();
      });
    }
    const after = tg.memory();
    assert.strictEqual(after.tensors, before.tensors);
    assert.strictEqual(after.cudaBytes, before.cudaBytes);
    assert.strictEqual(after.bytes, before.bytes);
    assert.strictEqual(after.scopes, 0);
    w.dispose();
    x.dispose();
  });
}

test('memory() reports tensors and bytes, shared storage counted once', () => {
  const before = tg.memory();
  const a = tg.zeros([256], { dtype: 'float32' });
  const v = a.view([16, 16]);
  const after = tg.memory();
  assert.strictEqual(after.tensors, before.tensors + 2);
  assert.strictEqual(after.bytes - before.bytes, 1024);
  assert.strictEqual(after.cudaBytes, before.cudaBytes);
  tg.dispose([a, v]);
  assert.strictEqual(tg.memory().tensors, before.tensors);
});

test('tidy returns a tensor that survives; intermediates are disposed', () => {
  const before = live();
  let inner;
  const out = tg.tidy(() => {
    inner = tg.ones([3]).mul(2);
    return inner.add(1);
  });
  assert.strictEqual(inner.isDisposed, true);
  assert.strictEqual(out.isDisposed, false);
  assert.deepStrictEqual(out.toArray(), [3, 3, 3]);
  assert.strictEqual(live(), before + 1);
  out.dispose();
});

test('nested tidy: the inner result survives into the outer scope and is disposed when the outer ends', () => {
  const before = live();
  let fromInner;
  const outer = tg.tidy(() => {
    fromInner = tg.tidy(() => tg.ones([2]).add(1));
    assert.strictEqual(fromInner.isDisposed, false);
    const kept = fromInner.mul(3);
    return kept;
  });
  assert.strictEqual(fromInner.isDisposed, true, 'not returned from the outer scope');
  assert.deepStrictEqual(outer.toArray(), [6, 6]);
  assert.strictEqual(live(), before + 1);
  outer.dispose();
});

test('tidy keeps tensors returned in arrays, plain objects and Maps', () => {
  const before = live();
  const r = tg.tidy(() => {
    tg.zeros([1]);
    return { a: tg.ones([1]), list: [tg.ones([2]), { deep: tg.ones([3]) }], map: new Map([['m', tg.ones([4])]]), n: 5 };
  });
  assert.strictEqual(live(), before + 4);
  assert.strictEqual(r.list[1].deep.numel, 3);
  assert.strictEqual(r.map.get('m').numel, 4);
  tg.dispose(r);
  tg.dispose(r.map);
  assert.strictEqual(live(), before);
});

test('keep() takes a tensor out of every tidy scope', () => {
  const before = live();
  let kept;
  tg.tidy(() => {
    tg.tidy(() => {
      kept = tg.keep(tg.ones([2]));
      tg.ones([2]);
    });
  });
  assert.strictEqual(kept.isDisposed, false);
  assert.strictEqual(live(), before + 1);
  kept.dispose();
  assert.throws(() => tg.keep({}), TypeError);
});

test('dispose() is idempotent and dispose(value) walks containers', () => {
  const before = live();
  const t = tg.ones([2]);
  t.dispose();
  t.dispose();
  assert.strictEqual(t.isDisposed, true);
  assert.strictEqual(live(), before);
  const many = [tg.ones([1]), { b: tg.ones([1]) }];
  tg.dispose(many);
  tg.dispose(many);
  assert.strictEqual(live(), before);
});

test('[Symbol.dispose] releases the tensor (the `using` declaration)', () => {
  const before = live();
  const t = tg.ones([2]);
  assert.strictEqual(typeof t[Symbol.dispose], 'function');
  t[Symbol.dispose]();
  assert.strictEqual(t.isDisposed, true);
  assert.strictEqual(live(), before);
});

test('tidy with a throwing fn disposes what it made and rethrows', () => {
  const before = live();
  let made;
  const boom = new Error('boom');
  assert.throws(
    () =>
      tg.tidy(() => {
        made = tg.ones([4]);
        throw boom;
      }),
    (e) => e === boom,
  );
  assert.strictEqual(made.isDisposed, true);
  assert.strictEqual(live(), before);
  assert.strictEqual(tg.memory().scopes, 0);
});

test('tidy with an async fn throws a TypeError and leaves no scope open', () => {
  const before = live();
  assert.throws(() => tg.tidy(async () => tg.ones([1])), /synchronous functions only/);
  assert.strictEqual(tg.memory().scopes, 0);
  assert.strictEqual(live(), before);
  assert.throws(() => tg.tidy('not a function'), TypeError);
});

test('tensors made without tidy stay alive until disposed, and the count is exact', () => {
  const before = live();
  const ts = Array.from({ length: 100 }, () => tg.zeros([2]));
  assert.strictEqual(live(), before + 100);
  tg.dispose(ts);
  assert.strictEqual(live(), before);
});
