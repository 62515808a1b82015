'use strict';
// The JavaScript Tensor class (lib/tensor-class.ts): its private handle is the only way in, handles passed to the
// addon's handle table are validated, and tensors made by both paths (the addon's objects and the class's objects over
// returned handles) share one pending batch whose order pairs each object with its slot.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const tg = require('..');
const { binding } = require('../dist/native.js');

const notTensor = (e) => e instanceof TypeError && !('code' in e && e.code === 'ERR_TENSOR_DISPOSED');

test('objects without the private handle are refused by fast and addon methods, as receiver and as argument', () => {
  const x = tg.ones([2, 2]);
  const fakes = {
    spread: { ...x },
    created: Object.create(tg.Tensor.prototype),
    inherits: Object.create(x),
    proxy: new Proxy(x, {}),
    trapping: new Proxy(x, { get: () => { throw new Error('trap ran'); } }),
  };
  for (const [name, f] of Object.entries(fakes)) {
    assert.strictEqual(tg.isTensor(f), false, `${name}: isTensor`);
    // fast forms (tensor-tensor add, matmul, in place, getters, dispose) and the addon's (sum, reshape, cat)
    assert.throws(() => x.add(f), notTensor, `${name}: x.add(fake)`);
    assert.throws(() => x.matmul(f), notTensor, `${name}: x.matmul(fake)`);
    assert.throws(() => x.mul_(f), notTensor, `${name}: x.mul_(fake)`);
    assert.throws(() => tg.cat([x, f]), notTensor, `${name}: cat`);
    assert.throws(() => tg.Tensor.prototype.add.call(f, x), /not a Tensor/, `${name}: add with fake this`);
    assert.throws(() => tg.Tensor.prototype.relu.call(f), /not a Tensor/, `${name}: relu with fake this`);
    assert.throws(() => tg.Tensor.prototype.sum.call(f), TypeError, `${name}: sum with fake this`);
    assert.throws(() => Object.getOwnPropertyDescriptor(tg.Tensor.prototype, 'shape').get.call(f), /not a Tensor/, `${name}: shape`);
    assert.throws(() => tg.Tensor.prototype.dispose.call(f), /not a Tensor/, `${name}: dispose`);
  }
  assert.strictEqual(x.isDisposed, false, 'no fake reached the real tensor');
  assert.deepStrictEqual(x.sum().item(), 4);
  x.dispose();
});

test('the handle table refuses anything that is not a live handle of this addon, without crashing', () => {
  const { binary, unary, members } = binding.fast;
  const bad = [NaN, -1, -0.5, 1.5, 2 ** 53, 2 ** 60, Infinity, 'a', {}, undefined, null, 16777215];
  for (const h of bad) {
    assert.throws(() => binary.add(h, h), TypeError, `add(${String(h)})`);
    assert.throws(() => unary.relu(h), TypeError, `relu(${String(h)})`);
    assert.throws(() => members.shape(h), TypeError, `shape(${String(h)})`);
  }
});

test('a disposed tensor, as receiver or argument of a fast method, throws ERR_TENSOR_DISPOSED, also after its slot is reused', () => {
  const x = tg.ones([3]);
  const d = tg.ones([3]);
  d.dispose();
  const reuse = Array.from({ length: 2000 }, () => tg.zeros([1])); // FIFO reuse reaches d's slot
  for (const f of [() => d.add(x), () => x.add(d), () => d.relu(), () => x.add_(d), () => d.add_(x), () => d.shape, () => d.item()])
    assert.throws(f, (e) => e.code === 'ERR_TENSOR_DISPOSED');
  d.dispose(); // idempotent
  assert.strictEqual(d.isDisposed, true);
  tg.dispose(reuse);
  x.dispose();
});

