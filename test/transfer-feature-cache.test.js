'use strict';
// tg.transfer.cacheFeatures in memory: the cut, eval mode and noGrad while building, fit on the cache equal to
// uncached fit, fresh shuffles per epoch, half-precision storage, staleness and randomness refusals.
const test = require('node:test');
const assert = require('node:assert');
const { settleTensors } = require('./helpers/settle');
const tg = require('..');
const { nn } = tg;

function model(seed = 1) {
  tg.manualSeed(seed);
  const net = new nn.Sequential({
    hidden1: new nn.Linear(6, 10), act1: new nn.ELU(),
    hidden2: new nn.Linear(10, 8), act2: new nn.ReLU(),
    hidden3: new nn.Linear(8, 5), act3: new nn.ReLU(),
    outputs: new nn.Linear(5, 3),
  });
  return net.freeze(/^hidden[12]\./);
}
function data(n = 70, seed = 7) {
  tg.manualSeed(seed);
  return new tg.data.TensorDataset(tg.randn([n, 6]), tg.randint(0, 3, [n]));
}
const quiet = { verbose: 0 };
const maxDiff = (a, b) => tg.tidy(() => a.sub(b).abs().max().item());

test('the default cut is the top of the frozen prefix, and the features equal the frozen part run in eval mode', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, { batchSize: 16, ...quiet });
  assert.strictEqual(cache.cut, 'act2');
  assert.strictEqual(cache.length, 70);
  assert.strictEqual(cache.builds, 1);
  const [f, y] = cache.examples.getBatch([0, 69, 3]);
  const want = tg.noGrad(() => net.slice(0, 'act2').forward(ds.getBatch([0, 69, 3])[0]));
  assert.deepStrictEqual(f.shape, [3, 8]);
  assert.ok(maxDiff(f, want) < 1e-6);
  assert.deepStrictEqual(Array.from(y.dataSync()), Array.from(ds.tensors[1].indexSelect(0, tg.tensor([0, 69, 3])).dataSync()));
  assert.strictEqual(f.requiresGrad, false, 'built without autograd');
  cache.dispose();
});

test('building restores the training flags and leaves the event loop free between batches', async () => {
  const net = model().train();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const cache = await tg.transfer.cacheFeatures(net, data(400), { batchSize: 8, ...quiet });
  clearInterval(timer);
  assert.ok(ticks > 0, 'a timer ran while the cache was built');
  assert.ok(net.namedModules().every(([, m]) => m.training), 'train mode restored');
  cache.dispose();
});

test('an explicit upTo cuts there; a trainable layer below the cut or a cut at the top is refused', async () => {
  const net = model();
  const ds = data();
  const c = await tg.transfer.cacheFeatures(net, ds, { upTo: 'hidden1', ...quiet });
  assert.strictEqual(c.cut, 'hidden1');
  c.dispose();
  await assert.rejects(tg.transfer.cacheFeatures(net, ds, { upTo: 'hidden3', ...quiet }), (e) => e.name === 'TorchError' && /hidden3\.weight/.test(e.message) && /frozen/.test(e.message));
  await assert.rejects(tg.transfer.cacheFeatures(net.freeze(), ds, { upTo: 'outputs', ...quiet }), /nothing above it is left to train/);
  await assert.rejects(tg.transfer.cacheFeatures(model().unfreeze(), ds, quiet), /nothing is frozen/);
  await assert.rejects(tg.transfer.cacheFeatures(net, ds, { store: 'disk', ...quiet }), /needs dir/);
  await assert.rejects(tg.transfer.cacheFeatures(net, ds, { dtype: 'int64', ...quiet }), /dtype must be/);
});

async function train(useCache, epochs = 3) {
  const net = model();
  const ds = data();
  const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.1, momentum: 0.9 });
  const cache = useCache ? await tg.transfer.cacheFeatures(net, ds, { batchSize: 32, ...quiet }) : undefined;
  const seen = [];
  const history = await tg.fit(net, ds, {
    epochs, optimizer, loss: 'crossEntropy', batchSize: 16, seed: 5, cache, ...quiet,
    callbacks: [{ onBatchEnd: (b, logs) => seen.push(logs.loss) }],
  });
  cache?.dispose();
  return { net, history, seen };
}

