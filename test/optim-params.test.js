'use strict';
// What an optimizer (and clipGradNorm_/clipGradValue_) accepts as parameters (lib/optim/params.ts): tensor lists,
// [name, tensor] pairs, Maps, records and parameter groups, how each names the parameters' state, and the TypeError
// for everything else, naming the entry at fault and what it was (mutation testing found these paths unchecked).
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

const param = () => tg.zeros([2], { requiresGrad: true });
const refuses = (fn, re) => assert.throws(fn, (e) => e instanceof TypeError && re.test(e.message), `TypeError matching ${re}`);
const names = (opt) => opt.paramGroups.map((g) => [...g.names]);

test('each form of parameter list names the state as given', () => {
  const [a, b] = [param(), param()];
  const forms = [
    [[a, b], [['0', '1']]],
    [[['w', a], ['b', b]], [['w', 'b']]],
    [new Map([['w', a], ['b', b]]), [['w', 'b']]],
    [{ w: a, b }, [['w', 'b']]],
    [{ params: [a, b], lr: 0.5 }, [['0', '1']]],
    [[{ params: [a] }, { params: { b }, lr: 0.5 }], [['0'], ['b']]],
  ];
  for (const [input, expected] of forms) {
    const opt = new tg.optim.SGD(input, { lr: 0.1 });
    assert.deepStrictEqual(names(opt), expected, JSON.stringify(expected));
    assert.strictEqual(opt.paramGroups.at(-1).params.length, expected.at(-1).length);
    opt.dispose();
  }
  // a single { params, ... } object is one group with its own options; a list of groups keeps each group's
  const one = new tg.optim.SGD({ params: [a], lr: 0.5 }, { lr: 0.1 });
  assert.strictEqual(one.paramGroups.length, 1);
  assert.strictEqual(one.paramGroups[0].lr, 0.5);
  const two = new tg.optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
  assert.deepStrictEqual(two.paramGroups.map((g) => g.lr), [0.1, 0.5]);
  // a Map's keys are names whatever their type
  const numbered = new tg.optim.SGD(new Map([[1, a], [2, b]]), { lr: 0.1 });
  assert.deepStrictEqual(names(numbered), [['1', '2']]);
  numbered.dispose();
  // a model's parameters() are named by the model
  const net = new tg.nn.Linear(2, 1);
  const fromModel = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  assert.deepStrictEqual(names(fromModel), [['weight', 'bias']]);
  [one, two, fromModel].forEach((o) => o.dispose());
});

test('unnamed tensors are numbered across groups, as PyTorch numbers its state', () => {
  const opt = new tg.optim.SGD([{ params: [param(), param()] }, { params: [param()] }], { lr: 0.1 });
  assert.deepStrictEqual(names(opt), [['0', '1'], ['2']]);
  opt.addParamGroup({ params: [param(), param()] });
  assert.deepStrictEqual(names(opt)[2], ['3', '4']);
  opt.dispose();
});

test('a parameter list that is not one is a TypeError saying what it was', () => {
  const t = param();
  refuses(() => new tg.optim.SGD(t, { lr: 0.1 }), /^SGD: params must be a list of tensors, \[name, tensor\] pairs or \{ name: tensor \}, not a single Tensor \(wrap it in an array\)$/);
  refuses(() => new tg.optim.SGD(null, { lr: 0.1 }), /^SGD: params must be a list of tensors, .* got null$/);
  refuses(() => new tg.optim.SGD(undefined, { lr: 0.1 }), /^SGD: params must be .* got a undefined$/);
  refuses(() => new tg.optim.SGD(3, { lr: 0.1 }), /^SGD: params must be .* got a number$/);
  refuses(() => new tg.optim.SGD(new (class Box {})(), { lr: 0.1 }), /^SGD: params must be .* got a plain object$/);
  refuses(() => new tg.optim.SGD([], { lr: 0.1 }), /^SGD: got an empty parameter list$/);
  // { params: Tensor } is a record naming one parameter 'params', not a group
  const rec = new tg.optim.Adam({ params: t }, {});
  assert.deepStrictEqual(names(rec), [['params']]);
  rec.dispose();
});

