'use strict';
// Discriminative learning rates: one optimizer group per layer group, rates spread geometrically up to baseLr.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

function mlp() {
  tg.manualSeed(11);
  return new tg.nn.Sequential({
    hidden1: new tg.nn.Linear(4, 6), act1: new tg.nn.ELU(),
    hidden2: new tg.nn.Linear(6, 6), act2: new tg.nn.ELU(),
    hidden3: new tg.nn.Linear(6, 5), act3: new tg.nn.ELU(),
    outputs: new tg.nn.Linear(5, 2),
  });
}
const names = (g) => g.params.map(([n]) => n);

test('discriminativeLrs: group k of K gets baseLr / factor^(K-1-k); lrMult is the top-to-bottom ratio', () => {
  assert.deepStrictEqual(tg.transfer.discriminativeLrs(3, { baseLr: 1e-2, lrMult: 100 }), [1e-2 / Math.pow(10, 2), 1e-2 / 10, 1e-2]);
  const lrs = tg.transfer.discriminativeLrs(4, { baseLr: 0.1, factor: 2.6 });
  assert.deepStrictEqual(lrs, [0.1 / Math.pow(2.6, 3), 0.1 / Math.pow(2.6, 2), 0.1 / 2.6, 0.1]);
  const def = tg.transfer.discriminativeLrs(5, { baseLr: 1 });
  assert.ok(Math.abs(def[0] - 0.01) < 1e-15 && def[4] === 1);
  assert.deepStrictEqual(tg.transfer.discriminativeLrs(1, { baseLr: 3e-4, lrMult: 100 }), [3e-4]);
});

test('discriminativeGroups makes one group per top-level child with parameters, lowest first, highest at baseLr', () => {
  const groups = tg.transfer.discriminativeGroups(mlp(), { baseLr: 1e-3, factor: 10 });
  assert.deepStrictEqual(groups.map(names), [
    ['hidden1.weight', 'hidden1.bias'], ['hidden2.weight', 'hidden2.bias'], ['hidden3.weight', 'hidden3.bias'], ['outputs.weight', 'outputs.bias'],
  ]);
  assert.deepStrictEqual(groups.map((g) => g.lr), [1e-3 / 1000, 1e-3 / 100, 1e-3 / 10, 1e-3]);
  const opt = new tg.optim.Adam(groups);
  assert.deepStrictEqual(opt.paramGroups.map((g) => g.lr), groups.map((g) => g.lr));
  assert.deepStrictEqual(opt.paramGroups[3].names, ['outputs.weight', 'outputs.bias']);
  opt.dispose();
});

test('discriminativeGroups follows explicit groups, then model.layerGroups', () => {
  const m = mlp();
  const g = tg.transfer.discriminativeGroups(m, { groups: [['hidden1', 'hidden2'], m.get('hidden3'), /^outputs\./], baseLr: 0.1, lrMult: 4 });
  assert.deepStrictEqual(g.map(names), [
    ['hidden1.weight', 'hidden1.bias', 'hidden2.weight', 'hidden2.bias'], ['hidden3.weight', 'hidden3.bias'], ['outputs.weight', 'outputs.bias'],
  ]);
  assert.deepStrictEqual(g.map((x) => x.lr), [0.1 / 4, 0.1 / 2, 0.1]);
  m.layerGroups = ['hidden[12]', ['hidden3', 'outputs']];
  const d = tg.transfer.discriminativeGroups(m, { baseLr: 0.1, lrMult: 10 });
  assert.deepStrictEqual(d.map((x) => x.params.length), [4, 4]);
  assert.deepStrictEqual(d.map((x) => x.lr), [0.01, 0.1]);
});

test('frozen parameters are included by default (the optimizer skips them until unfrozen) or excluded on request', () => {
  const m = mlp();
  m.get('hidden1').requiresGrad_(false);
  m.get('hidden2').weight.requiresGrad = false;
  const inc = tg.transfer.discriminativeGroups(m, { baseLr: 0.1, factor: 2 });
  assert.strictEqual(inc.length, 4);
  const exc = tg.transfer.discriminativeGroups(m, { baseLr: 0.1, factor: 2, frozen: 'exclude' });
  assert.deepStrictEqual(exc.map(names), [['hidden2.bias'], ['hidden3.weight', 'hidden3.bias'], ['outputs.weight', 'outputs.bias']]);
  // Rates stay those of the groups' positions among all four.
  assert.deepStrictEqual(exc.map((g) => g.lr), [0.1 / 4, 0.1 / 2, 0.1]);

  // Included but frozen: bitwise still through steps with momentum and weight decay; trains once unfrozen.
  const opt = new tg.optim.SGD(inc, { momentum: 0.9, weightDecay: 0.1 });
  const before = m.get('hidden1').weight.clone();
  const step = () => {
    opt.zeroGrad();
    tg.tidy(() => m.forward(tg.randn([8, 4])).square().mean().backward());
    opt.step();
  };
  step();
  step();
  assert.ok(m.get('hidden1').weight.equal(before));
  m.get('hidden1').requiresGrad_(true);
  step();
  assert.ok(!m.get('hidden1').weight.equal(before));
  opt.dispose();
});

test('discriminativeGroups rejects bad rates, overlapping or incomplete groups, and foreign modules', () => {
  const m = mlp();
  assert.throws(() => tg.transfer.discriminativeGroups(m, { baseLr: 0 }), /baseLr must be a positive number/);
  assert.throws(() => tg.transfer.discriminativeGroups(m, { baseLr: 0.1, lrMult: 10, factor: 2 }), /lrMult or factor, not both/);
  assert.throws(() => tg.transfer.discriminativeGroups(m, { baseLr: 0.1, factor: -2 }), /factor must be a positive number/);
  assert.throws(() => tg.transfer.discriminativeGroups(m, { baseLr: 0.1, groups: ['hidden*', 'hidden3'] }), /'hidden3.weight' is in layer groups 0 and 1/);
  assert.throws(() => tg.transfer.discriminativeGroups(m, { baseLr: 0.1, groups: ['hidden1', 'outputs'] }), /in no layer group \(4\): hidden2.weight, hidden2.bias, hidden3.weight, hidden3.bias/);
  assert.throws(() => tg.transfer.discriminativeGroups(m, { baseLr: 0.1, groups: [new tg.nn.Linear(2, 2)] }), /not part of the model/);
  assert.throws(() => tg.transfer.discriminativeGroups(m, { baseLr: 0.1, groups: ['act1', 'hidden*', 'outputs'] }), /layer group 0 \(act1\) has no parameters/);
  assert.throws(() => tg.transfer.discriminativeGroups(m, { baseLr: 0.1, groups: [] }), /non-empty array/);
  assert.throws(() => tg.transfer.discriminativeGroups(m, { baseLr: 0.1, frozen: 'skip' }), /'include' or 'exclude'/);
});
