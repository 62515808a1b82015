'use strict';
// reuse's and the fine-tuning recipes' edges (lib/transfer/reuse.ts, recipes/head.ts, recipes/optimizer.ts): every
// refusal with its code and message, which layer 'last' picks, what a recipe's optimizer is made with and when the
// recipe disposes it (mutation testing found these paths unchecked).
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { makeOptimizer, release } = require('../dist/transfer/recipes/optimizer');

function mlp() {
  tg.manualSeed(4);
  return new tg.nn.Sequential({ hidden1: new tg.nn.Linear(4, 6), act1: new tg.nn.ReLU(), hidden2: new tg.nn.Linear(6, 6), act2: new tg.nn.ReLU() });
}
const data = () => {
  tg.manualSeed(5);
  return [tg.randn([16, 4]), tg.randint(0, 3, [16])];
};
const refuses = (fn, Type, re) => assert.throws(fn, (e) => e instanceof Type && re.test(e.message), `${Type.name} matching ${re}`);
const rejects = (p, code, re) => assert.rejects(p, (e) => e.code === code && re.test(e.message), `${code} matching ${re}`);
const snapshot = (m) => Object.fromEntries(m.namedParameters().map(([n, p]) => [n, p.toArray()]));
const changed = (m, before) => Object.keys(before).filter((n) => JSON.stringify(m.getParameter(n).toArray()) !== JSON.stringify(before[n]));

test('reuse refuses bad options and heads with messages that say what was given', () => {
  const pre = mlp();
  refuses(() => tg.transfer.reuse(pre, null), TypeError, /^reuse: options must be an object$/);
  refuses(() => tg.transfer.reuse(pre, 3), TypeError, /^reuse: options must be an object$/);
  refuses(() => tg.transfer.reuse(pre, { head: [new tg.nn.ReLU(), 'x'] }), TypeError, /^reuse: head\[1\] must be a tg.nn.Module, got 'x'$/);
  for (const [head, got] of [[null, 'null'], [5, 'a number \\(5\\)'], [new Map([['out', new tg.nn.ReLU()]]), 'an object \\(Map\\)']]) {
    refuses(() => tg.transfer.reuse(pre, { head }), TypeError, new RegExp(`^reuse: head must be a module, an array of modules or an object of named modules, got ${got}$`));
  }
  refuses(() => tg.transfer.reuse(pre, { upTo: 'nope' }), Error, /^reuse\(\{ upTo: "nope" \}\): no top-level layer 'nope'/);
  refuses(() => tg.transfer.reuse(new tg.nn.ReLU()), TypeError, /^reuse: ReLU has no child layers to cut$/);
  assert.throws(() => tg.transfer.reuse(pre, { upTo: 'act1', head: { hidden1: new tg.nn.Linear(6, 2) } }), (e) => e.code === 'ERR_MODULE_EDIT' && e.message === "reuse: head layer 'hidden1' has the name of a reused layer; reused: hidden1, act1");
});

test('reuse: freeze false freezes nothing; no upTo keeps every layer; reusedHead hands out a copy', () => {
  const pre = mlp();
  const m = tg.transfer.reuse(pre, { freeze: false, head: { out: new tg.nn.Linear(6, 3) } });
  assert.ok(m.parameters().every((p) => p.requiresGrad), 'nothing frozen');
  assert.deepStrictEqual(m.namedChildren().map(([n]) => n), ['hidden1', 'act1', 'hidden2', 'act2', 'out']);
  const head = tg.transfer.reusedHead(m);
  assert.deepStrictEqual(head, ['out']);
  head.push('hidden1');
  assert.deepStrictEqual(tg.transfer.reusedHead(m), ['out'], 'the record is not the caller’s array');
  assert.strictEqual(tg.transfer.reusedHead(pre), undefined, 'reuse did not build pre');
});

test('reuse carries a collection only when every one of its paths survives the cut', () => {
  const pre = mlp();
  pre.collections.set('both', ['hidden1', 'hidden2']).set('low', ['hidden1']);
  const m = tg.transfer.reuse(pre, { upTo: 'act1' });
  assert.deepStrictEqual(m.collections.names(), ['low']);
});

