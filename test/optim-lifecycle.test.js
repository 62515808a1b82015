'use strict';
// An optimizer's life outside the arithmetic (lib/optim/optimizer.ts, param-group.ts and the kinds' definitions):
// disposal, what paramGroups expose, what stateDict saves and loadStateDict restores besides the state tensors, the
// errors that name the optimizer and the parameter at fault (mutation testing found these paths unchecked).
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

const param = () => tg.zeros([2], { requiresGrad: true });
const refuses = (fn, Type, re) => assert.throws(fn, (e) => e instanceof Type && re.test(e.message), `${Type.name} matching ${re}`);

test('dispose is idempotent, Symbol.dispose disposes, and every use after it is ERR_OPTIMIZER_DISPOSED naming the kind', () => {
  const opt = new tg.optim.RMSprop([param()], {});
  opt.dispose();
  opt.dispose();
  const gone = (e) => e.code === 'ERR_OPTIMIZER_DISPOSED' && e.message === 'RMSprop: used after dispose()';
  assert.throws(() => opt.step(), gone);
  assert.throws(() => opt.zeroGrad(), gone);
  assert.throws(() => opt.stateDict(), gone);
  assert.throws(() => opt.loadStateDict({ state: {}, paramGroups: [] }), gone);
  assert.throws(() => opt.addParamGroup({ params: [param()] }), gone);
  assert.throws(() => (opt.paramGroups[0].lr = 0.5), gone);

  const other = new tg.optim.Adagrad([param()], {});
  assert.strictEqual(typeof Symbol.dispose, 'symbol');
  other[Symbol.dispose]();
  assert.throws(() => other.step(), (e) => e.code === 'ERR_OPTIMIZER_DISPOSED' && /^Adagrad: used after dispose/.test(e.message));
});

test('each kind names itself in its errors', () => {
  for (const [Kind, name] of [[tg.optim.SGD, 'SGD'], [tg.optim.Adam, 'Adam'], [tg.optim.AdamW, 'AdamW'], [tg.optim.Adagrad, 'Adagrad'], [tg.optim.RMSprop, 'RMSprop']]) {
    refuses(() => new Kind([param()], { lr: -1 }), RangeError, new RegExp(`^${name}: lr: invalid value -1`));
    refuses(() => new Kind([], { lr: 0.1 }), TypeError, new RegExp(`^${name}: got an empty parameter list$`));
  }
});

test('SGD: Nesterov momentum needs a momentum > 0 and no dampening', () => {
  refuses(() => new tg.optim.SGD([param()], { lr: 0.1, nesterov: true }), RangeError, /^SGD: param group 0: Nesterov momentum requires a momentum > 0 and zero dampening \(momentum 0, dampening 0\)$/);
  refuses(() => new tg.optim.SGD([param()], { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 }), RangeError, /dampening 0.1\)$/);
  refuses(() => new tg.optim.SGD([{ params: [param()], nesterov: true }], { lr: 0.1 }), RangeError, /^SGD: param group 0: Nesterov.*\(momentum 0, dampening 0\)$/);
  new tg.optim.SGD([param()], { lr: 0.1, nesterov: true, momentum: 0.9 }).dispose();
});

test('a parameter in two groups is named: by its name, or by its position', () => {
  const [a, b] = [param(), param()];
  refuses(() => new tg.optim.SGD([{ params: { w: a } }, { params: { v: a } }], { lr: 0.1 }), TypeError, /^SGD: param group 1: parameter 'v' appears in more than one parameter group$/);
  refuses(() => new tg.optim.SGD([{ params: [a] }, { params: [b, a] }], { lr: 0.1 }), TypeError, /^SGD: param group 1: params\[1\] appears in more than one parameter group$/);
  const opt = new tg.optim.SGD([a], { lr: 0.1 });
  refuses(() => opt.addParamGroup({ params: [b, a] }), TypeError, /^SGD.addParamGroup: params\[1\] appears in more than one parameter group$/);
  opt.dispose();
});

test('paramGroups: params, names and every option are enumerable; arrays are copied in and handed out frozen', () => {
  const opt = new tg.optim.Adam({ w: param() }, { lr: 0.01 });
  const g = opt.paramGroups[0];
  assert.deepStrictEqual(Object.keys(g), ['params', 'names', 'lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'initialLr']);
  assert.deepStrictEqual({ ...g, params: g.params.length }, { params: 1, names: ['w'], lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, initialLr: undefined });
  const betas = [0.8, 0.95];
  g.betas = betas;
  betas[0] = 0.1;
  assert.deepStrictEqual(g.betas, [0.8, 0.95], 'the group kept its own copy');
  assert.ok(Object.isFrozen(g.betas));
  assert.deepStrictEqual(opt.stateDict().paramGroups[0].betas, [0.8, 0.95]);
  opt.dispose();
});

test('stateDict saves state only for parameters that have some, and initialLr only once a scheduler set it', () => {
  const [a, b] = [param(), param()];
  const opt = new tg.optim.Adam({ a, b }, { lr: 0.1 });
  const fresh = opt.stateDict();
  assert.deepStrictEqual(Object.keys(fresh.state), [], 'no state before the first step');
  assert.strictEqual('initialLr' in fresh.paramGroups[0], false);
  a.sum().backward();
  opt.step();
  assert.deepStrictEqual(Object.keys(opt.stateDict().state), ['a'], 'b had no gradient: no state');

  const sched = new tg.optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
  sched.step();
  const saved = opt.stateDict();
  assert.strictEqual(saved.paramGroups[0].initialLr, 0.1);
  assert.strictEqual(saved.paramGroups[0].lr, 0.05);

  const [c, d] = [param(), param()];
  const other = new tg.optim.Adam({ a: c, b: d }, { lr: 0.1 });
  other.loadStateDict(saved);
  assert.strictEqual(other.paramGroups[0].initialLr, 0.1, 'initialLr restored');
  assert.strictEqual(other.paramGroups[0].lr, 0.05, 'lr restored');
  tg.dispose(Object.values(saved.state).flatMap((s) => Object.values(s)).filter((t) => t && typeof t.dispose === 'function'));
  [opt, other].forEach((o) => o.dispose());
});
