'use strict';
// cacheFeatures cuts at dotted paths inside nested Sequentials, picks a default cut that leaves a head's dropout to
// the head, and refuses a cut inside a container whose forward is not a chain, naming it.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { nn } = tg;

const quiet = { verbose: 0 };
const maxDiff = (a, b) => tg.tidy(() => a.sub(b).abs().max().item());

function model(seed = 1) {
  tg.manualSeed(seed);
  const net = new nn.Sequential({
    features: new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU(), new nn.Sequential(new nn.Linear(8, 8), new nn.Tanh()), new nn.Linear(8, 8), new nn.ReLU()),
    classifier: new nn.Sequential(new nn.Dropout(0.2), new nn.Linear(8, 3)),
  });
  return net.freeze(/^features\./);
}
function data(n = 48, seed = 7) {
  tg.manualSeed(seed);
  return new tg.data.TensorDataset(tg.randn([n, 6]), tg.randint(0, 3, [n]));
}

test('a cut at a dotted path caches the forward up to that layer; the head is the rest, under the model\'s names', async () => {
  const net = model().eval();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, { upTo: 'features.2.0', batchSize: 16, ...quiet });
  assert.strictEqual(cache.cut, 'features.2.0');
  const [x] = ds.getBatch([0, 5, 47]);
  const f = net.get('features');
  const want = tg.noGrad(() => f.at(2).at(0).forward(f.at(1).forward(f.at(0).forward(x))));
  const [got] = cache.examples.getBatch([0, 5, 47]);
  assert.deepStrictEqual(got.shape, [3, 8]);
  assert.ok(maxDiff(got, want) < 1e-6);
  const head = cache.head();
  assert.deepStrictEqual(head.namedParameters().map(([n]) => n), ['features.3.weight', 'features.3.bias', 'classifier.1.weight', 'classifier.1.bias']);
  assert.strictEqual(head.getParameter('classifier.1.weight'), net.getParameter('classifier.1.weight'));
  const whole = tg.noGrad(() => net.forward(x));
  assert.ok(maxDiff(tg.noGrad(() => head.eval().forward(got)), whole) < 1e-6);
  cache.dispose();
});

test('the default cut stops at the last frozen layer with weights (and the ReLU after it), not in the head\'s dropout', async () => {
  const net = model();
  const cache = await tg.transfer.cacheFeatures(net, data(), quiet);
  assert.strictEqual(cache.cut, 'features');
  assert.deepStrictEqual(cache.examples.getBatch([0])[0].shape, [1, 8]);
  cache.dispose();
  // the top of features unfrozen: the cut moves below it
  net.get('features').at(3).requiresGrad_(true);
  const lower = await tg.transfer.cacheFeatures(net, data(), quiet);
  assert.strictEqual(lower.cut, 'features.2');
  lower.dispose();
  // inside a head Sequential too: its frozen first Linear is cached, its dropout and new Linear train
  tg.manualSeed(3);
  const deep = new nn.Sequential({
    features: new nn.Sequential(new nn.Linear(6, 8), new nn.ReLU()),
    classifier: new nn.Sequential(new nn.Linear(8, 8), new nn.Dropout(0.5), new nn.Linear(8, 3)),
  }).freeze(/^(features|classifier\.0)\./);
  const inHead = await tg.transfer.cacheFeatures(deep, data(), quiet);
  assert.strictEqual(inHead.cut, 'classifier.0');
  assert.deepStrictEqual(inHead.head().namedParameters().map(([n]) => n), ['classifier.2.weight', 'classifier.2.bias']);
  inHead.dispose();
  await assert.rejects(tg.transfer.cacheFeatures(net, data(), { upTo: 'features.4', ...quiet }),
    (e) => e.code === 'ERR_CACHE_CUT' && /features\.3\.weight/.test(e.message) && /upTo: 'features\.2'/.test(e.message));
});

test('fit on a cache cut at a dotted path equals uncached fit', async () => {
  const run = async (useCache) => {
    const net = model();
    const ds = data();
    const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.1 });
    const cache = useCache ? await tg.transfer.cacheFeatures(net, ds, { upTo: 'features.1', batchSize: 16, ...quiet }) : undefined;
    await tg.fit(net, ds, { epochs: 2, optimizer, loss: 'crossEntropy', batchSize: 16, seed: 3, cache, ...quiet });
    cache?.dispose();
    return net;
  };
  const plain = await run(false);
  const cached = await run(true);
  for (const [name, p] of plain.namedParameters()) assert.ok(maxDiff(p, cached.getParameter(name)) < 1e-6, name);
  assert.ok(maxDiff(plain.getParameter('classifier.1.weight'), model().getParameter('classifier.1.weight')) > 0);
});

class Residual extends nn.Module {
  constructor() {
    super();
    this.registerModule('lin', new nn.Linear(6, 6));
    this.registerModule('act', new nn.ReLU());
  }
  forward(x) { return this.act.call(this.lin.call(x)).add(x); }
}

test('a cut inside a container that is not a Sequential, or at no layer, is refused with what to do', async () => {
  tg.manualSeed(1);
  const net = new nn.Sequential({ block: new Residual(), out: new nn.Linear(6, 3) }).freeze(/^block\./);
  await assert.rejects(tg.transfer.cacheFeatures(net, data(), { upTo: 'block.lin', ...quiet }),
    (e) => e.code === 'ERR_CACHE_CUT' && /parent 'block' is a Residual, not a Sequential/.test(e.message) && /cut at 'block' itself/.test(e.message));
  await assert.rejects(tg.transfer.cacheFeatures(model(), data(), { upTo: 'features.9', ...quiet }),
    (e) => e.code === 'ERR_UNKNOWN_MODULE' && /no layer 'features\.9'/.test(e.message) && /features\.2\.1/.test(e.message));
  // a Sequential inside the non-Sequential container: the container is still named
  tg.manualSeed(1);
  const outer = new Residual();
  outer.registerModule('inner', new nn.Sequential(new nn.Linear(6, 6)));
  const nested = new nn.Sequential({ block: outer, out: new nn.Linear(6, 3) }).freeze(/^block\./);
  await assert.rejects(tg.transfer.cacheFeatures(nested, data(), { upTo: 'block.inner.0', ...quiet }),
    (e) => e.code === 'ERR_CACHE_CUT' && /cannot cut at 'block\.inner\.0'.*'block' is a Residual/.test(e.message));
  const ok = await tg.transfer.cacheFeatures(net, data(), { upTo: 'block', ...quiet });
  assert.strictEqual(ok.cut, 'block');
  ok.dispose();
});
