'use strict';
// A frozen BatchNorm keeps its running statistics and normalises with them even in training mode,
// as PyTorch users get by calling bn.eval() on the frozen layers by hand.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { nn } = tg;
const { runTorch, assertClose, hasPyTorch, avoidOneDnnBackwardNaN } = require('./helpers/torch');

avoidOneDnnBackwardNaN();  // LibTorch 2.6's oneDNN: NaN convolution gradients under load (helpers/torch.js)
const { randomize, stateDictToPy, fromPy } = require('./helpers/nn');

function net(options = {}) {
  tg.manualSeed(5);
  return randomize(new nn.Sequential({
    hidden1: new nn.Linear(4, 6), bn: new nn.BatchNorm1d(6, options), act: new nn.ReLU(), outputs: new nn.Linear(6, 3),
  }));
}
const stats = (bn) => [bn.running_mean.clone(), bn.running_var.clone(), bn.num_batches_tracked.clone()];
function assertStatsUnchanged(bn, before, what) {
  const now = stats(bn);
  ['running_mean', 'running_var', 'num_batches_tracked'].forEach((n, i) => assert.ok(now[i].equal(before[i]), `${what}: ${n} changed`));
}
function trainSteps(m, x, n) {
  const opt = new tg.optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9 });
  for (let i = 0; i < n; i++) {
    opt.zeroGrad();
    tg.tidy(() => m.forward(x).pow(2).mean().backward());
    opt.step();
  }
}

test('a BatchNorm whose parameters are all frozen keeps its statistics bitwise and normalises like eval mode in training mode', () => {
  const m = net();
  const x = tg.randn([8, 4]);
  m.freeze(/^(hidden1|bn)\./);
  assert.strictEqual(m.bn.frozenStatistics, true);
  assert.ok(m.training && m.bn.training, 'the model stays in training mode');
  const before = stats(m.bn);
  const h = tg.noGrad(() => m.hidden1.forward(x));
  const trainOut = tg.noGrad(() => m.bn.forward(h));
  m.bn.eval();
  const evalOut = tg.noGrad(() => m.bn.forward(h));
  m.bn.train();
  assert.ok(trainOut.equal(evalOut), 'training-mode output equals eval-mode output');
  trainSteps(m, x, 4);
  assertStatsUnchanged(m.bn, before, 'frozen bn');
  assert.strictEqual(m.isFrozen('bn'), true);
});

test('a BatchNorm without parameters (affine: false) freezes its statistics when the pattern names it, by list, glob or RegExp', () => {
  const x = tg.randn([8, 4]);
  for (const pattern of [['bn'], 'bn', /^bn\./, /^(hidden1|bn)\./]) {
    const m = net({ affine: false });
    m.freeze(pattern);
    assert.strictEqual(m.bn.frozenStatistics, true, `freeze(${String(pattern)})`);
    assert.strictEqual(m.isFrozen('bn'), true);
    const before = stats(m.bn);
    trainSteps(m, x, 3);
    assertStatsUnchanged(m.bn, before, `freeze(${String(pattern)})`);
  }
  const m = net({ affine: false });
  m.freeze('hidden1');
  assert.strictEqual(m.bn.frozenStatistics, false, 'a BatchNorm the pattern does not name keeps updating');
  const before = stats(m.bn);
  trainSteps(m, x, 1);
  assert.ok(!m.bn.running_mean.equal(before[0]));
  assert.strictEqual(m.bn.num_batches_tracked.item(), 1);
  assert.match(m.summary(), /^bn\s+BatchNorm1d\s+0\s+-$/m);
  m.freeze('bn');
  assert.match(m.summary(), /^bn\s+BatchNorm1d\s+0\s+frozen$/m, 'summary shows frozen statistics');
  assert.match(String(m.bn), /frozenStatistics=true/);
});

