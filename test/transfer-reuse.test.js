'use strict';
// reuse: a new model from a pretrained one's lower layers (shared or copied), frozen as asked, with a new head.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

function pretrainedMlp() {
  tg.manualSeed(3);
  return new tg.nn.Sequential({
    hidden1: new tg.nn.Linear(6, 12), act1: new tg.nn.ELU(),
    hidden2: new tg.nn.Linear(12, 10), act2: new tg.nn.ELU(),
    hidden3: new tg.nn.Linear(10, 8), act3: new tg.nn.ELU(),
    outputs: new tg.nn.Linear(8, 4),
  });
}

// A small ResNet (one block per stage), shared by the read-only tests; eval mode so BatchNorm uses its statistics.
let shared;
const smallResNet = () => (shared ??= new tg.nn.models.ResNet([1, 1, 1, 1], { numClasses: 7 }).eval());

test('reuse keeps the layers up to upTo with their names, appends the head, and shares the weights by default', () => {
  const pre = pretrainedMlp();
  const model = tg.transfer.reuse(pre, {
    upTo: 'act3',
    head: { hidden4: new tg.nn.Linear(8, 5), act4: new tg.nn.ELU(), outputs: new tg.nn.Linear(5, 3) },
  });
  assert.deepStrictEqual(model.keys(), ['hidden1', 'act1', 'hidden2', 'act2', 'hidden3', 'act3', 'hidden4', 'act4', 'outputs']);
  for (const name of ['hidden1', 'hidden2', 'hidden3']) {
    assert.strictEqual(model.get(name), pre.get(name));
    assert.strictEqual(model.getParameter(`${name}.weight`)._storageId(), pre.getParameter(`${name}.weight`)._storageId());
  }
  // Shared: training the new model moves the pretrained one's weights too.
  tg.noGrad(() => model.get('hidden2').weight.add_(1));
  assert.ok(model.get('hidden2').weight.equal(pre.get('hidden2').weight));
  assert.deepStrictEqual(tg.transfer.reusedHead(model), ['hidden4', 'act4', 'outputs']);
  assert.deepStrictEqual(model.forward(tg.randn([2, 6])).shape, [2, 3]);
});

test('reuse with copy makes new tensors with the same values, independent of the pretrained model', () => {
  const pre = pretrainedMlp();
  const model = tg.transfer.reuse(pre, { upTo: 'hidden2', copy: true });
  assert.deepStrictEqual(model.keys(), ['hidden1', 'act1', 'hidden2']);
  for (const [name, t] of model.namedParameters()) {
    const orig = pre.getParameter(name);
    assert.ok(t.equal(orig), name);
    assert.notStrictEqual(t._storageId(), orig._storageId(), name);
  }
  assert.notStrictEqual(model.get('hidden1'), pre.get('hidden1'));
  tg.noGrad(() => model.get('hidden1').weight.zero_());
  assert.notStrictEqual(pre.get('hidden1').weight.abs().sum().item(), 0);
  const x = tg.randn([3, 6]);
  const ref = pre.slice('hidden1', 'hidden2').forward(x);
  assert.ok(!model.forward(x).equal(ref));
});

test('reuse freezes every reused layer with freeze: true, or those a pattern names; never the head', () => {
  const all = tg.transfer.reuse(pretrainedMlp(), { upTo: 'act3', freeze: true, head: { out: new tg.nn.Linear(8, 2) } });
  for (const [n, p] of all.namedParameters()) assert.strictEqual(p.requiresGrad, n.startsWith('out.'), n);
  const some = tg.transfer.reuse(pretrainedMlp(), { upTo: 'act3', freeze: /^hidden[12]\./, head: { out: new tg.nn.Linear(8, 2) } });
  const frozen = some.namedParameters().filter(([, p]) => !p.requiresGrad).map(([n]) => n);
  assert.deepStrictEqual(frozen, ['hidden1.weight', 'hidden1.bias', 'hidden2.weight', 'hidden2.bias']);
  const glob = tg.transfer.reuse(pretrainedMlp(), { upTo: 'hidden3', freeze: 'hidden[13]' });
  assert.deepStrictEqual(glob.namedParameters().filter(([, p]) => !p.requiresGrad).map(([n]) => n), ['hidden1.weight', 'hidden1.bias', 'hidden3.weight', 'hidden3.bias']);
});