test("an entry that is not a usable tensor is named, with what it was", () => {
  const t = param();
  refuses(() => new tg.optim.SGD([t, null], { lr: 0.1 }), /^SGD: params\[1\] is not a Tensor \(got null\)$/);
  refuses(() => new tg.optim.SGD([t, 2], { lr: 0.1 }), /^SGD: params\[1\] is not a Tensor \(got a number\)$/);
  refuses(() => new tg.optim.SGD([t, { x: 1 }], { lr: 0.1 }), /^SGD: params\[1\] is not a Tensor \(got a plain object\)$/);
  refuses(() => new tg.optim.SGD([[t]], { lr: 0.1 }), /^SGD: params\[0\] is not a Tensor \(got an array\)$/);
  // only [string, tensor] pairs are pairs: three entries, or a number first, is an entry that is not a tensor
  refuses(() => new tg.optim.SGD([['w', t, 1]], { lr: 0.1 }), /^SGD: params\[0\] is not a Tensor \(got an array\)$/);
  refuses(() => new tg.optim.SGD([[0, t]], { lr: 0.1 }), /^SGD: params\[0\] is not a Tensor \(got an array\)$/);
  refuses(() => new tg.optim.SGD(['ab'], { lr: 0.1 }), /^SGD: params\[0\] is not a Tensor \(got a string\)$/);
  refuses(() => new tg.optim.SGD([['w', 'b']], { lr: 0.1 }), /^SGD: params 'w' is not a Tensor \(got a string\)$/);
  refuses(() => new tg.optim.SGD(new Map([['w', t], ['v', 1]]), { lr: 0.1 }), /^SGD: params 'v' is not a Tensor \(got a number\)$/);
  refuses(() => new tg.optim.SGD({ w: t, v: [t] }, { lr: 0.1 }), /^SGD: params 'v' is not a Tensor \(got an array\)$/);
  refuses(() => new tg.optim.SGD({ w: t, v: t }, { lr: 0.1 }), /two parameters|more than one parameter group/);

  const gone = param();
  gone.dispose();
  refuses(() => new tg.optim.SGD([t, gone], { lr: 0.1 }), /^SGD: params\[1\] is a disposed Tensor$/);
  const computed = t.mul(2);
  refuses(() => new tg.optim.SGD([computed], { lr: 0.1 }), /^SGD: params\[0\] is not a leaf tensor \(it was computed from others\)/);
  refuses(() => new tg.optim.SGD({ w: computed }, { lr: 0.1 }), /^SGD: params 'w' is not a leaf tensor/);
});

test('groups: every element of a list of groups must be a group, named by its index', () => {
  const [a, b] = [param(), param()];
  refuses(() => new tg.optim.SGD([{ params: [a] }, b], { lr: 0.1 }), /^SGD: param group 1 must be \{ params, \.\.\.options \} like the others, got a Tensor$/);
  refuses(() => new tg.optim.SGD([b, { params: [a] }], { lr: 0.1 }), /^SGD: param group 0 must be \{ params, \.\.\.options \} like the others, got a Tensor$/);
  refuses(() => new tg.optim.SGD([{ params: [a] }, { params: [null] }], { lr: 0.1 }), /^SGD: param group 1: params\[0\] is not a Tensor \(got null\)$/);
  refuses(() => new tg.optim.SGD([{ params: [a] }, { params: 5 }], { lr: 0.1 }), /^SGD: param group 1: params must be .* got a number$/);
  refuses(() => new tg.optim.SGD({ params: [a, 'x'] }, { lr: 0.1 }), /^SGD: params\[1\] is not a Tensor \(got a string\)$/);
});

test('clipGradNorm_ and clipGradValue_ take the same lists, non-leaf tensors included, and name themselves', () => {
  const w = tg.tensor([3, 4], { dtype: 'float32', requiresGrad: true });
  const h = w.mul(1);
  h.retainGrad();
  h.mul(tg.tensor([1, 1])).sum().backward();
  // w.grad = [1, 1], h.grad = [1, 1]: the total 2-norm is 2
  const total = tg.optim.clipGradNorm_([w, h], 1);
  assert.ok(Math.abs(total.item() - 2) < 1e-6, `total norm ${total.item()}`);
  assert.ok(Math.abs(h.grad.toArray()[0] - 0.5) < 1e-6, 'the non-leaf tensor was clipped too');
  tg.optim.clipGradValue_({ w, h }, 0.25);
  assert.deepStrictEqual(h.grad.toArray(), [0.25, 0.25]);
  refuses(() => tg.optim.clipGradNorm_([w, 7], 1), /^clipGradNorm_: params\[1\] is not a Tensor \(got a number\)$/);
  refuses(() => tg.optim.clipGradValue_('w', 1), /^clipGradValue_: params must be .* got a string$/);
  // a non-finite norm is returned, not thrown, unless asked
  const v = tg.tensor([1, 1], { dtype: 'float32', requiresGrad: true });
  v.mul(tg.tensor([Infinity, 1])).sum().backward();
  assert.strictEqual(tg.optim.clipGradNorm_([v], 1).item(), Infinity);
  assert.throws(() => tg.optim.clipGradNorm_([v], 1, 2, { errorIfNonfinite: true }), /non-finite|nonfinite|not finite/i);
});
