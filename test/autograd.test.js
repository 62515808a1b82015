'use strict';
// Autograd: requiresGrad, backward (gradient argument, retainGraph, createGraph), grad, detach, noGrad/enableGrad.
const test = require('node:test');
const assert = require('node:assert');
const { goldenSuite, make, tg } = require('./helpers/golden');

const F = tg.nn.functional;

goldenSuite('composite graphs match PyTorch end to end', [
  {
    name: 'two-layer MLP with ELU and cross-entropy',
    inputs: () => ({ x: make.randn([8, 5]), w1: make.randn([6, 5]), b1: make.randn([6]), w2: make.randn([3, 6]), b2: make.randn([3]), y: make.ints([8], 0, 3) }),
    grad: ['w1', 'b1', 'w2', 'b2'],
    js: (t) => F.crossEntropy(F.linear(F.elu(F.linear(t.x, t.w1, t.b1)), t.w2, t.b2), t.y, { labelSmoothing: 0.05 }),
    py: 'F.cross_entropy(F.linear(F.elu(F.linear(x, w1, b1)), w2, b2), y, label_smoothing=0.05)',
  },
  {
    name: 'conv, batch norm, pooling and a linear head',
    inputs: () => ({ x: make.randn([2, 2, 6, 6]), k: make.randn([3, 2, 3, 3]), g: make.positive([3]), w: make.randn([4, 3]) }),
    js: (t) => F.linear(F.adaptiveAvgPool2d(F.relu(F.batchNorm(F.conv2d(t.x, t.k, null, { padding: 1 }), null, null, { weight: t.g, training: true })), 1).flatten(1), t.w),
    py: 'F.linear(F.adaptive_avg_pool2d(F.relu(F.batch_norm(F.conv2d(x, k, None, padding=1), None, None, g, training=True)), 1).flatten(1), w)',
    cudaTol: 5e-3,
  },
  {
    name: 'a tensor used twice accumulates both paths',
    inputs: () => ({ x: make.randn([4]) }),
    js: (t) => t.x.mul(t.x).add(t.x.sin()).sum(),
    py: '(x * x + x.sin()).sum()',
  },
]);

test('backward with a gradient argument weights the output', () => {
  tg.tidy(() => {
    const x = tg.tensor([1, 2, 3], { dtype: 'float32', requiresGrad: true });
    x.mul(2).backward(tg.tensor([1, 0.5, -1], { dtype: 'float32' }));
    assert.deepStrictEqual(Array.from(x.grad.dataSync()), [2, 1, -2]);
  });
});

test('gradients accumulate across backward calls until zeroed', () => {
  tg.tidy(() => {
    const x = tg.tensor([1, 2], { dtype: 'float32', requiresGrad: true });
    x.mul(3).sum().backward();
    x.mul(3).sum().backward();
    assert.deepStrictEqual(Array.from(x.grad.dataSync()), [6, 6]);
    x.grad.zero_();
    assert.deepStrictEqual(Array.from(x.grad.dataSync()), [0, 0]);
    x.grad = undefined;
    assert.strictEqual(x.grad, undefined);
  });
});

test('retainGraph allows a second backward; without it the second backward is a TorchError', () => {
  tg.tidy(() => {
    const x = tg.tensor([1, 2], { dtype: 'float32', requiresGrad: true });
    const y = x.exp().sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    assert.ok(x.grad.sub(x.exp().mul(2)).abs().max().item() < 1e-6);
    assert.throws(() => y.backward(), (e) => e instanceof tg.TorchError && /second time|already been freed/.test(e.message));
  });
});

test('createGraph gives a differentiable gradient (second derivative)', () => {
  tg.tidy(() => {
    const x = tg.tensor([0.5, -1], { dtype: 'float32', requiresGrad: true });
    x.pow(3).sum().backward(undefined, { createGraph: true });
    const g = x.grad; // 3x^2, with a graph
    assert.strictEqual(g.requiresGrad, true);
    x.grad = undefined;
    g.sum().backward();
    assert.ok(x.grad.sub(x.detach().mul(6)).abs().max().item() < 1e-6);
  });
});

test('requiresGrad, isLeaf, requiresGrad_ and retainGrad', () => {
  tg.tidy(() => {
    const x = tg.ones([2]);
    assert.strictEqual(x.requiresGrad, false);
    assert.strictEqual(x.requiresGrad_(), x);
    assert.strictEqual(x.requiresGrad, true);
    const y = x.mul(2);
    assert.strictEqual(x.isLeaf, true);
    assert.strictEqual(y.isLeaf, false);
    assert.strictEqual(y.retainGrad(), y);
    y.sum().backward();
    assert.deepStrictEqual(Array.from(y.grad.dataSync()), [1, 1]);
    assert.throws(() => tg.tensor([1, 2]).requiresGrad_(), /floating point|require gradients/);
  });
});

test('detach() stops the gradient and shares storage', () => {
  tg.tidy(() => {
    const x = tg.ones([3], { requiresGrad: true });
    const d = x.detach();
    assert.strictEqual(d.requiresGrad, false);
    assert.strictEqual(d._storageId(), x._storageId());
    x.mul(d).sum().backward();
    assert.deepStrictEqual(Array.from(x.grad.dataSync()), [1, 1, 1]);
  });
});

test('noGrad records nothing, enableGrad records inside it, and modes nest and restore', () => {
  tg.tidy(() => {
    const x = tg.ones([2], { requiresGrad: true });
    const y = tg.noGrad(() => x.mul(2));
    assert.strictEqual(y.requiresGrad, false);
    const z = tg.noGrad(() => tg.enableGrad(() => x.mul(2)));
    assert.strictEqual(z.requiresGrad, true);
    assert.strictEqual(tg.isGradEnabled(), true);
    assert.throws(() => tg.noGrad(() => {
      assert.strictEqual(tg.isGradEnabled(), false);
      throw new Error('inner');
    }), /inner/);
    assert.strictEqual(tg.isGradEnabled(), true, 'restored after a throw');
    assert.throws(() => tg.noGrad(async () => 1), TypeError);
    assert.strictEqual(tg.isGradEnabled(), true);
  });
});

test('an in-place op on a leaf that requires grad is refused by LibTorch', () => {
  tg.tidy(() => {
    const x = tg.ones([2], { requiresGrad: true });
    assert.throws(() => x.add_(1), (e) => e instanceof tg.TorchError && /leaf Variable that requires grad/.test(e.message));
    tg.noGrad(() => x.add_(1));
    assert.deepStrictEqual(x.toArray(), [2, 2]);
  });
});

test('setting grad checks shape, dtype and device', () => {
  tg.tidy(() => {
    const x = tg.ones([2], { requiresGrad: true });
    x.grad = tg.full([2], 0.5);
    assert.deepStrictEqual(x.grad.toArray(), [0.5, 0.5]);
    assert.throws(() => (x.grad = tg.ones([3])), tg.TorchError);
    assert.throws(() => (x.grad = tg.ones([2], { dtype: 'float64' })), tg.TorchError);
    assert.throws(() => (x.grad = {}), TypeError);
  });
});

test('modifying a value the backward pass needs is a TorchError naming the in-place problem', () => {
  tg.tidy(() => {
    const x = tg.randn([3], { requiresGrad: true });
    const y = x.sigmoid();
    y.mul_(2);
    assert.throws(() => y.sum().backward(), (e) => e instanceof tg.TorchError && /modified by an inplace operation/.test(e.message));
  });
});