test('reuse names a head module "head" and an array of modules by position; upTo takes a position', () => {
  const one = tg.transfer.reuse(pretrainedMlp(), { upTo: 1, head: new tg.nn.Linear(12, 2) });
  assert.deepStrictEqual(one.keys(), ['hidden1', 'act1', 'head']);
  const many = tg.transfer.reuse(pretrainedMlp(), { upTo: -2, head: [new tg.nn.Linear(8, 2), new tg.nn.Softmax(1)] });
  assert.deepStrictEqual(many.keys(), ['hidden1', 'act1', 'hidden2', 'act2', 'hidden3', 'act3', '6', '7']);
  const everything = tg.transfer.reuse(pretrainedMlp());
  assert.strictEqual(everything.length, 7);
});

test('reuse rejects an upTo that is not a top-level layer, a head name already used, and a bad head', () => {
  const pre = pretrainedMlp();
  assert.throws(() => tg.transfer.reuse(pre, { upTo: 'hidden9' }), /no top-level layer 'hidden9'; the layers in order: hidden1, act1, hidden2/);
  assert.throws(() => tg.transfer.reuse(pre, { upTo: 'hidden1.weight' }), /only top-level layers/);
  assert.throws(() => tg.transfer.reuse(pre, { upTo: 12 }), /out of range/);
  assert.throws(() => tg.transfer.reuse(pre, { upTo: 'act1', head: { hidden1: new tg.nn.Linear(12, 2) } }), /head layer 'hidden1' has the name of a reused layer/);
  assert.throws(() => tg.transfer.reuse(pre, { head: { out: 3 } }), /head 'out' must be a tg.nn.Module/);
  assert.throws(() => tg.transfer.reuse({}, {}), /expected a pretrained tg.nn.Module/);
  assert.throws(() => tg.transfer.reuse(new tg.nn.ReLU()), /no child layers/);
});

test('reuse of a ResNet up to layer3 computes exactly its intermediate features', () => {
  const r = smallResNet();
  const features = tg.transfer.reuse(r, { upTo: 'layer3' });
  assert.deepStrictEqual(features.keys(), ['conv1', 'bn1', 'relu', 'maxpool', 'layer1', 'layer2', 'layer3']);
  const x = tg.randn([2, 3, 32, 32]);
  tg.noGrad(() => {
    let h = r.maxpool.call(r.relu.call(r.bn1.call(r.conv1.call(x))));
    h = r.layer3.call(r.layer2.call(r.layer1.call(h)));
    const got = features.forward(x);
    assert.deepStrictEqual(got.shape, [2, 256, 2, 2]);
    assert.ok(got.equal(h));
  });
});

test('reuse of a ResNet inserts the flatten its forward does: up to flatten gives forwardFeatures, all of it gives forward', () => {
  const r = smallResNet();
  const x = tg.randn([2, 3, 32, 32]);
  tg.noGrad(() => {
    const pooled = tg.transfer.reuse(r, { upTo: 'avgpool' }).eval();
    assert.deepStrictEqual(pooled.forward(x).shape, [2, 512, 1, 1]);
    const feats = tg.transfer.reuse(r, { upTo: 'flatten' });
    assert.deepStrictEqual(feats.keys().slice(-3), ['layer4', 'avgpool', 'flatten']);
    assert.ok(feats.get('flatten') instanceof tg.nn.Flatten);
    assert.ok(feats.eval().forward(x).equal(r.forwardFeatures(x)));
    const whole = tg.transfer.reuse(r).eval();
    assert.ok(whole.forward(x).equal(r.forward(x)));
    // The textbook move on a ResNet: keep the features, put a new classifier on top.
    const model = tg.transfer.reuse(r, { upTo: 'flatten', freeze: true, head: { fc: new tg.nn.Linear(512, 5) } }).eval();
    assert.deepStrictEqual(model.forward(x).shape, [2, 5]);
    assert.deepStrictEqual(Object.keys(model.stateDict()).filter((k) => k.startsWith('layer4.0.conv1')), ['layer4.0.conv1.weight']);
  });
  r.requiresGrad_(true);
});

test('reuse carries over the collections whose paths all survive the cut', () => {
  const pre = pretrainedMlp();
  pre.collections.set('low', ['hidden1', 'hidden2.weight']).set('top', ['hidden3', 'outputs']);
  const model = tg.transfer.reuse(pre, { upTo: 'act2' });
  assert.deepStrictEqual(model.collections.names(), ['low']);
  assert.strictEqual(model.collections.get('low')[0], pre.get('hidden1'));
});
