'use strict';
// tg.io.mapKeys (explicit rules) and tg.io.proposeMapping (by name, then order and shape), on the Keras ResNet-8 and
// the ONNX MNIST CNN mapped onto torchgraft models of the same architectures under other names.
const test = require('node:test');
const assert = require('node:assert');
const { tg, fixture } = require('./helpers/foreign');

const { Sequential, Conv2d, BatchNorm2d, BatchNorm1d, Linear, ReLU, Flatten, Dropout } = tg.nn;

test('mapKeys renames with a prefix map, [RegExp, replacement] pairs or a function, keeping order and tensors', () => {
  const a = tg.zeros([2]);
  const b = tg.ones([3]);
  const sd = { 'dense_1.weight': a, 'dense_1.bias': b };
  const byPrefix = tg.io.mapKeys(sd, { 'dense_1.': 'hidden1.' });
  assert.deepStrictEqual(Object.keys(byPrefix), ['hidden1.weight', 'hidden1.bias']);
  assert.strictEqual(byPrefix['hidden1.weight'], a, 'the same tensor objects, not copies');
  assert.deepStrictEqual(Object.keys(tg.io.mapKeys(sd, [[/^dense_(\d+)\./, 'fc$1.'], [/bias$/, 'b']])), ['fc1.weight', 'fc1.b']);
  assert.deepStrictEqual(Object.keys(tg.io.mapKeys(sd, (k) => (k.endsWith('bias') ? 'head.bias' : undefined))), ['dense_1.weight', 'head.bias']);
  assert.deepStrictEqual(Object.keys(tg.io.mapKeys(new Map(Object.entries(sd)), { dense_1: 'x' })), ['x.weight', 'x.bias']);
  tg.dispose([a, b]);
});

test('mapKeys refuses rules that send two keys to one name, bad rules and non-tensors', () => {
  const sd = { 'a.weight': tg.zeros([1]), 'b.weight': tg.zeros([1]) };
  assert.throws(() => tg.io.mapKeys(sd, [[/^[ab]\./, 'c.']]), (e) => e instanceof tg.TorchError && e.code === 'ERR_MAP_KEYS_COLLISION' && /'a\.weight' and 'b\.weight' would both be named 'c\.weight'/.test(e.message));
  assert.throws(() => tg.io.mapKeys(sd, [['a', 'b']]), TypeError);
  assert.throws(() => tg.io.mapKeys(sd, 42), TypeError);
  assert.throws(() => tg.io.mapKeys({ x: 1 }, {}), TypeError);
  tg.dispose(sd);
});

/** ResNet-8 (MLPerf Tiny) with torchgraft names, modules in the order Keras lists its layers. */
function resnet8() {
  const block = (cin, cout, stride) =>
    new Sequential({
      conv1: new Conv2d(cin, cout, 3, { stride, padding: 1 }),
      bn1: new BatchNorm2d(cout, { eps: 1e-3 }),
      conv2: new Conv2d(cout, cout, 3, { padding: 1 }),
      ...(cin !== cout ? { shortcut: new Conv2d(cin, cout, 1, { stride }) } : {}),
      bn2: new BatchNorm2d(cout, { eps: 1e-3 }),
    });
  return new Sequential({
    stem: new Conv2d(3, 16, 3, { padding: 1 }),
    stem_bn: new BatchNorm2d(16, { eps: 1e-3 }),
    stack1: block(16, 16, 1),
    stack2: block(16, 32, 2),
    stack3: block(32, 64, 2),
    fc: new Linear(64, 10),
  });
}

test('proposeMapping maps the Keras ResNet-8 onto a torchgraft ResNet-8 by order and shape, for review, then apply()', async () => {
  const foreign = await tg.io.load(fixture('keras2_resnet8_cifar10.h5'));
  const net = resnet8();
  try {
    const p = tg.io.proposeMapping(foreign, net);
    assert.strictEqual(p.pairs.length, 48);
    assert.deepStrictEqual(p.unmatchedForeign, []);
    const sd = net.stateDict();
    assert.deepStrictEqual(p.unmatchedModel.map((u) => u.name), Object.keys(sd).filter((k) => k.endsWith('num_batches_tracked')));
    tg.dispose(sd);
    const to = Object.fromEntries(p.pairs.map((x) => [x.from, x.to]));
    assert.strictEqual(to['conv2d.weight'], 'stem.weight');
    assert.strictEqual(to['batch_normalization.running_var'], 'stem_bn.running_var');
    assert.strictEqual(to['conv2d_4.weight'], 'stack2.conv2.weight');
    assert.strictEqual(to['conv2d_5.weight'], 'stack2.shortcut.weight');
    assert.strictEqual(to['batch_normalization_4.weight'], 'stack2.bn2.weight');
    assert.strictEqual(to['dense.weight'], 'fc.weight');
    for (const x of p.pairs) assert.ok(x.confidence >= 0.75 && x.confidence < 1, `${x.from} -> ${x.to}: ${x.confidence} ${x.reason}`);
    const table = String(p);
    assert.match(table, /^conf\s+from \(file\)\s+to \(model\)\s+shape\s+reason/);
    assert.match(table, /conv2d_5\.weight\s+stack2\.shortcut\.weight\s+\[32, 16, 1, 1\]/);
    assert.match(table, /48 matched, 0 unmatched in the file, 7 unmatched in the model/);
    assert.match(table, /model only: stem_bn\.num_batches_tracked \[\]/);

    const report = net.loadStateDict(p.apply(), { strict: false });
    assert.strictEqual(report.loaded.length, 48);
    assert.deepStrictEqual(report.missing.filter((k) => !k.endsWith('num_batches_tracked')), []);
    assert.ok(net.get('stack2').get('shortcut').weight.equal(foreign['conv2d_5.weight']));
  } finally {
    tg.dispose(foreign);
  }
});