test('fast and addon forms give the same results and errors (numbers, alpha, broadcasting, in place on a leaf)', () => {
  const a = tg.tensor([[1, 2], [3, 4]]);
  const b = tg.tensor([10, 20]);
  assert.deepStrictEqual(a.add(b).toArray(), [[11, 22], [13, 24]]);
  assert.deepStrictEqual(a.add(b, 2).toArray(), [[21, 42], [23, 44]]); // alpha: the addon's form
  assert.deepStrictEqual(a.sub(1).toArray(), [[0, 1], [2, 3]]); // a number: the addon's form
  assert.deepStrictEqual(a.div(tg.tensor([2, 2]), 'floor').toArray(), [[0, 1], [1, 2]]);
  assert.deepStrictEqual(a.float().matmul(a.float()).toArray(), [[7, 10], [15, 22]]);
  const w = tg.ones([2], { requiresGrad: true });
  assert.throws(() => w.add_(tg.ones([2])), /leaf Variable that requires grad/);
  assert.throws(() => a.add(tg.ones([3])), (e) => e.name === 'TorchError' && /size of tensor a \(2\) must match/.test(e.message));
  const c = tg.ones([2]);
  assert.strictEqual(c.add_(b.float()), c, 'in-place fast forms return this');
  assert.deepStrictEqual(c.toArray(), [11, 21]);
});

test('tensors made by both paths in the global scope and dropped are freed by GC; the ones kept stay intact', () => {
  // Interleaves the addon's objects (zeros, sum) and the class's (add, relu) in one pending batch, across many batches.
  const code = `
    const tg = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    const x = tg.ones([3]);
    const before = tg.memory().tensors;
    const kept = [];
    for (let i = 0; i < 5000; i++) {
      const a = tg.zeros([3]);          // made by the addon
      const b = x.add(x);               // made by the class over a handle
      const c = b.relu();
      const s = a.sum();
      if (i % 7 === 0) kept.push([i, b, a]);
      if (i % 3 === 0) c.dispose();
      void s;
    }
    global.gc(); global.gc();
    for (let i = 0; i < 4096; i++) tg.ones([1]).dispose();  // creations trigger the sweep
    const ok = kept.every(([, b, a]) => !b.isDisposed && !a.isDisposed && b.toArray().join() === '2,2,2' && a.sum().item() === 0);
    console.log(JSON.stringify({ kept: kept.length * 2, alive: tg.memory().tensors - before, ok }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '-e', code], { encoding: 'utf8', timeout: 240_000 });
  assert.strictEqual(r.status, 0, r.stderr.slice(-2000));
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.ok(out.ok, 'every kept tensor is alive with its values');
  // 20,000 tensors were dropped undisposed; what stays is the kept ones plus at most a pending batch or two
  assert.ok(out.alive >= out.kept && out.alive < out.kept + 1100, `${out.alive} alive for ${out.kept} kept`);
});

test('number forms by handle (add, sub, mul, div and in place) equal the addon’s own methods, dtype included', () => {
  const ops = binding.TensorOps;
  const make = { int: () => tg.tensor([1, 2, -3]), float: () => tg.tensor([1.5, -2, 3], { dtype: 'float32' }), double: () => tg.tensor([1, 2, 3], { dtype: 'float64' }), bool: () => tg.tensor([true, false, true]) };
  for (const [kind, mk] of Object.entries(make)) {
    for (const n of [2, -1, 0.5, 1e20, NaN]) {
      for (const op of ['add', 'sub', 'mul', 'div']) {
        let fast, slow;
        try { fast = mk()[op](n); } catch (e) { fast = e; }
        try { slow = ops[op].call(mk(), n); } catch (e) { slow = e; }
        const what = `${kind}.${op}(${n})`;
        if (slow instanceof Error) {
          assert.ok(fast instanceof Error, `${what}: the addon refuses it, the fast form too`);
          assert.strictEqual(fast.message, slow.message, what);
          continue;
        }
        assert.strictEqual(fast.dtype, slow.dtype, what);
        assert.deepStrictEqual(fast.toArray(), slow.toArray(), what);
        if (kind === 'float') {
          // the same autograd node as Python's (a wrapped number: MulBackward0, not the Scalar overload's MulBackward1)
          const g = mk().requiresGrad_();
          assert.strictEqual(g[op](n)._gradFn(), ops[op].call(g, n)._gradFn(), `${what}: grad_fn`);
        }
      }
      if (kind === 'bool') continue;
      for (const op of ['add_', 'sub_', 'mul_', 'div_']) {
        const a = mk(), b = mk();
        let fe, se;
        try { assert.strictEqual(a[op](n), a); } catch (e) { fe = e; }
        try { ops[op].call(b, n); } catch (e) { se = e; }
        const what = `${kind}.${op}(${n})`;
        assert.strictEqual(fe?.message, se?.message, what);
        assert.deepStrictEqual(a.toArray(), b.toArray(), what);
      }
    }
  }
});
