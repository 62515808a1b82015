'use strict';
// model.freeze() against every optimizer: frozen weights (and frozen BatchNorm statistics) stay bitwise unchanged,
// whether frozen before the optimizer exists or after it has built momentum / Adam state; unfreezing trains again.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { nn } = tg;
const { CUDA_SKIP } = require('./helpers/cuda');

// The options that would move a parameter without a gradient if freezing were not honoured.
const KINDS = {
  'SGD (momentum, nesterov, weight decay)': ['SGD', { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.1 }],
  'Adagrad (weight decay)': ['Adagrad', { lr: 0.05, weightDecay: 0.1, initialAccumulatorValue: 0.1 }],
  'RMSprop (centered, momentum, weight decay)': ['RMSprop', { lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.1 }],
  'Adam (amsgrad, weight decay)': ['Adam', { lr: 0.01, amsgrad: true, weightDecay: 0.1 }],
  'AdamW (decoupled weight decay)': ['AdamW', { lr: 0.01, weightDecay: 0.1 }],
};
const FROZEN = /^(hidden1|bn1)\./;

function net() {
  tg.manualSeed(7);
  return new nn.Sequential({
    hidden1: new nn.Linear(4, 8), bn1: new nn.BatchNorm1d(8), act1: new nn.ELU(),
    hidden2: new nn.Linear(8, 6), act2: new nn.ELU(),
    outputs: new nn.Linear(6, 3),
  });
}
function data() {
  tg.manualSeed(11);
  return [tg.randn([24, 4]), tg.randint(0, 3, [24])];
}
// Everything the frozen part holds, parameters and statistics, cloned.
const snapshot = (m) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, t.clone()]));
function assertFrozenPartUnchanged(m, before, what) {
  for (const [k, t] of Object.entries(m.stateDict())) {
    if (FROZEN.test(k)) assert.ok(t.equal(before[k]), `${what}: frozen ${k} changed`);
  }
}
function assertTrainablePartMoved(m, before, what) {
  for (const [n, p] of m.namedTrainableParameters()) assert.ok(!p.equal(before[n]), `${what}: trainable ${n} did not move`);
}
function steps(m, opt, [x, y], n) {
  for (let i = 0; i < n; i++) {
    opt.zeroGrad();
    tg.tidy(() => nn.functional.crossEntropy(m.forward(x), y).backward());
    opt.step();
  }
}

for (const [title, [cls, options]] of Object.entries(KINDS)) {
  test(`${title}: layers frozen after training steps stay bitwise unchanged, with the optimizer built over all parameters`, () => {
    const m = net();
    const d = data();
    const opt = new tg.optim[cls](m.parameters(), options);
    steps(m, opt, d, 3); // builds momentum / Adagrad / Adam state for the soon-frozen layers
    assert.ok(opt.stateDict().state['hidden1.weight'], 'the frozen layer has optimizer state from before');
    m.freeze(FROZEN);
    const before = snapshot(m);
    steps(m, opt, d, 5);
    assertFrozenPartUnchanged(m, before, title);
    assertTrainablePartMoved(m, before, title);
    m.unfreeze();
    steps(m, opt, d, 1);
    assert.ok(!m.hidden1.weight.equal(before['hidden1.weight']), 'unfrozen, hidden1 trains again');
    assert.ok(!m.bn1.running_mean.equal(before['bn1.running_mean']), 'unfrozen, bn1 updates its statistics again');
  });

  test(`${title}: tg.fit leaves layers frozen before and between fits bitwise unchanged`, async () => {
    const m = net();
    const d = data();
    m.freeze(FROZEN);
    const opt = new tg.optim[cls](m.parameters(), options); // frozen parameters in the optimizer anyway
    const before = snapshot(m);
    await tg.fit(m, d, { epochs: 2, batchSize: 8, seed: 1, verbose: 0, optimizer: opt, loss: 'crossEntropy' });
    assertFrozenPartUnchanged(m, before, `${title}, frozen before fit`);
    assertTrainablePartMoved(m, before, `${title}, frozen before fit`);
    // Train everything, then freeze between two fits with the optimizer's state in place.
    m.unfreeze();
    await tg.fit(m, d, { epochs: 1, batchSize: 8, seed: 2, verbose: 0, optimizer: opt, loss: 'crossEntropy' });
    m.freeze(FROZEN);
    const mid = snapshot(m);
    await tg.fit(m, d, { epochs: 2, batchSize: 8, seed: 3, verbose: 0, optimizer: opt, loss: 'crossEntropy' });
    assertFrozenPartUnchanged(m, mid, `${title}, frozen between fits`);
    assertTrainablePartMoved(m, mid, `${title}, frozen between fits`);
  });

  test(`${title}: parameters unfrozen later train through optimizer.addParamGroup`, () => {
    const m = net();
    const d = data();
    m.freeze(FROZEN);
    const opt = new tg.optim[cls](m.trainableParameters(), options);
    const before = snapshot(m);
    steps(m, opt, d, 2);
    // Taken before the steps: the frozen part (weights and BatchNorm statistics) came through them bitwise.
    assertFrozenPartUnchanged(m, before, title);
    assertTrainablePartMoved(m, before, title);
    m.unfreeze('hidden1');
    opt.addParamGroup({ params: m.parameters('hidden1'), lr: options.lr / 10 });
    steps(m, opt, d, 2);
    assert.ok(!m.hidden1.weight.equal(before['hidden1.weight']), 'hidden1 trains in its new group');
    assert.ok(m.bn1.weight.equal(before['bn1.weight']), 'bn1 is still frozen');
    assert.ok(m.bn1.running_var.equal(before['bn1.running_var']), 'bn1 statistics are still frozen');
  });
}

test('on CUDA too: frozen layers and BatchNorm statistics stay bitwise unchanged under Adam with weight decay', { skip: CUDA_SKIP }, () => {
  const m = net().to('cuda');
  const d = data().map((t) => t.to('cuda'));
  const opt = new tg.optim.Adam(m.parameters(), { lr: 0.01, amsgrad: true, weightDecay: 0.1 });
  steps(m, opt, d, 2);
  m.freeze(FROZEN);
  const before = snapshot(m);
  steps(m, opt, d, 3);
  assertFrozenPartUnchanged(m, before, 'cuda');
  assertTrainablePartMoved(m, before, 'cuda');
  m.dispose();
});