test('fit with a cache equals uncached fit with the same seed (same batches, same weights to float32 rounding)', async () => {
  const plain = await train(false);
  const cached = await train(true);
  assert.strictEqual(cached.seen.length, plain.seen.length);
  cached.seen.forEach((l, i) => assert.ok(Math.abs(l - plain.seen[i]) < 1e-5, `batch ${i}: ${l} vs ${plain.seen[i]}`));
  for (const [name, p] of plain.net.namedParameters()) assert.ok(maxDiff(p, cached.net.getParameter(name)) < 1e-5, name);
  // the frozen part did not move
  assert.ok(maxDiff(cached.net.get('hidden1').weight, model().get('hidden1').weight) === 0);
});

test('the cache loader reshuffles every epoch and repeats the orders of a DataLoader with the same seed', async () => {
  const ds = data(40);
  const withIndex = new tg.data.TensorDataset(ds.tensors[0], tg.arange(0, 40, 1, { dtype: 'int64' }));
  const cache = await tg.transfer.cacheFeatures(model(), withIndex, quiet);
  const loader = cache.loader({ batchSize: 40, shuffle: true, seed: 3 });
  const order = () => { const [b] = [...loader]; const o = Array.from(b[1].dataSync(), Number); tg.dispose(b); return o; };
  const e0 = order();
  const e1 = order();
  assert.notDeepStrictEqual(e0, e1, 'a fresh shuffle each epoch');
  const ref = new tg.data.DataLoader(withIndex, { batchSize: 40, shuffle: true, seed: 3 });
  assert.deepStrictEqual(e0, ref.order(0));
  assert.deepStrictEqual(e1, ref.order(1));
  cache.dispose();
});

test('float16 and bfloat16 storage halve the bytes and batches come back in the head dtype', async () => {
  const net = model();
  const ds = data();
  const full = await tg.transfer.cacheFeatures(net, ds, quiet);
  for (const dtype of ['float16', 'bfloat16']) {
    const half = await tg.transfer.cacheFeatures(net, ds, { dtype, ...quiet });
    assert.strictEqual(half.examples.tensors[0].dtype, dtype);
    const [a] = full.examples.getBatch([1, 2]);
    const [b] = half.examples.getBatch([1, 2]);
    assert.strictEqual(b.dtype, 'float32');
    assert.ok(maxDiff(a, b) < (dtype === 'float16' ? 1e-2 : 5e-2));
    half.dispose();
  }
  full.dispose();
});

test('a changed frozen weight, an unfrozen layer below the cut, or another dataset makes the cache stale', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  assert.deepStrictEqual(cache.changes(), []);
  const opt = () => ({ epochs: 1, optimizer: new tg.optim.SGD(net.trainableParameters(), { lr: 0.1 }), loss: 'crossEntropy', cache, ...quiet });

  const saved = net.get('hidden2').bias.clone();
  tg.noGrad(() => net.get('hidden2').bias.add_(0.5));
  assert.throws(() => cache.loader(), (e) => e.name === 'TorchError' && e.code === 'ERR_CACHE_STALE' && /'hidden2'/.test(e.message));
  await assert.rejects(tg.fit(net, ds, opt()), /weights or buffers of 'hidden2'/);
  tg.noGrad(() => net.get('hidden2').bias.copy_(saved));
  assert.deepStrictEqual(cache.changes(), [], 'restored weights are current again');

  net.unfreeze(/^hidden1\./);
  await assert.rejects(tg.fit(net, ds, opt()), /structure below the cut/);
  net.freeze(/^hidden1\./);

  await assert.rejects(tg.fit(net, data(70, 8), opt()), /the dataset/);
  await assert.rejects(tg.fit(net, data(69), opt()), /the dataset/);
  await tg.fit(net, ds, opt()); // current again: trains
  cache.dispose();
});

test("onStale 'rebuild' recomputes the features from the changed model instead of failing", async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, { onStale: 'rebuild', ...quiet });
  tg.noGrad(() => net.get('hidden1').weight.mul_(2));
  await tg.fit(net, ds, { epochs: 1, optimizer: new tg.optim.SGD(net.trainableParameters(), { lr: 0.1 }), loss: 'crossEntropy', cache, ...quiet });
  assert.strictEqual(cache.builds, 2);
  assert.match(cache.rebuiltBecause, /hidden1/);
  const [f] = cache.examples.getBatch([4]);
  assert.ok(maxDiff(f, tg.noGrad(() => net.slice(0, 'act2').forward(ds.getBatch([4])[0]))) < 1e-6);
  cache.dispose();
});