test("fineTune's head: 'last' is the last child with parameters (not a trailing activation, not a name it prefixes)", async () => {
  // fc1 comes before fc: 'fc' must not take fc1's parameters as its own
  tg.manualSeed(6);
  const m = new tg.nn.Sequential({ fc1: new tg.nn.Linear(4, 6), act: new tg.nn.ReLU(), fc: new tg.nn.Linear(6, 3), out: new tg.nn.ReLU() });
  const before = snapshot(m);
  await tg.transfer.fineTune(m, data(), { loss: 'crossEntropy', freezeEpochs: 1, epochs: 0, verbose: 0 });
  assert.deepStrictEqual(changed(m, before), ['fc.weight', 'fc.bias']);

  // a model reuse built without a head: 'last' too
  const r = tg.transfer.reuse(mlp(), { upTo: 'act2' });
  const start = snapshot(r);
  await tg.transfer.fineTune(r, [tg.randn([16, 4]), tg.randn([16, 6])], { loss: 'mse', freezeEpochs: 1, epochs: 0, verbose: 0 });
  assert.deepStrictEqual(changed(r, start), ['hidden2.weight', 'hidden2.bias']);
});

test("fineTune's head refusals carry their codes, before anything is frozen", async () => {
  const [x, y] = data();
  const m = tg.transfer.reuse(mlp(), { head: { out: new tg.nn.Linear(6, 3) } });
  await rejects(tg.transfer.fineTune(m, [x, y], { loss: 'crossEntropy', head: /^nothing/ }), 'ERR_PATTERN_NO_MATCH', /^fineTune: the head pattern selects no parameter; parameters: hidden1.weight, hidden1.bias, hidden2.weight, hidden2.bias, out.weight, out.bias$/);
  await rejects(tg.transfer.fineTune(m, [x, y], { loss: 'crossEntropy', head: /./ }), 'ERR_LAYER_GROUPS', /^fineTune: the head pattern selects every parameter, so there is no pretrained base to freeze$/);
  const bare = new tg.nn.Sequential({ a: new tg.nn.ReLU(), b: new tg.nn.Tanh() });
  await rejects(tg.transfer.fineTune(bare, [x, y], { loss: 'crossEntropy' }), 'ERR_LAYER_GROUPS', /^fineTune: the model has no child layer with parameters to train as its head$/);
  assert.ok(m.parameters().every((p) => p.requiresGrad));
});

test("recipes' optimizers: Adam by default, SGD with momentum 0.9 unless told, the options applied; a factory's is the caller's", () => {
  const w = tg.zeros([2], { requiresGrad: true });
  const groups = [{ params: [['w', w]], lr: 0.1 }];
  for (const spec of [undefined, 'adam']) {
    const o = makeOptimizer(spec, groups, 1, { weightDecay: 0.25 }, 'fineTune');
    assert.ok(o.optimizer instanceof tg.optim.Adam);
    assert.strictEqual(o.owned, true);
    assert.strictEqual(o.optimizer.paramGroups[0].weightDecay, 0.25);
    assert.strictEqual(o.optimizer.paramGroups[0].lr, 0.1);
    release(o);
    assert.throws(() => o.optimizer.step(), { code: 'ERR_OPTIMIZER_DISPOSED' }, 'the recipe disposes what it made');
  }
  const sgd = makeOptimizer('sgd', groups, 1, undefined, 'fineTune');
  assert.ok(sgd.optimizer instanceof tg.optim.SGD);
  assert.strictEqual(sgd.optimizer.paramGroups[0].momentum, 0.9);
  release(sgd);
  const slow = makeOptimizer('sgd', groups, 1, { momentum: 0.5, nesterov: true }, 'fineTune');
  assert.strictEqual(slow.optimizer.paramGroups[0].momentum, 0.5);
  release(slow);

  const mine = new tg.optim.SGD([w], { lr: 0.1 });
  const seen = [];
  const made = makeOptimizer((g, phase) => (seen.push([g, phase]), mine), groups, 2, undefined, 'fineTune');
  assert.strictEqual(made.optimizer, mine);
  assert.strictEqual(made.owned, false);
  assert.deepStrictEqual(seen, [[groups, 2]]);
  release(made);
  mine.step(); // not disposed: the caller's
  release({ optimizer: { step() {}, zeroGrad() {} }, owned: true }); // an owned optimizer without dispose()
  mine.dispose();

  for (const bad of [undefined, null, {}, { step() {} }, { zeroGrad() {} }, { step: 1, zeroGrad() {} }]) {
    refuses(() => makeOptimizer(() => bad, groups, 1, undefined, 'progressiveUnfreeze'), TypeError, /^progressiveUnfreeze: the optimizer factory must return an optimizer \(with step and zeroGrad\)$/);
  }
  refuses(() => makeOptimizer('lbfgs', groups, 1, undefined, 'fineTune'), TypeError, /^fineTune: optimizer must be 'adam', 'sgd' or a function \(groups, phase\) => optimizer, got lbfgs$/);
});
