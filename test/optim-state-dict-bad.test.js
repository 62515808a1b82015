'use strict';
// optimizer.loadStateDict refuses a malformed state dict with one ERR_OPTIMIZER_STATE error listing every problem,
// before it changes anything (lib/optim/state-dict.ts; mutation testing found these checks unexercised).
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

/** An SGD with momentum over named parameters a, b (group 0) and c (group 1), stepped once so it has state. */
const make = () => {
  const p = (n) => tg.ones([n], { requiresGrad: true });
  const opt = new tg.optim.SGD([{ params: [['a', p(2)], ['b', p(3)]] }, { params: [['c', p(2)]], lr: 0.2 }], { lr: 0.1, momentum: 0.9 });
  for (const g of opt.paramGroups) for (const t of g.params) t.sum().backward();
  opt.step();
  return opt;
};
/** The problem lines of the refusal (asserting it is the coded TorchError). */
const problems = (opt, sd) => {
  let err;
  assert.throws(() => opt.loadStateDict(sd), (e) => ((err = e), e instanceof tg.TorchError && e.code === 'ERR_OPTIMIZER_STATE'));
  assert.match(err.message, /^(SGD|Adam)\.loadStateDict: the state dict does not fit this optimizer:\n {2}- /);
  return err.message.split('\n  - ').slice(1);
};

test('not a state dict at all', () => {
  const opt = make();
  for (const bad of [undefined, null, 3, {}, { state: null }, { state: 'x' }]) assert.deepStrictEqual(problems(opt, bad), ['expected { state, paramGroups } as stateDict() returns']);
});

test("a parameter's state: not an object, a missing, unknown, non-tensor or disposed entry, a step that is not a number", () => {
  const opt = make();
  const buf = () => tg.zeros([2]);
  const disposed = tg.zeros([2]);
  disposed.dispose();
  assert.deepStrictEqual(problems(opt, { state: { a: null, b: 5, c: { momentum_buffer: 'x' } } }), [
    "'a': state must be an object of tensors",
    "'b': state must be an object of tensors",
    "'c': state entry 'momentum_buffer' is not a Tensor",
  ]);
  assert.deepStrictEqual(problems(opt, { state: { a: {}, c: { momentum_buffer: disposed } } }), [
    "'a': state entry 'momentum_buffer' is missing",
    "'c': state entry 'momentum_buffer' is a disposed Tensor",
  ]);
  assert.deepStrictEqual(problems(opt, { state: { a: { momentum_buffer: buf(), extra: buf() } } }), [
    "'a': unknown state entry 'extra' (this optimizer keeps momentum_buffer)",
  ]);
  const adam = new tg.optim.Adam([['w', tg.ones([2], { requiresGrad: true })]]);
  const entry = (step) => ({ state: { w: { step, exp_avg: tg.zeros([2]), exp_avg_sq: tg.zeros([2]) } } });
  assert.deepStrictEqual(problems(adam, entry('1')), ["'w': state entry 'step' must be a number"]);
  assert.deepStrictEqual(problems(adam, { state: { w: { ...entry(1).state.w, extra: 1 } } }), ["'w': unknown state entry 'extra' (this optimizer keeps step, exp_avg, exp_avg_sq, max_exp_avg_sq)"]);
  assert.deepStrictEqual(problems(adam, entry(tg.zeros([2]))), ["'w': state entry 'step' must be a number"]);
  assert.doesNotThrow(() => adam.loadStateDict(entry(tg.tensor([3]))), 'a one-element tensor step is fine');
  assert.doesNotThrow(() => adam.loadStateDict(entry(3)));
});

test('unknown parameter names are listed with the optimizer\'s, cut after eight', () => {
  const many = new tg.optim.SGD(Array.from({ length: 10 }, (_, i) => [`p${i}`, tg.ones([1], { requiresGrad: true })]), { lr: 0.1 });
  assert.deepStrictEqual(problems(many, { state: { q: {} } }), ["parameter 'q' is not in this optimizer (its parameters: p0, p1, p2, p3, p4, p5, p6, p7, … (10 in all))"]);
  const eight = new tg.optim.SGD(Array.from({ length: 8 }, (_, i) => [`p${i}`, tg.ones([1], { requiresGrad: true })]), { lr: 0.1 });
  assert.deepStrictEqual(problems(eight, { state: { q: {} } }), ["parameter 'q' is not in this optimizer (its parameters: p0, p1, p2, p3, p4, p5, p6, p7)"]);
  const opt = make();
  assert.deepStrictEqual(problems(opt, { state: { q: {} } }), ["parameter 'q' is not in this optimizer (its parameters: a, b, c)"]);
});

test('paramGroups: not an array, a group that is not { params }, of another size, names elsewhere, unknown or bad options', () => {
  const opt = make();
  const sd = opt.stateDict();
  const groups = (paramGroups) => problems(opt, { state: sd.state, paramGroups });
  assert.deepStrictEqual(groups({}), ['paramGroups must be an array']);
  assert.deepStrictEqual(groups([sd.paramGroups[0]]), ['the state dict has 1 parameter groups, this optimizer has 2']);
  assert.deepStrictEqual(groups([undefined, 'c']), ['paramGroups[0] must be { params: string[], ...options }', 'paramGroups[1] must be { params: string[], ...options }']);
  assert.deepStrictEqual(groups([null, { params: 'c' }]), ['paramGroups[0] must be { params: string[], ...options }', 'paramGroups[1] must be { params: string[], ...options }']);
  assert.deepStrictEqual(groups([{ params: ['a'] }, { params: ['c'] }]), ["paramGroups[0] has 1 parameters, this optimizer's group 0 has 2"]);
  assert.deepStrictEqual(groups([{ params: ['a', 'c'] }, { params: ['z'] }]), [
    "paramGroups[0]: parameter 'c' is in group 1 of this optimizer",
    "paramGroups[1]: parameter 'z' is not in this optimizer",
  ]);
  assert.deepStrictEqual(groups([{ params: ['a', 'b'], lr: -1, speed: 2, initialLr: 0.5 }, { params: ['c'] }]), [
    'paramGroups[0].lr: invalid value -1 (expected >= 0)',
    "paramGroups[0]: unknown option 'speed'",
  ]);
  assert.doesNotThrow(() => opt.loadStateDict({ state: sd.state }), 'paramGroups may be left out');
});

test('a refused state dict changes nothing', () => {
  const opt = make();
  const before = opt.stateDict();
  const bad = opt.stateDict();
  bad.paramGroups[1].lr = 0.7;
  bad.state.a.extra = tg.zeros([2]);
  problems(opt, bad);
  assert.strictEqual(opt.paramGroups[1].lr, 0.2);
  const after = opt.stateDict();
  for (const k of ['a', 'b', 'c']) assert.deepStrictEqual(Array.from(after.state[k].momentum_buffer.dataSync()), Array.from(before.state[k].momentum_buffer.dataSync()));
});