test('proposeMapping maps the ONNX MNIST CNN onto a Sequential with index names, BatchNorm statistics by kind', async () => {
  const foreign = await tg.io.load(fixture('burn_mnist_cnn.onnx'));
  const net = new Sequential([
    new Conv2d(1, 8, 3), new ReLU(), new Conv2d(8, 16, 3), new ReLU(), new Conv2d(16, 24, 3), new ReLU(), new BatchNorm2d(24),
    new Flatten(), new Linear(11616, 32), new ReLU(), new Dropout(0.5), new Linear(32, 10), new BatchNorm1d(10),
  ]);
  try {
    const p = tg.io.proposeMapping(foreign, net);
    assert.deepStrictEqual(p.pairs.map((x) => `${x.from} -> ${x.to}`), [
      'conv1.weight -> 0.weight', 'conv1.bias -> 0.bias', 'conv2.weight -> 2.weight', 'conv2.bias -> 2.bias', 'conv3.weight -> 4.weight', 'conv3.bias -> 4.bias',
      'norm1.weight -> 6.weight', 'norm1.bias -> 6.bias', 'norm1.running_mean -> 6.running_mean', 'norm1.running_var -> 6.running_var',
      'fc1.weight -> 8.weight', 'fc1.bias -> 8.bias', 'fc2.weight -> 11.weight', 'fc2.bias -> 11.bias',
      'norm2.weight -> 12.weight', 'norm2.bias -> 12.bias', 'norm2.running_mean -> 12.running_mean', 'norm2.running_var -> 12.running_var',
    ]);
    assert.deepStrictEqual(p.unmatchedModel.map((u) => u.name), ['6.num_batches_tracked', '12.num_batches_tracked']);
    const unique = p.pairs.find((x) => x.from === 'fc1.weight');
    assert.strictEqual(unique.confidence, 0.95);
    assert.match(unique.reason, /only tensor of this shape/);
    const ambiguous = p.pairs.find((x) => x.from === 'norm1.running_mean');
    assert.strictEqual(ambiguous.confidence, 0.75);
    net.loadStateDict(p.apply(), { strict: false });
    net.eval();
    // The mapped network runs on an MNIST-shaped batch and gives log-probabilities.
    const out = tg.tidy(() => tg.noGrad(() => net.forward(tg.randn([2, 1, 28, 28])).logSoftmax(1).exp().sum(1)));
    assert.deepStrictEqual(out.shape, [2]);
    for (const v of out.dataSync()) assert.ok(Math.abs(v - 1) < 1e-5);
  } finally {
    tg.dispose(foreign);
  }
});

test('proposeMapping keeps same-name pairs first, lists unmatched on both sides, and apply() filters by confidence', () => {
  const foreign = { 'a.weight': tg.zeros([2, 3]), 'x.kernel': tg.zeros([4]), 'odd': tg.zeros([9]) };
  const target = { 'a.weight': tg.zeros([2, 3]), 'b.weight': tg.zeros([4]), 'c.bias': tg.zeros([5]) };
  const p = tg.io.proposeMapping(foreign, target);
  assert.deepStrictEqual(p.pairs.map((x) => [x.from, x.to, x.confidence]), [['a.weight', 'a.weight', 1], ['x.kernel', 'b.weight', 0.7]]);
  assert.match(p.pairs[1].reason, /'kernel' vs 'weight'/);
  assert.deepStrictEqual(p.unmatchedForeign, [{ name: 'odd', shape: [9] }]);
  assert.deepStrictEqual(p.unmatchedModel, [{ name: 'c.bias', shape: [5] }]);
  assert.deepStrictEqual(Object.keys(p.apply({ minConfidence: 0.9 })), ['a.weight']);
  assert.strictEqual(p.apply()['b.weight'], foreign['x.kernel']);
  assert.throws(() => tg.io.proposeMapping(foreign, 3), TypeError);
  // Anything with stateDict() is a target (a TorchScript module, say); the state dict it returns is released.
  const seen = [];
  const scripted = { stateDict: () => ({ 'w.weight': (seen[0] = tg.zeros([2, 3])) }) };
  assert.deepStrictEqual(tg.io.proposeMapping(foreign, scripted).pairs.map((x) => x.to), ['w.weight']);
  assert.ok(seen[0].isDisposed);
  tg.dispose([foreign, target]);
});
