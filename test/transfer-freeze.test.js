'use strict';
// freeze() / unfreeze() / freezeTo() / layerGroups, trainable-parameter listings, StopGradient, and their errors.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { nn } = tg;

// The design's MLP: hidden1..hidden3 with ELU activations and an output layer.
function mlp() {
  tg.manualSeed(1);
  return new nn.Sequential({
    hidden1: new nn.Linear(4, 6), act1: new nn.ELU(),
    hidden2: new nn.Linear(6, 5), act2: new nn.ELU(),
    hidden3: new nn.Linear(5, 4), act3: new nn.ELU(),
    outputs: new nn.Linear(4, 3),
  });
}
const frozenNames = (net) => net.namedFrozenParameters().map(([n]) => n);
const trainableNames = (net) => net.namedTrainableParameters().map(([n]) => n);

test('freeze(glob) freezes exactly the parameters the glob selects; unfreeze(glob) undoes it', () => {
  const net = mlp();
  assert.strictEqual(net.freeze('hidden[12].*'), net, 'chains');
  assert.deepStrictEqual(frozenNames(net), ['hidden1.weight', 'hidden1.bias', 'hidden2.weight', 'hidden2.bias']);
  assert.deepStrictEqual(trainableNames(net), ['hidden3.weight', 'hidden3.bias', 'outputs.weight', 'outputs.bias']);
  assert.ok(net.hidden1.weight.requiresGrad === false && net.hidden3.weight.requiresGrad === true);
  assert.strictEqual(net.unfreeze('hidden2.*'), net);
  assert.deepStrictEqual(frozenNames(net), ['hidden1.weight', 'hidden1.bias']);
  assert.deepStrictEqual(net.frozenParameters(), [net.hidden1.weight, net.hidden1.bias]);
  assert.deepStrictEqual(net.trainableParameters().length, 6);
});

test('freeze() takes a RegExp on dotted names, a list of module names, or a predicate; no pattern means everything', () => {
  const net = mlp();
  net.freeze(/^hidden[12]\./);
  assert.deepStrictEqual(frozenNames(net), ['hidden1.weight', 'hidden1.bias', 'hidden2.weight', 'hidden2.bias']);
  net.unfreeze();
  assert.deepStrictEqual(frozenNames(net), []);
  net.freeze(['hidden1', 'outputs']);
  assert.deepStrictEqual(frozenNames(net), ['hidden1.weight', 'hidden1.bias', 'outputs.weight', 'outputs.bias']);
  net.unfreeze();
  net.freeze((name) => name.endsWith('.bias'));
  assert.deepStrictEqual(frozenNames(net), ['hidden1.bias', 'hidden2.bias', 'hidden3.bias', 'outputs.bias']);
  net.freeze();
  assert.deepStrictEqual(trainableNames(net), []);
  assert.strictEqual(net.numParameters({ trainableOnly: true }), 0);
});

test('isFrozen() answers for a parameter, a module and the whole model', () => {
  const net = mlp();
  assert.strictEqual(net.isFrozen(), false);
  net.freeze('hidden1.weight');
  assert.strictEqual(net.isFrozen('hidden1.weight'), true);
  assert.strictEqual(net.isFrozen('hidden1.bias'), false);
  assert.strictEqual(net.isFrozen('hidden1'), false, 'a module is frozen when all its parameters are');
  net.freeze('hidden1');
  assert.strictEqual(net.isFrozen('hidden1'), true);
  assert.strictEqual(net.isFrozen('act1'), false, 'a module without parameters or statistics is never frozen');
  net.freeze();
  assert.strictEqual(net.isFrozen(), true);
  assert.throws(() => net.isFrozen('hidden9'), /isFrozen\('hidden9'\): no parameter or module of that name .*its children: hidden1, act1/);
});

test('a module shared under two names (tied weights) is frozen through either name', () => {
  const shared = new nn.Linear(3, 3);
  const net = new nn.Sequential({ a: shared, act: new nn.Tanh(), b: shared, bn: new nn.BatchNorm1d(3) });
  net.freeze('b');
  assert.strictEqual(shared.weight.requiresGrad, false);
  assert.strictEqual(net.isFrozen('b.weight'), true);
  assert.strictEqual(net.isFrozen('a'), true);
  net.unfreeze(/^b\./);
  assert.strictEqual(shared.bias.requiresGrad, true);
});

test('freeze() releases the gradients of what it freezes and leaves the others', () => {
  const net = mlp();
  net.forward(tg.randn([2, 4])).sum().backward();
  net.freeze('hidden1');
  assert.strictEqual(net.hidden1.weight.grad, undefined);
  assert.strictEqual(net.hidden1.bias.grad, undefined);
  assert.ok(net.hidden2.weight.grad !== undefined, 'a trainable parameter keeps its gradient');
});