test('a frozen part with randomness is refused with the reason unless allowRandom', async () => {
  const ds = data();
  tg.manualSeed(2);
  const net = new nn.Sequential({ hidden: new nn.Linear(6, 8), dropout: new nn.Dropout(0.3), outputs: new nn.Linear(8, 3) }).freeze(/^hidden\./);
  // the default cut leaves the dropout to the head; cutting above it is refused with the fix that applies
  const def = await tg.transfer.cacheFeatures(net, ds, quiet);
  assert.strictEqual(def.cut, 'hidden');
  def.dispose();
  await assert.rejects(tg.transfer.cacheFeatures(net, ds, { upTo: 'dropout', ...quiet }),
    (e) => e.code === 'ERR_CACHE_RANDOM' && /'dropout' is Dropout\(p=0.3\)/.test(e.message) && /upTo: 'hidden'/.test(e.message) && !/allowRandom/.test(e.message));
  const ok = await tg.transfer.cacheFeatures(net, ds, { upTo: 'dropout', allowRandom: true, ...quiet });
  assert.strictEqual(ok.cut, 'dropout');
  ok.dispose();
  // dropout between frozen layers: cut below it, or accept one draw
  const mid = new nn.Sequential({ a: new nn.Linear(6, 8), drop: new nn.Dropout(0.2), b: new nn.Linear(8, 8), outputs: new nn.Linear(8, 3) }).freeze(/^(a|b)\./);
  await assert.rejects(tg.transfer.cacheFeatures(mid, ds, quiet), (e) => e.code === 'ERR_CACHE_RANDOM' && /upTo: 'a'/.test(e.message) && /allowRandom/.test(e.message));
  const bn = new nn.Sequential({ hidden: new nn.Linear(6, 8), bn: new nn.BatchNorm1d(8), outputs: new nn.Linear(8, 3) });
  bn.get('hidden').requiresGrad_(false);
  bn.get('bn').requiresGrad_(false);
  await assert.rejects(tg.transfer.cacheFeatures(bn, ds, { upTo: 'bn', ...quiet }), /batch's statistics/);
  bn.freeze(/^(hidden|bn)\./);
  (await tg.transfer.cacheFeatures(bn, ds, quiet)).dispose();
  // stochastic depth (EfficientNet, ConvNeXt) drops at random too
  const sd = new nn.Sequential({ a: new nn.Linear(6, 8), depth: new nn.StochasticDepth(0.2, 'row'), b: new nn.Linear(8, 8), outputs: new nn.Linear(8, 3) }).freeze(/^(a|b)\./);
  await assert.rejects(tg.transfer.cacheFeatures(sd, ds, { upTo: 'b', ...quiet }), (e) => e.code === 'ERR_CACHE_RANDOM' && /'depth' is StochasticDepth\(p=0.2\)/.test(e.message));
  const augmenting = Object.assign(data(), { augmenting: true });
  await assert.rejects(tg.transfer.cacheFeatures(model(), augmenting, quiet), /augmenting/);
});

test('a dataset key stands for its content in the fingerprint', async () => {
  const ds = Object.assign(data(), { cacheKey: 'digits-v1' });
  const cache = await tg.transfer.cacheFeatures(model(), ds, quiet);
  assert.strictEqual(cache.fingerprint.dataset, 'key:digits-v1');
  assert.deepStrictEqual(cache.changes(undefined, Object.assign(data(70, 9), { cacheKey: 'digits-v1' })), []);
  assert.strictEqual(cache.changes(undefined, Object.assign(data(), { cacheKey: 'digits-v2' })).length, 1);
  cache.dispose();
});

test('the device store keeps the features on the given device', async () => {
  const cache = await tg.transfer.cacheFeatures(model(), data(), { store: 'device', device: 'cpu', ...quiet });
  assert.strictEqual(cache.examples.tensors[0].device, 'cpu');
  cache.dispose();
});

test('a progress bar is drawn on a terminal while building', async () => {
  let text = '';
  const output = { isTTY: true, write: (s) => { text += s; } };
  const cache = await tg.transfer.cacheFeatures(model(), data(), { batchSize: 8, output });
  assert.match(text, /Caching features \[/);
  assert.match(text, /Cached features of 70 examples \(memory\)/);
  cache.dispose();
});

test('fit given a DataLoader and a cache batches as that loader would (its size, shuffle and seed)', async () => {
  const run = async (useCache) => {
    const net = model();
    const ds = data();
    const cache = useCache ? await tg.transfer.cacheFeatures(net, ds, quiet) : undefined;
    const loader = new tg.data.DataLoader(ds, { batchSize: 12, shuffle: true, seed: 21 });
    const sizes = [];
    const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.05 });
    await tg.fit(net, loader, { epochs: 2, optimizer, loss: 'crossEntropy', cache, ...quiet, callbacks: [{ onBatchEnd: (b, l) => sizes.push(l.size) }] });
    cache?.dispose();
    return { net, sizes };
  };
  const plain = await run(false);
  const cached = await run(true);
  // The two runs match because both follow the loader's shuffle: it is not the dataset order, and depends on the seed.
  const probe = new tg.data.DataLoader(data(), { batchSize: 12, shuffle: true, seed: 21 });
  const identity = Array.from({ length: 70 }, (_, i) => i);
  assert.notDeepStrictEqual(probe.order(0), identity, 'the loader shuffles');
  assert.notDeepStrictEqual(probe.order(0), new tg.data.DataLoader(data(), { batchSize: 12, shuffle: true, seed: 22 }).order(0), 'seeds differ');
  const unshuffled = await (async () => {
    const net = model();
    const ds = data();
    await tg.fit(net, new tg.data.DataLoader(ds, { batchSize: 12 }), { epochs: 2, optimizer: new tg.optim.SGD(net.trainableParameters(), { lr: 0.05 }), loss: 'crossEntropy', ...quiet });
    return net;
  })();
  assert.ok(maxDiff(plain.net.get('outputs').weight, unshuffled.get('outputs').weight) > 1e-4, 'the shuffle changed what was learned');
  assert.deepStrictEqual(cached.sizes, plain.sizes);
  assert.strictEqual(cached.sizes[0], 12);
  assert.ok(maxDiff(plain.net.get('outputs').weight, cached.net.get('outputs').weight) < 1e-5);
});

