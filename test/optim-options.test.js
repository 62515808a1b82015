'use strict';
// Optimizer option checks at their boundaries (lib/optim/options.ts): what each kind of option accepts, what it refuses
// and with which error, how defaults and group options combine (mutation testing found these paths unchecked).
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

const param = () => tg.zeros([2], { requiresGrad: true });
const refuses = (fn, Type, re) => assert.throws(fn, (e) => e instanceof Type && re.test(e.message), `${Type.name} matching ${re}`);

test('numbers: non-finite values and other types are TypeErrors that name what was given', () => {
  refuses(() => new tg.optim.SGD([param()], { lr: NaN }), TypeError, /SGD: lr: expected a finite number, got NaN$/);
  refuses(() => new tg.optim.SGD([param()], { lr: Infinity }), TypeError, /lr: expected a finite number, got Infinity$/);
  refuses(() => new tg.optim.SGD([param()], { lr: '0.1' }), TypeError, /lr: expected a finite number, got string$/);
  refuses(() => new tg.optim.SGD([param()], { lr: 0.1, dampening: null }), TypeError, /dampening: expected a finite number, got object$/);
  refuses(() => new tg.optim.SGD([param()], { lr: 0.1, dampening: -Infinity }), TypeError, /dampening: expected a finite number, got -Infinity$/);
});

test('non-negative options take 0 and refuse anything below it with a RangeError', () => {
  const opt = new tg.optim.SGD([param()], { lr: 0, momentum: 0, weightDecay: 0 });
  assert.strictEqual(opt.paramGroups[0].lr, 0);
  refuses(() => new tg.optim.SGD([param()], { lr: -1e-12 }), RangeError, /SGD: lr: invalid value -1e-12 \(expected >= 0\)$/);
  refuses(() => new tg.optim.SGD([param()], { lr: 0.1, weightDecay: -0.5 }), RangeError, /weightDecay: invalid value -0.5/);
  refuses(() => (opt.paramGroups[0].momentum = -0.1), RangeError, /paramGroups\[0\]: momentum: invalid value -0.1/);
  opt.dispose();
});

test('finite options (SGD dampening) take negative values', () => {
  const opt = new tg.optim.SGD([param()], { lr: 0.1, momentum: 0.9, dampening: -0.5 });
  assert.strictEqual(opt.paramGroups[0].dampening, -0.5);
  opt.dispose();
});

test('flags take booleans only', () => {
  refuses(() => new tg.optim.SGD([param()], { lr: 0.1, momentum: 0.9, nesterov: 1 }), TypeError, /SGD: nesterov: expected a boolean, got number$/);
  refuses(() => new tg.optim.Adam([param()], { amsgrad: 'yes' }), TypeError, /amsgrad: expected a boolean, got string$/);
  refuses(() => new tg.optim.RMSprop([param()], { centered: null }), TypeError, /centered: expected a boolean, got object$/);
  const opt = new tg.optim.Adam([param()], { amsgrad: false });
  refuses(() => (opt.paramGroups[0].amsgrad = 0), TypeError, /amsgrad: expected a boolean/);
  opt.paramGroups[0].amsgrad = true;
  assert.strictEqual(opt.paramGroups[0].amsgrad, true);
  opt.dispose();
});

test('betas: two numbers in [0, 1)', () => {
  const ok = new tg.optim.Adam([param()], { betas: [0, 0] });
  assert.deepStrictEqual([...ok.paramGroups[0].betas], [0, 0]);
  ok.dispose();
  refuses(() => new tg.optim.Adam([param()], { betas: [0.9, 1] }), RangeError, /betas\[1\]: invalid beta 1 \(expected 0 <= beta < 1\)$/);
  refuses(() => new tg.optim.Adam([param()], { betas: [1, 0.999] }), RangeError, /betas\[0\]: invalid beta 1 /);
  refuses(() => new tg.optim.Adam([param()], { betas: [-1e-9, 0.999] }), RangeError, /betas\[0\]: invalid beta -1e-9/);
  refuses(() => new tg.optim.Adam([param()], { betas: [NaN, 0.999] }), TypeError, /betas\[0\]: expected a finite number, got NaN$/);
  refuses(() => new tg.optim.Adam([param()], { betas: [0.9, '0.99'] }), TypeError, /betas\[1\]: expected a finite number, got string$/);
  refuses(() => new tg.optim.Adam([param()], { betas: [0.9] }), TypeError, /Adam: betas: expected \[beta1, beta2\]$/);
  refuses(() => new tg.optim.Adam([param()], { betas: [0.9, 0.99, 0.999] }), TypeError, /betas: expected \[beta1, beta2\]/);
  refuses(() => new tg.optim.Adam([param()], { betas: { 0: 0.9, 1: 0.99, length: 2 } }), TypeError, /betas: expected \[beta1, beta2\]/);
});

test('option arrays are copied in: changing the caller\'s array later changes nothing', () => {
  const given = [0.8, 0.9];
  const opt = new tg.optim.Adam([{ params: [param()], betas: given }, { params: [param()] }], { lr: 0.01 });
  given[0] = 0.1;
  assert.deepStrictEqual([...opt.paramGroups[0].betas], [0.8, 0.9]);
  assert.deepStrictEqual([...opt.paramGroups[1].betas], [0.9, 0.999], 'the default betas');
  const defaults = [0.7, 0.95];
  const opt2 = new tg.optim.Adam([{ params: [param()] }], { betas: defaults });
  defaults[1] = 0.5;
  assert.deepStrictEqual([...opt2.paramGroups[0].betas], [0.7, 0.95]);
  assert.deepStrictEqual([...opt2.defaults.betas], [0.7, 0.95]);
  opt.dispose();
  opt2.dispose();
});

test('unknown options are named with the list of known ones; a required option may come from the groups alone', () => {
  refuses(() => new tg.optim.SGD([param()], { lr: 0.1, weight_decay: 0 }), TypeError, /^SGD: unknown option 'weight_decay' \(options: lr, momentum, dampening, weightDecay, nesterov\)$/);
  refuses(() => new tg.optim.SGD([{ params: [param()], lr: 0.1, mom: 0.9 }]), TypeError, /param group 0: unknown option 'mom'/);
  refuses(() => new tg.optim.SGD([{ params: [param()], lr: 0.1 }, { params: [param()] }]), TypeError, /^SGD: param group 1: option 'lr' is required \(set it for the optimizer or for this group\)$/);
  const opt = new tg.optim.SGD([{ params: [param()], lr: 0.1 }, { params: [param()], lr: 0.2, momentum: 0.5 }]);
  assert.deepStrictEqual(opt.paramGroups.map((g) => [g.lr, g.momentum]), [[0.1, 0], [0.2, 0.5]]);
  assert.strictEqual(opt.defaults.lr, undefined, 'no lr in the defaults');
  assert.deepStrictEqual(opt.defaults.momentum, 0);
  opt.dispose();
});

test('a group option given as undefined falls back to the optimizer\'s, then to the default', () => {
  const opt = new tg.optim.SGD([{ params: [param()], lr: undefined, momentum: undefined }], { lr: 0.3, momentum: 0.7 });
  assert.strictEqual(opt.paramGroups[0].lr, 0.3);
  assert.strictEqual(opt.paramGroups[0].momentum, 0.7);
  const opt2 = new tg.optim.SGD([{ params: [param()], weightDecay: undefined }], { lr: 0.3 });
  assert.strictEqual(opt2.paramGroups[0].weightDecay, 0);
  opt.dispose();
  opt2.dispose();
});
