'use strict';
// copyModule and findClassifier / resetClassifier at their edges (lib/transfer/copy.ts, classifier.ts): what a copy
// shares and what it does not, which Linear counts as the classifier, and the errors for bad arguments.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

const values = (t) => Array.from(t.dataSync());

test('findClassifier: a name only matches the child of that name or what is under it, not a longer name', () => {
  const net = new tg.nn.Sequential({ fc2: new tg.nn.Linear(4, 3), outputs: new tg.nn.Linear(3, 2), extra: new tg.nn.Linear(2, 2) });
  assert.strictEqual(tg.transfer.findClassifier(net), 'outputs', "'fc2' is not 'fc'");
  const head = new tg.nn.Sequential({ body: new tg.nn.Linear(4, 3), head: new tg.nn.Linear(3, 2), tail: new tg.nn.Linear(2, 2) });
  assert.strictEqual(tg.transfer.findClassifier(head), 'head', "our own 'head' name");
  const order = new tg.nn.Sequential({ head: new tg.nn.Linear(4, 3), fc: new tg.nn.Linear(3, 2) });
  assert.strictEqual(tg.transfer.findClassifier(order), 'fc', "'fc' is looked for before 'head'");
  const nested = new tg.nn.Sequential({
    classifier: new tg.nn.Sequential({ a: new tg.nn.Linear(4, 3), b: new tg.nn.ReLU(), c: new tg.nn.Linear(3, 2) }),
    last: new tg.nn.Linear(2, 2),
  });
  assert.strictEqual(tg.transfer.findClassifier(nested), 'classifier.c', 'the last Linear under the name');
  const plain = new tg.nn.Sequential({ a: new tg.nn.Linear(4, 3), b: new tg.nn.Linear(3, 2), c: new tg.nn.ReLU() });
  assert.strictEqual(tg.transfer.findClassifier(plain), 'b', 'else the last Linear in the tree');
});

test('findClassifier never names the model itself, even when it is a Linear', () => {
  assert.throws(
    () => tg.transfer.findClassifier(new tg.nn.Linear(3, 2)),
    (e) => e instanceof tg.TorchError && e.code === 'ERR_MODULE_EDIT' && e.message === 'resetClassifier: Linear has no Linear layer to replace',
  );
});

test('resetClassifier: bad arguments are TypeErrors or RangeErrors that name them', () => {
  const net = new tg.nn.Sequential({ a: new tg.nn.Linear(4, 3), act: new tg.nn.ReLU() });
  assert.throws(() => tg.transfer.resetClassifier({ forward() {} }, 2), (e) => e instanceof TypeError && /^resetClassifier: expected a tg.nn.Module, got /.test(e.message));
  assert.throws(() => tg.transfer.resetClassifier(net, 0), (e) => e instanceof RangeError && /numClasses must be a positive integer, got a number \(0\)/.test(e.message));
  assert.throws(() => tg.transfer.resetClassifier(net, 2, { path: 'act' }), (e) => e instanceof TypeError && e.message === "resetClassifier: 'act' is a ReLU, not a Linear");
  assert.strictEqual(tg.transfer.resetClassifier(net, 1).outFeatures, 1, 'one class is allowed');
});

test('resetClassifier keeps the old layer\'s bias setting and inFeatures, and leaves the old layer intact', () => {
  const old = new tg.nn.Linear(5, 3, { bias: false });
  const net = new tg.nn.Sequential({ body: new tg.nn.Linear(4, 5), outputs: old });
  const before = values(old.weight);
  const fresh = tg.transfer.resetClassifier(net, 7);
  assert.strictEqual(net.get('outputs'), fresh);
  assert.strictEqual(fresh.bias, null, 'no bias when the old one had none');
  assert.deepStrictEqual([fresh.inFeatures, fresh.outFeatures], [5, 7]);
  assert.deepStrictEqual(values(old.weight), before);
  const withBias = new tg.nn.Sequential({ outputs: new tg.nn.Linear(5, 3) });
  assert.notStrictEqual(tg.transfer.resetClassifier(withBias, 2).bias, null);
});