test('after freeze(), backward() gives no gradient to frozen parameters and still trains the rest', () => {
  const net = mlp();
  net.freeze(/^hidden[12]\./);
  net.forward(tg.randn([3, 4])).sum().backward();
  for (const p of net.frozenParameters()) assert.strictEqual(p.grad, undefined);
  for (const p of net.trainableParameters()) assert.ok(p.grad !== undefined);
});

test('freezeTo(n) freezes the first n top-level children and unfreezes the rest; negative n counts from the end', () => {
  const net = mlp();
  assert.deepStrictEqual(net.layerGroups, ['hidden1', 'act1', 'hidden2', 'act2', 'hidden3', 'act3', 'outputs']);
  assert.strictEqual(net.freezeTo(3), net);
  assert.deepStrictEqual(frozenNames(net), ['hidden1.weight', 'hidden1.bias', 'hidden2.weight', 'hidden2.bias']);
  net.freezeTo(-1);
  assert.deepStrictEqual(trainableNames(net), ['outputs.weight', 'outputs.bias']);
  net.freezeTo(1);
  assert.deepStrictEqual(frozenNames(net), ['hidden1.weight', 'hidden1.bias'], 'groups past n are unfrozen again');
  net.freezeTo(0);
  assert.deepStrictEqual(frozenNames(net), []);
  net.freezeTo(7);
  assert.deepStrictEqual(trainableNames(net), []);
  net.freezeTo(-7);
  assert.deepStrictEqual(frozenNames(net), []);
});

test('freezeTo(n) outside [-groups, groups] or not an integer is an error, and changes nothing', () => {
  const net = mlp();
  net.freeze('hidden1');
  assert.throws(() => net.freezeTo(8), { name: 'RangeError', message: 'freezeTo(8): Sequential has 7 layer groups, so n must be between -7 and 7' });
  assert.throws(() => net.freezeTo(-8), RangeError);
  assert.throws(() => net.freezeTo(1.5), /freezeTo\(\): n must be an integer, got 1.5/);
  assert.throws(() => net.freezeTo('2'), /n must be an integer/);
  assert.deepStrictEqual(frozenNames(net), ['hidden1.weight', 'hidden1.bias']);
});

test('declared layerGroups drive freezeTo() and layerGroupParameters(); undefined restores the default', () => {
  const net = mlp();
  net.layerGroups = [['hidden1', 'act1', 'hidden2'], /^hidden3\./, 'outputs'];
  assert.deepStrictEqual(net.layerGroups.length, 3);
  net.freezeTo(1);
  assert.deepStrictEqual(frozenNames(net), ['hidden1.weight', 'hidden1.bias', 'hidden2.weight', 'hidden2.bias']);
  net.freezeTo(-1);
  assert.deepStrictEqual(trainableNames(net), ['outputs.weight', 'outputs.bias']);
  const groups = net.layerGroupParameters();
  assert.deepStrictEqual(groups.map((g) => g.map(tg.nn.parameterName)), [
    ['hidden1.weight', 'hidden1.bias', 'hidden2.weight', 'hidden2.bias'],
    ['hidden3.weight', 'hidden3.bias'],
    ['outputs.weight', 'outputs.bias'],
  ]);
  assert.throws(() => net.freezeTo(4), /has 3 layer groups/);
  net.layerGroups = undefined;
  assert.strictEqual(net.layerGroups.length, 7);
});

test('layer groups that overlap, leave parameters out, select nothing or are not patterns are errors naming the problem', () => {
  const net = mlp();
  assert.throws(() => (net.layerGroups = []), /layerGroups: expected a non-empty array/);
  assert.throws(() => (net.layerGroups = 'hidden1'), /layerGroups: expected a non-empty array/);
  assert.throws(() => (net.layerGroups = ['hidden1', 42]), /layerGroups\[1\]: name pattern: expected a glob string, a RegExp, an array of them or a function, got number/);
  assert.throws(() => (net.layerGroups = ['hidden[12']), { name: 'TypeError', message: /layerGroups\[0\]: name pattern: unclosed '\[' at position 6 in glob 'hidden\[12'/ });
  net.layerGroups = ['hidden*', 'hidden3', 'outputs'];
  assert.throws(() => net.freezeTo(1), /parameter 'hidden3.weight' is in layer groups 0 and 1; each belongs in one/);
  net.layerGroups = ['hidden1', 'outputs'];
  assert.throws(() => net.layerGroupParameters(), /parameters in no layer group \(4\): hidden2.weight, hidden2.bias, hidden3.weight, hidden3.bias; add them to a group/);
  net.layerGroups = ['hidden1', 'hidden2', 'hidden3', 'outptus'];
  assert.throws(() => net.freezeTo(1), /freezeTo\(\): layer group 3: 'outptus' selects nothing in Sequential/);
  assert.deepStrictEqual(frozenNames(net), [], 'nothing was frozen by the failed calls');
});

