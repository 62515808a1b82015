'use strict';
// Parameter groups: options really apply per group, can be changed in place, and groups can be added later.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { problem, params, train, loss } = require('./helpers/optim-net');

const KINDS = {
  SGD: { lr: 0.05, momentum: 0.9 },
  Adagrad: { lr: 0.05 },
  RMSprop: { lr: 0.01, momentum: 0.5, centered: true },
  Adam: { lr: 0.01, amsgrad: true },
  AdamW: { lr: 0.01 },
};

const twin = () => tg.tensor([0.5, -1.5, 2.0, 0.25], { requiresGrad: true });
const sameGrads = (a, b) => {
  // Identical gradients on both: the loss is symmetric in a and b.
  a.mul(a).mul(tg.tensor([1, 2, 3, 4])).sum().add(b.mul(b).mul(tg.tensor([1, 2, 3, 4])).sum()).backward();
};

test('Adam applies each group its own lr (a peer library silently uses the first)', () => {
  const a = twin();
  const b = twin();
  const start = a.detach().clone();
  const opt = new tg.optim.Adam([{ params: [a], lr: 0.1 }, { params: [b], lr: 0.001 }]);
  opt.zeroGrad();
  sameGrads(a, b);
  opt.step();
  // Adam's first step moves each coordinate by lr * sign(grad) (up to eps): 0.1 against 0.001.
  const da = a.detach().sub(start).abs().dataSync();
  const db = b.detach().sub(start).abs().dataSync();
  for (let i = 0; i < da.length; i++) {
    assert.ok(Math.abs(da[i] - 0.1) < 1e-5, `group 0 moved ${da[i]}, expected 0.1`);
    assert.ok(Math.abs(db[i] - 0.001) < 1e-6, `group 1 moved ${db[i]}, expected 0.001`);
  }
});

for (const [cls, options] of Object.entries(KINDS)) {
  test(`${cls}: setting paramGroups[i].lr applies to that group only, from the next step`, () => {
    const a = twin();
    const b = twin();
    const opt = new tg.optim[cls]([{ params: [a] }, { params: [b] }], options);
    assert.strictEqual(opt.paramGroups[1].lr, options.lr);
    opt.paramGroups[1].lr = 0;
    assert.strictEqual(opt.paramGroups[1].lr, 0);
    assert.strictEqual(opt.paramGroups[0].lr, options.lr);
    const bBefore = b.detach().clone();
    const aBefore = a.detach().clone();
    for (let i = 0; i < 3; i++) {
      opt.zeroGrad();
      sameGrads(a, b);
      opt.step();
    }
    assert.ok(b.detach().equal(bBefore), 'lr 0 must leave group 1 where it was');
    assert.ok(!a.detach().equal(aBefore), 'group 0 must have moved');
  });

  test(`${cls}: addParamGroup adds parameters that train with their own options`, () => {
    const a = twin();
    const c = tg.tensor([1.5, 2, 3], { requiresGrad: true });
    const opt = new tg.optim[cls]([a], options);
    opt.addParamGroup({ params: [['extra', c]], lr: options.lr * 2 });
    assert.strictEqual(opt.paramGroups.length, 2);
    assert.strictEqual(opt.paramGroups[1].lr, options.lr * 2);
    assert.deepStrictEqual(opt.paramGroups[1].names, ['extra']);
    const before = c.detach().clone();
    for (let i = 0; i < 2; i++) {
      opt.zeroGrad();
      a.sum().add(c.pow(2).sum()).backward();
      opt.step();
    }
    assert.ok(!c.detach().equal(before));
    assert.ok(opt.stateDict().state.extra, 'the new parameter has state under its name');
  });
}

test('option changes that need new state buffers take effect mid-training (amsgrad, momentum, centered)', () => {
  const p = problem();
  for (const [cls, change] of [['Adam', { amsgrad: true }], ['AdamW', { amsgrad: true }], ['RMSprop', { momentum: 0.9 }], ['RMSprop', { centered: true }]]) {
    const P = params(p);
    const opt = train((P) => new tg.optim[cls](Object.entries(P), { lr: 0.01 }), P, p.X, p.Y, 3);
    for (const [k, v] of Object.entries(change)) opt.paramGroups[0][k] = v;
    opt.zeroGrad();
    tg.tidy(() => loss(P, p.X, p.Y).backward());
    opt.step();
    const s = opt.stateDict().state.w1;
    if (change.amsgrad) assert.ok(s.max_exp_avg_sq, `${cls}: max_exp_avg_sq kept`);
    if (change.momentum) assert.ok(s.momentum_buffer, `${cls}: momentum_buffer kept`);
    if (change.centered) assert.ok(s.grad_avg, `${cls}: grad_avg kept`);
    assert.ok(Number.isFinite(P.w1.sum().item()));
  }
});

test('parameters are named by the model they were listed from, by explicit names, or by position', () => {
  const { setParameterName } = require('../dist/nn/parameter');
  const w = tg.zeros([2, 2], { requiresGrad: true });
  const b = tg.zeros([2], { requiresGrad: true });
  setParameterName(w, 'hidden1.weight');
  const named = new tg.optim.SGD([w, b], { lr: 0.1 });
  assert.deepStrictEqual(named.paramGroups[0].names, ['hidden1.weight', '1']);
  const explicit = new tg.optim.SGD(new Map([['a', w], ['b', b]]), { lr: 0.1 });
  assert.deepStrictEqual(explicit.paramGroups[0].names, ['a', 'b']);
  const record = new tg.optim.SGD({ x: w, y: b }, { lr: 0.1 });
  assert.deepStrictEqual(record.paramGroups[0].names, ['x', 'y']);
});

