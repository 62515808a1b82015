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
    // The HDF5 layer_names order is the model's: nothing is ambiguous.
    assert.strictEqual(p.order, 'layers');
    assert.deepStrictEqual(p.ambiguous, []);
    // The same tensors sorted by name carry no order: the pairs that differ from the ordered proposal are all flagged.
    const sorted = Object.fromEntries(Object.keys(foreign).sort().map((k) => [k, foreign[k]]));
    const guess = tg.io.proposeMapping(sorted, net);
    assert.strictEqual(guess.order, 'natural');
    assert.deepStrictEqual(guess.pairs.filter((x) => !x.ambiguous && x.from !== Object.keys(to).find((k) => to[k] === x.to)).map((x) => x.from), []);
    assert.ok(guess.ambiguous.length > 0);
    assert.throws(() => guess.apply(), (e) => e.code === 'ERR_AMBIGUOUS_MAPPING');
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
    assert.strictEqual(p.order, 'stored');
    const byOrder = p.pairs.find((x) => x.from === 'norm1.running_mean');
    assert.deepStrictEqual([byOrder.confidence, byOrder.ambiguous], [0.75, false]);
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

test('proposeMapping maps the TF.js abalone Dense model by its topology; a name-sorted copy flags the two [50] biases', async () => {
  const r = await tg.io.loadWithMetadata(fixture('tfjs_abalone_dense/model.json'));
  const net = new Sequential({ fc1: new Linear(8, 50), s1: new tg.nn.Sigmoid(), fc2: new Linear(50, 50), s2: new tg.nn.Sigmoid(), fc3: new Linear(50, 1) });
  try {
    assert.deepStrictEqual(r.layerOrder, r.names);
    const p = tg.io.proposeMapping(r.tensors, net);
    assert.strictEqual(p.order, 'layers');
    // dense_DenseK is the K-th Dense layer of the topology: it belongs to fcK.
    assert.deepStrictEqual(p.pairs.map((x) => `${x.from} -> ${x.to}`), [1, 2, 3].flatMap((k) => [`dense_Dense${k}.weight -> fc${k}.weight`, `dense_Dense${k}.bias -> fc${k}.bias`]));
    assert.deepStrictEqual(p.ambiguous, []);
    assert.strictEqual(p.pairs.find((x) => x.from === 'dense_Dense2.bias').confidence, 0.85);
    net.loadStateDict(p.apply());
    assert.ok(net.get('fc2').bias.equal(r.tensors['dense_Dense2.bias']));
    const copy = { ...r.tensors };
    const q = tg.io.proposeMapping(copy, net);
    assert.strictEqual(q.order, 'natural');
    assert.deepStrictEqual(q.ambiguous.map((x) => x.from).sort(), ['dense_Dense1.bias', 'dense_Dense2.bias']);
    assert.deepStrictEqual(q.ambiguous[0].alternatives.length, 2);
    assert.throws(() => q.apply(), (e) => e instanceof tg.TorchError && e.code === 'ERR_AMBIGUOUS_MAPPING');
  } finally {
    tg.dispose(r.tensors);
  }
});

test('proposeMapping keeps same-name pairs first, lists unmatched on both sides, and apply() filters by confidence', () => {
  const foreign = { 'a.weight': tg.zeros([2, 3]), 'x.kernel': tg.zeros([4]), 'odd': tg.zeros([9]) };
  const target = { 'a.weight': tg.zeros([2, 3]), 'b.weight': tg.zeros([4]), 'c.bias': tg.zeros([5]) };
  const p = tg.io.proposeMapping(foreign, target);
  assert.deepStrictEqual(p.pairs.map((x) => [x.from, x.to, x.confidence, x.ambiguous]), [['a.weight', 'a.weight', 1, false], ['x.kernel', 'b.weight', 0.7, false]]);
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
