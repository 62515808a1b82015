'use strict';
// BatchNorm's running statistics over several training steps (momentum and cumulative average) against PyTorch,
// and the train/eval switch of BatchNorm and Dropout.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { hasPyTorch, runTorch, assertClose } = require('./helpers/torch');

const skip = !hasPyTorch() && 'Python PyTorch (/usr/bin/python3) is not available';

test('BatchNorm running_mean, running_var and num_batches_tracked follow PyTorch over training steps, then eval uses them', { skip }, () => {
  tg.manualSeed(3);
  const batches = [0, 1, 2].map((i) => tg.randn([4, 3, 5, 5]).mul(i + 1).add(i));
  const evalX = tg.randn([2, 3, 5, 5]);
  const inputs = { evalX };
  batches.forEach((b, i) => (inputs[`b${i}`] = b));
  const variants = [
    ['m01', new tg.nn.BatchNorm2d(3), 'nn.BatchNorm2d(3)'],
    ['cumulative', new tg.nn.BatchNorm2d(3, { momentum: null }), 'nn.BatchNorm2d(3, momentum=None)'],
  ];
  const ours = {};
  for (const [id, bn] of variants) {
    bn.train();
    for (const b of batches) bn.forward(b);
    bn.eval();
    ours[id] = { bn, y: bn.forward(evalX) };
  }
  const py = runTorch(
    `
import torch.nn as nn
for name, expr in [${variants.map(([id, , e]) => `('${id}', '${e}')`).join(', ')}]:
    bn = eval(expr)
    bn.train()
    for i in range(3): bn(T['b%d' % i])
    bn.eval()
    OUT[name + '.y'] = bn(T['evalX'])
    OUT[name + '.mean'] = bn.running_mean
    OUT[name + '.var'] = bn.running_var
    OUT[name + '.n'] = bn.num_batches_tracked
`,
    inputs,
  );
  for (const [id] of variants) {
    const { bn, y } = ours[id];
    assertClose(assert, bn.running_mean, py[`${id}.mean`], 1e-5, `${id} running_mean`);
    assertClose(assert, bn.running_var, py[`${id}.var`], 1e-5, `${id} running_var`);
    assert.strictEqual(bn.num_batches_tracked.dtype, 'int64');
    assert.strictEqual(bn.num_batches_tracked.item(), 3);
    assert.strictEqual(Number(py[`${id}.n`].data[0]), 3);
    assertClose(assert, y, py[`${id}.y`], 1e-5, `${id} eval output`);
  }
});

test('BatchNorm in eval mode leaves its running statistics and counter untouched', () => {
  const bn = new tg.nn.BatchNorm1d(4).eval();
  bn.forward(tg.randn([8, 4]).add(5));
  assert.deepStrictEqual(Array.from(bn.running_mean.dataSync()), [0, 0, 0, 0]);
  assert.deepStrictEqual(Array.from(bn.running_var.dataSync()), [1, 1, 1, 1]);
  assert.strictEqual(bn.num_batches_tracked.item(), 0);
  bn.train();
  bn.forward(tg.randn([8, 4]).add(5));
  assert.strictEqual(bn.num_batches_tracked.item(), 1);
  assert.ok(Array.from(bn.running_mean.dataSync()).every((v) => v > 0.2), 'training moved running_mean toward the batch mean');
});

test('BatchNorm in training mode normalises each channel by the batch statistics', () => {
  const bn = new tg.nn.BatchNorm1d(2);
  const y = bn.forward(tg.tensor([[1, 10], [3, 20], [5, 60]], { dtype: 'float32' }));
  const mean = y.mean(0).toArray();
  const std = y.std(0, false).toArray();
  mean.forEach((m) => assert.ok(Math.abs(m) < 1e-6));
  std.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-4));
});

test('Dropout zeroes about p of the elements and rescales the rest in training mode, and is the identity in eval mode', () => {
  tg.manualSeed(11);
  const drop = new tg.nn.Dropout(0.25);
  const x = tg.ones([200, 100]);
  const y = drop.forward(x).dataSync();
  let zeros = 0;
  for (const v of y) {
    if (v === 0) zeros++;
    else assert.ok(Math.abs(v - 1 / 0.75) < 1e-6, `kept values are scaled by 1/(1-p), got ${v}`);
  }
  const frac = zeros / y.length;
  assert.ok(Math.abs(frac - 0.25) < 0.02, `fraction dropped ${frac}`);
  drop.eval();
  assert.ok(drop.forward(x).equal(x));
});

test('train() and eval() switch every descendant, and Dropout inside a Sequential follows', () => {
  const net = new tg.nn.Sequential([new tg.nn.Linear(3, 3), new tg.nn.Sequential([new tg.nn.Dropout(0.9), new tg.nn.BatchNorm1d(3)])]);
  assert.ok(net.modules().every((m) => m.training));
  assert.strictEqual(net.eval(), net);
  assert.ok(net.modules().every((m) => !m.training));
  const x = tg.randn([4, 3]);
  assert.ok(net.forward(x).equal(net.forward(x)), 'eval mode is deterministic');
  net.train();
  assert.ok(net.modules().every((m) => m.training));
  net.train(false);
  assert.ok(net.modules().every((m) => !m.training));
  assert.throws(() => net.train('yes'), /mode must be a boolean/);
});

test('Dropout rejects probabilities outside [0, 1]', () => {
  assert.throws(() => new tg.nn.Dropout(1.5), /Dropout: p \(the dropout probability\) must be a number in \[0, 1\], got 1.5/);
  assert.throws(() => new tg.nn.Dropout(-0.1), RangeError);
});