test('bad options and parameters throw errors that name them', () => {
  const w = tg.zeros([2], { requiresGrad: true });
  const v = tg.zeros([2], { requiresGrad: true });
  assert.throws(() => new tg.optim.SGD([w], { lr: -1 }), (e) => e instanceof RangeError && /lr: invalid value -1/.test(e.message));
  assert.throws(() => new tg.optim.Adam([w], { betas: [1.5, 0.999] }), (e) => e instanceof RangeError && /betas\[0\]: invalid beta 1.5/.test(e.message));
  assert.throws(() => new tg.optim.Adam([w], { betas: [0.9, -0.1] }), (e) => e instanceof RangeError && /betas\[1\]/.test(e.message));
  assert.throws(() => new tg.optim.Adam([w], { eps: -1e-8 }), /eps: invalid value/);
  assert.throws(() => new tg.optim.RMSprop([w], { momentum: -0.5 }), /momentum: invalid value -0.5/);
  assert.throws(() => new tg.optim.Adagrad([w], { lrDecay: -1 }), /lrDecay/);
  assert.throws(() => new tg.optim.SGD([w, 3], { lr: 0.1 }), (e) => e instanceof TypeError && /params\[1\] is not a Tensor \(got a number\)/.test(e.message));
  assert.throws(() => new tg.optim.SGD([w], { lr: 0.1, weight_decay: 0.1 }), (e) => e instanceof TypeError && /unknown option 'weight_decay'/.test(e.message));
  assert.throws(() => new tg.optim.SGD([w]), /option 'lr' is required/);
  assert.throws(() => new tg.optim.SGD([w], { lr: 0.1, nesterov: true }), /Nesterov momentum requires a momentum > 0/);
  assert.throws(() => new tg.optim.SGD([w, w], { lr: 0.1 }), /appears in more than one parameter group/);
  assert.throws(() => new tg.optim.SGD([{ params: [w] }, { params: [w] }], { lr: 0.1 }), /param group 1: params\[0\] appears in more than one/);
  assert.throws(() => new tg.optim.SGD([['a', w], ['a', v]], { lr: 0.1 }), /two parameters are named 'a'/);
  assert.throws(() => new tg.optim.SGD([w.mul(2)], { lr: 0.1 }), /params\[0\] is not a leaf tensor/);
  assert.throws(() => new tg.optim.SGD([], { lr: 0.1 }), /empty parameter list/);
  assert.throws(() => new tg.optim.SGD(w, { lr: 0.1 }), /not a single Tensor/);
  assert.throws(() => new tg.optim.Adam([{ params: [w], lr: 'fast' }]), (e) => e instanceof TypeError && /param group 0: lr: expected a finite number/.test(e.message));
  const opt = new tg.optim.Adam([w], { lr: 0.01 });
  assert.throws(() => (opt.paramGroups[0].lr = -0.1), /paramGroups\[0\]: lr: invalid value -0.1/);
  assert.strictEqual(opt.paramGroups[0].lr, 0.01, 'a rejected value leaves the option as it was');
  assert.throws(() => opt.addParamGroup({ params: [w] }), /appears in more than one parameter group/);
  opt.dispose();
  assert.throws(() => opt.step(), /used after dispose/);
});

test('a training loop with an optimizer keeps the tensor count flat', () => {
  const p = problem();
  for (const cls of Object.keys(KINDS)) {
    const P = params(p);
    const opt = train((P) => new tg.optim[cls](Object.entries(P), KINDS[cls]), P, p.X, p.Y, 2);
    const before = tg.memory().tensors;
    train(() => opt, P, p.X, p.Y, 5);
    tg.tidy(() => {
      opt.stateDict();
    });
    assert.strictEqual(tg.memory().tensors, before, `${cls}: tensors leaked`);
    opt.dispose();
  }
});

test('an optimizer refuses options that are not an object, and addParamGroup a group without params', () => {
  const w = tg.zeros([2], { requiresGrad: true });
  for (const bad of [null, 3, 'lr']) {
    assert.throws(() => new tg.optim.SGD([w], bad), { name: 'TypeError', message: 'SGD: options must be an object' }, String(bad));
  }
  const opt = new tg.optim.SGD([w], { lr: 0.1 });
  const extra = tg.zeros([2], { requiresGrad: true });
  for (const bad of [null, 3, { lr: 0.5 }]) {
    assert.throws(() => opt.addParamGroup(bad), { name: 'TypeError', message: 'SGD.addParamGroup: expected { params, ...options }' }, JSON.stringify(bad));
  }
  assert.strictEqual(opt.paramGroups.length, 1, 'a refused group adds nothing');
  opt.addParamGroup({ params: [extra], lr: 0.5 });
  assert.strictEqual(opt.paramGroups.length, 2);
  opt.dispose();
  tg.dispose([w, extra]);
});