test('a dataset with only getItem is cached and fingerprinted by its content', async () => {
  const base = data(30);
  const plain = { length: 30, getItem: (i) => base.getItem(i) };
  const cache = await tg.transfer.cacheFeatures(model(), plain, { batchSize: 8, ...quiet });
  const [f] = cache.examples.getBatch([29]);
  assert.ok(maxDiff(f, tg.noGrad(() => model().slice(0, 'act2').forward(base.getBatch([29])[0]))) < 1e-6);
  assert.deepStrictEqual(cache.changes(), []);
  const other = data(30, 99);
  assert.match(cache.changes(undefined, { length: 30, getItem: (i) => other.getItem(i) })[0], /the dataset/);
  cache.dispose();
});

test('fit with a cache validates raw inputs through the whole model and restores its modes', async () => {
  const net = model();
  const ds = data();
  const val = data(30, 9);
  const cache = await tg.transfer.cacheFeatures(net, ds, { batchSize: 16, ...quiet });
  const opt = new tg.optim.SGD(net.trainableParameters(), { lr: 0.05 });
  const h = await tg.fit(net, ds, { cache, epochs: 2, optimizer: opt, loss: 'crossEntropy', metrics: ['accuracy'], validation: val, batchSize: 16, seed: 3, ...quiet });
  const want = await tg.evaluate(net, val, { loss: 'crossEntropy', metrics: ['accuracy'] });
  assert.ok(Math.abs(h.last().val_loss - want.loss) < 1e-6, 'val_loss is the whole model on raw validation inputs');
  assert.ok(Math.abs(h.last().val_accuracy - want.accuracy) < 1e-6);
  assert.strictEqual(net.training, true);
  assert.strictEqual(net.get('hidden1').training, true);
  cache.dispose();
});

test('building frees the frozen part\'s intermediate activations batch by batch: no tensors are left but the cache\'s', async () => {
  const net = model();
  const ds = data();
  await settleTensors(); // earlier tests' dropped tensors would otherwise be freed by GC during the build's awaits
  const before = tg.memory().tensors;
  const cache = await tg.transfer.cacheFeatures(net, ds, { batchSize: 16, ...quiet });
  // the cache holds its features and the labels; 5 batches through 4 layers left nothing behind
  assert.strictEqual(tg.memory().tensors - before, 2);
  cache.dispose();
  assert.strictEqual(tg.memory().tensors, before);
});