test('a partly frozen BatchNorm keeps updating its statistics; unfreezing any of its parameters unfreezes them', () => {
  const x = tg.randn([8, 4]);
  const m = net();
  m.freeze('bn.weight');
  assert.strictEqual(m.bn.frozenStatistics, false, 'bias still trains, so statistics still update');
  m.freeze('bn.bias');
  assert.strictEqual(m.bn.frozenStatistics, true, 'now all its parameters are frozen');
  m.unfreeze('bn.bias');
  assert.strictEqual(m.bn.frozenStatistics, false);
  const before = stats(m.bn);
  trainSteps(m, x, 1);
  assert.ok(!m.bn.running_var.equal(before[1]), 'statistics update again');
  m.freeze();
  m.unfreeze();
  assert.strictEqual(m.bn.frozenStatistics, false, 'unfreeze() with no pattern unfreezes all statistics');
});

test('freezeTo() freezes the statistics of BatchNorm layers in the frozen groups, nested ones included', () => {
  tg.manualSeed(9);
  const m = new nn.Sequential({
    features: new nn.Sequential({ conv: new nn.Conv2d(2, 3, 3), bn: new nn.BatchNorm2d(3), act: new nn.ReLU() }),
    pool: new nn.AdaptiveAvgPool2d([1, 1]), flat: new nn.Flatten(),
    head: new nn.Sequential({ fc: new nn.Linear(3, 3), bn: new nn.BatchNorm1d(3, { affine: false }) }),
  });
  m.freezeTo(1);
  assert.strictEqual(m.features.bn.frozenStatistics, true);
  assert.strictEqual(m.head.bn.frozenStatistics, false);
  const before = stats(m.features.bn);
  const x = tg.randn([4, 2, 6, 6]);
  trainSteps(m, x, 2);
  assertStatsUnchanged(m.features.bn, before, 'features.bn');
  assert.strictEqual(m.head.bn.num_batches_tracked.item(), 2);
  m.freezeTo(0);
  assert.strictEqual(m.features.bn.frozenStatistics, false);
});

test('a frozen BatchNorm without running statistics (trackRunningStats: false) still normalises by the batch', () => {
  const m = net({ trackRunningStats: false });
  m.freeze();
  const h = tg.randn([8, 6]);
  const y = tg.noGrad(() => m.bn.forward(h));
  const ref = tg.noGrad(() => nn.functional.batchNorm(h, null, null, { weight: m.bn.weight, bias: m.bn.bias, training: true, eps: 1e-5 }));
  assert.ok(y.equal(ref));
});

test('frozen BatchNorm training matches PyTorch with bn.eval() on the frozen layers', { skip: !hasPyTorch() && 'no Python PyTorch' }, () => {
  const m = net();
  tg.manualSeed(21);
  const x = tg.randn([8, 4]);
  const inputs = stateDictToPy(m, 'sd_', { x });
  m.freeze(/^(hidden1|bn)\./);
  const opt = new tg.optim.SGD(m.trainableParameters(), { lr: 0.1, momentum: 0.9 });
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    tg.tidy(() => m.forward(x).pow(2).mean().backward());
    opt.step();
  }
  const out = runTorch(`
import torch.nn as nn
from collections import OrderedDict
torch.manual_seed(0)
m = nn.Sequential(OrderedDict(hidden1=nn.Linear(4, 6), bn=nn.BatchNorm1d(6), act=nn.ReLU(), outputs=nn.Linear(6, 3)))
m.load_state_dict({k[3:]: v for k, v in T.items() if k.startswith('sd_')})
for p in list(m.hidden1.parameters()) + list(m.bn.parameters()):
    p.requires_grad_(False)
m.train()
m.bn.eval()
opt = torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.1, momentum=0.9)
for _ in range(3):
    opt.zero_grad()
    m(T['x']).pow(2).mean().backward()
    opt.step()
for k, v in m.state_dict().items():
    OUT[k] = v
with torch.no_grad():
    OUT['y'] = m(T['x'])
`, inputs);
  for (const [k, t] of Object.entries(m.stateDict())) {
    if (k.startsWith('hidden1.') || k.startsWith('bn.')) assert.ok(t.equal(fromPy(out[k], t.dtype)), `${k}: not bitwise equal to PyTorch's`);
    else assertClose(assert, t, out[k], 1e-5, k);
  }
  assertClose(assert, tg.noGrad(() => m.forward(x)), out.y, 1e-5, 'output');
});