test('resetClassifier with an explicit path leaves numClasses alone', () => {
  const net = new tg.nn.Sequential({ a: new tg.nn.Linear(4, 3), outputs: new tg.nn.Linear(3, 2) });
  net.numClasses = 2;
  tg.transfer.resetClassifier(net, 5, { path: 'a' });
  assert.strictEqual(net.numClasses, 2);
  tg.transfer.resetClassifier(net, 6);
  assert.strictEqual(net.numClasses, 6);
  net.numClasses = 'two';
  tg.transfer.resetClassifier(net, 4);
  assert.strictEqual(net.numClasses, 'two', 'only a number is kept in step');
});

test('copyModule refuses what is not a module', () => {
  assert.throws(() => tg.transfer.copyModule({}), (e) => e instanceof TypeError && e.message === 'copyModule: expected a tg.nn.Module');
  assert.throws(() => tg.transfer.copyModule(null), TypeError);
});

test('copyModule: shared modules and tensors stay shared, non-persistent buffers stay out of the state dict, null slots stay null', () => {
  const shared = new tg.nn.Linear(3, 3);
  const net = new tg.nn.Sequential({ a: shared, b: shared, c: new tg.nn.Linear(3, 2) });
  net.get('c').registerBuffer('scratch', tg.ones([2]), { persistent: false });
  net.get('c').registerBuffer('kept', tg.full([2], 4.5), {});
  net.get('c').registerParameter('extra', null);
  net.get('c').registerBuffer('empty', null);
  const copy = tg.transfer.copyModule(net);
  assert.strictEqual(copy.get('a'), copy.get('b'), 'one module in two places stays one');
  assert.notStrictEqual(copy.get('a'), shared);
  assert.deepStrictEqual(Object.keys(copy.stateDict()), Object.keys(net.stateDict()));
  assert.ok(!Object.keys(copy.stateDict()).includes('c.scratch'), 'the non-persistent buffer stays non-persistent');
  assert.deepStrictEqual(values(copy.get('c').getBuffer('scratch')), [1, 1]);
  assert.deepStrictEqual(values(copy.get('c').getBuffer('kept')), [4.5, 4.5]);
  assert.strictEqual(copy.get('c')._parameters.get('extra'), null);
  assert.strictEqual(copy.get('c')._buffers.get('empty'), null);
  // changing the copy's maps leaves the original's alone
  copy.get('c').registerBuffer('more', tg.zeros([1]));
  assert.ok(!net.get('c')._buffers.has('more'));
  copy.get('c')._nonPersistent.add('kept');
  assert.ok(Object.keys(net.stateDict()).includes('c.kept'));
});

test('copyModule: values equal, tensors new, gradients not copied, requiresGrad kept, hooks carried and independent', () => {
  const net = new tg.nn.Sequential({ a: new tg.nn.Linear(3, 2) });
  net.get('a').bias.requiresGrad = false;
  net.forward(tg.ones([1, 3])).sum().backward();
  assert.ok(net.get('a').weight.grad, 'the original has a gradient');
  let calls = 0;
  net.registerForwardHook(() => void calls++);
  const copy = tg.transfer.copyModule(net);
  assert.strictEqual(copy.get('a').weight.grad, undefined, 'gradients are not copied');
  assert.strictEqual(copy.get('a').weight.requiresGrad, true);
  assert.strictEqual(copy.get('a').bias.requiresGrad, false);
  assert.deepStrictEqual(values(copy.get('a').weight), values(net.get('a').weight));
  tg.noGrad(() => copy.get('a').weight.fill_(9));
  assert.notDeepStrictEqual(values(net.get('a').weight), values(copy.get('a').weight), 'a write to the copy does not reach the original');
  copy.call(tg.ones([1, 3]));
  assert.strictEqual(calls, 1, "the copy runs the original's forward hook");
  copy.registerForwardHook(() => void (calls += 10));
  net.call(tg.ones([1, 3]));
  assert.strictEqual(calls, 2, "a hook added to the copy is not the original's");
});