test('the default layer groups add the parameters a model holds itself, after its children', () => {
  class Scaled extends nn.Module {
    constructor() {
      super();
      this.body = new nn.Linear(2, 2);
      this.registerParameter('scale', tg.ones([1]));
    }
    forward(x) {
      return this.body.call(x).mul(this.scale);
    }
  }
  const m = new Scaled();
  assert.deepStrictEqual(m.layerGroups, ['body', ['scale']]);
  m.freezeTo(1);
  assert.deepStrictEqual(frozenNames(m), ['body.weight', 'body.bias']);
  assert.deepStrictEqual(trainableNames(m), ['scale']);
});

test('patterns that select nothing are errors naming each of them (a typo must not silently freeze nothing)', () => {
  const net = mlp();
  assert.throws(() => net.freeze(['hidden1', 'hiden2', 'output']), {
    message: "freeze(): 'hiden2', 'output' select nothing in Sequential (its children: hidden1, act1, hidden2, act2, hidden3, act3, outputs)",
  });
  assert.throws(() => net.unfreeze(/^dense_\d\./), /unfreeze\(\): \/\^dense_\\d\\.\/ selects nothing in Sequential/);
  assert.throws(() => net.freeze('hidden9.*'), /'hidden9\.\*' selects nothing/);
  assert.deepStrictEqual(frozenNames(net), [], 'nothing was frozen');
  // A module without parameters is a valid name (it selects itself); freezing it changes nothing.
  net.freeze('act1');
  assert.deepStrictEqual(frozenNames(net), []);
  // A predicate may select nothing.
  net.freeze(() => false);
  assert.deepStrictEqual(frozenNames(net), []);
});

test('malformed patterns are TypeErrors, not silent no-ops', () => {
  const net = mlp();
  assert.throws(() => net.freeze(['hidden1', 3]), { name: 'TypeError', message: /array items must be strings or RegExps, got number/ });
  assert.throws(() => net.freeze([['hidden1']]), { name: 'TypeError', message: /array items must be strings or RegExps, got an array/ });
  assert.throws(() => net.freeze('hidden[12.*'), { name: 'TypeError', message: "name pattern: unclosed '[' at position 6 in glob 'hidden[12.*'" });
  assert.throws(() => net.freeze(42), { name: 'TypeError', message: /expected a glob string, a RegExp, an array of them or a function, got number/ });
  assert.throws(() => net.freeze(null), /got null/);
  assert.throws(() => net.parameters('hidden[1'), TypeError, 'parameters(pattern) shares the check');
  assert.deepStrictEqual(frozenNames(net), []);
});

test('summary() shows frozen layers in its Trainable column and counts non-trainable parameters', () => {
  const net = mlp();
  net.freeze(/^hidden[12]\./).freeze('hidden3.bias');
  const text = net.summary();
  assert.match(text, /^hidden1\s+Linear\s+30\s+frozen$/m);
  assert.match(text, /^hidden2\s+Linear\s+35\s+frozen$/m);
  assert.match(text, /^hidden3\s+Linear\s+24\s+partly$/m);
  assert.match(text, /^outputs\s+Linear\s+15\s+yes$/m);
  assert.match(text, /^act1\s+ELU\s+0\s+-$/m);
  assert.match(text, /Total params: 104\nTrainable params: 35\nNon-trainable params: 69/);
});

test('StopGradient: layers below it get no gradient, layers above it do, and the forward values are unchanged', () => {
  tg.manualSeed(3);
  const net = new nn.Sequential({ lower: new nn.Linear(3, 4), stop: new nn.StopGradient(), upper: new nn.Linear(4, 2) });
  const x = tg.randn([5, 3]);
  const y = net.forward(x);
  const ref = tg.noGrad(() => net.upper.forward(net.lower.forward(x)));
  assert.ok(y.equal(ref), 'forward values pass through unchanged');
  y.sum().backward();
  assert.strictEqual(net.lower.weight.grad, undefined);
  assert.strictEqual(net.lower.bias.grad, undefined);
  assert.ok(net.upper.weight.grad !== undefined && net.upper.bias.grad !== undefined);
  assert.ok(net.lower.weight.requiresGrad, 'StopGradient does not freeze the parameters below it');
  assert.throws(() => new nn.StopGradient().forward([1, 2]), /StopGradient: expected a Tensor/);
});

test('t.detach() stops the gradient the same way inside a hand-written forward', () => {
  tg.manualSeed(4);
  const lower = new nn.Linear(3, 4);
  const upper = new nn.Linear(4, 1);
  const x = tg.randn([2, 3]);
  const h = lower.forward(x).detach();
  assert.strictEqual(h.requiresGrad, false);
  upper.forward(h).sum().backward();
  assert.strictEqual(lower.weight.grad, undefined);
  assert.ok(upper.weight.grad !== undefined);
});
