'use strict';
// A feature cache's staleness check within a process: an unchanged model and dataset are proven current from the
// tensors' identities and LibTorch version counters, without reading any values; every way the frozen weights, their
// buffers or the dataset (labels included) can change is still found and named, by layer.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { nn } = tg;

function model(seed = 1) {
  tg.manualSeed(seed);
  return new nn.Sequential({
    hidden1: new nn.Linear(6, 10), act1: new nn.ReLU(),
    hidden2: new nn.Linear(10, 8), act2: new nn.ReLU(),
    outputs: new nn.Linear(8, 3),
  }).freeze(/^hidden/);
}
function withBatchNorm(seed = 1) {
  tg.manualSeed(seed);
  return new nn.Sequential({
    hidden: new nn.Linear(6, 8), bn: new nn.BatchNorm1d(8), act: new nn.ReLU(),
    outputs: new nn.Linear(8, 3),
  }).freeze(/^(hidden|bn)\./);
}
function data(n = 40, seed = 7) {
  tg.manualSeed(seed);
  return new tg.data.TensorDataset(tg.randn([n, 6]), tg.randint(0, 3, [n]));
}
const quiet = { verbose: 0 };
const fitOptions = (net, cache) => ({ epochs: 1, optimizer: new tg.optim.SGD(net.trainableParameters(), { lr: 0.1 }), loss: 'crossEntropy', batchSize: 16, seed: 1, cache, ...quiet });

// Counts reads of tensor values (Tensor#dataSync, what content hashing does) while fn runs, by tensor.
const proto = Object.getPrototypeOf(tg.zeros([1]));
async function reads(fn) {
  const original = proto.dataSync;
  const seen = [];
  proto.dataSync = function (...args) {
    seen.push(this);
    return original.apply(this, args);
  };
  try {
    const result = await fn();
    return { seen, result };
  } finally {
    proto.dataSync = original;
  }
}
// The frozen tensors (parameters and buffers below the cut) and the dataset's tensors, which hashing would read.
const watched = (net, ds) => new Set([...net.namedParameters(), ...net.namedBuffers()].filter(([n]) => !n.startsWith('outputs.')).map(([, t]) => t).concat(ds.tensors));
const readsOf = (seen, tensors) => seen.filter((t) => tensors.has(t)).length;

test('an unchanged model and dataset are proven current without reading a frozen weight or a dataset value', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  const w = watched(net, ds);
  let r = await reads(() => cache.changes());
  assert.deepStrictEqual(r.result, []);
  assert.strictEqual(readsOf(r.seen, w), 0, 'changes() read no frozen weight or dataset value');
  r = await reads(() => { const loader = cache.loader({ batchSize: 8 }); return loader.length; });
  assert.strictEqual(readsOf(r.seen, w), 0, 'loader() read none');
  for (let k = 0; k < 2; k++) {
    r = await reads(() => tg.fit(net, ds, fitOptions(net, cache)));
    assert.strictEqual(readsOf(r.seen, w), 0, `fit ${k} read none`);
  }
  // the same tensors as [x, y]: another TensorDataset object over the same tensors is the same data
  r = await reads(() => tg.fit(net, [ds.tensors[0], ds.tensors[1]], fitOptions(net, cache)));
  assert.strictEqual(readsOf(r.seen, w), 0, 'fit on [x, y] read none');
  // a forward pass in training mode (BatchNorm statistics frozen) changes nothing either
  const bnNet = withBatchNorm().train();
  const bnCache = await tg.transfer.cacheFeatures(bnNet, ds, quiet);
  tg.tidy(() => bnNet.forward(ds.tensors[0]));
  r = await reads(() => bnCache.changes());
  assert.deepStrictEqual(r.result, []);
  assert.strictEqual(readsOf(r.seen, watched(bnNet, ds)), 0);
  cache.dispose();
  bnCache.dispose();
});

test('an in-place change of a frozen weight is named; restored by copy_, the cache is current and proven so cheaply again', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  const bias = net.get('hidden2').bias;
  const saved = bias.clone();
  tg.noGrad(() => bias.add_(0.5));
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'hidden2'"]);
  await assert.rejects(tg.fit(net, ds, fitOptions(net, cache)), (e) => e.code === 'ERR_CACHE_STALE' && /'hidden2'/.test(e.message) && !/'hidden1'/.test(e.message));
  // an in-place change through a view shares the version counter
  tg.noGrad(() => bias.copy_(saved));
  const view = net.get('hidden1').weight.narrow(0, 0, 1);
  tg.noGrad(() => view.mul_(2));
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'hidden1'"]);
  tg.noGrad(() => view.div_(2));
  // only the layers whose versions moved are hashed to find out that their content is back
  let r = await reads(() => cache.changes());
  assert.deepStrictEqual(r.result, []);
  const h1 = new Set([net.get('hidden1').weight, net.get('hidden1').bias]);
  assert.ok(readsOf(r.seen, h1) > 0, 'hidden1 was hashed');
  assert.strictEqual(readsOf(r.seen, new Set([net.get('hidden2').weight, bias, ...ds.tensors])), 0, 'hidden2 and the dataset were not');
  r = await reads(() => cache.changes());
  assert.deepStrictEqual(r.result, []);
  assert.strictEqual(readsOf(r.seen, watched(net, ds)), 0, 'the proof is remembered: the next check reads nothing');
  cache.dispose();
});

test('a BatchNorm buffer changed in place, or by a training forward pass, is named', async () => {
  const ds = data();
  const net = withBatchNorm();
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  const bn = net.get('bn');
  tg.noGrad(() => bn.running_mean.add_(1));
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'bn'"]);
  tg.noGrad(() => bn.running_mean.sub_(1));
  assert.deepStrictEqual(cache.changes(), []);
  // statistics unfrozen for a while: a training forward pass moves them (LibTorch does not count that write)
  bn.frozenStatistics = false;
  net.train();
  tg.tidy(() => net.forward(ds.tensors[0]));
  bn.frozenStatistics = true;
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'bn'"]);
  cache.dispose();
});

test('running statistics updated through F.batchNorm by a custom layer, without a batch counter, are named', async () => {
  class Norm extends nn.Module {
    constructor() {
      super();
      this.registerBuffer('mean', tg.zeros([8]));
      this.registerBuffer('var', tg.ones([8]));
    }
    forward(x) {
      return nn.functional.batchNorm(x, this.mean, this.var, { training: this.training });
    }
  }
  tg.manualSeed(1);
  const net = new nn.Sequential({ hidden: new nn.Linear(6, 8), norm: new Norm(), outputs: new nn.Linear(8, 3) }).freeze(/^hidden\./);
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, { upTo: 'norm', ...quiet });
  const version = net.get('norm').mean._version();
  net.train();
  tg.tidy(() => net.forward(ds.tensors[0]));
  assert.strictEqual(net.get('norm').mean._version(), version, 'LibTorch 1.13 does not bump the running mean\'s version');
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'norm'"]);
  cache.dispose();
});

test('labels changed while the features stay the same are a change of the dataset', async () => {
  const net = model();
  const ds = data();
  const [x, y] = ds.tensors;
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  const saved = y.clone();
  tg.noGrad(() => y.fill_(2));
  assert.deepStrictEqual(cache.changes(), ['the dataset (another length, content or key)']);
  await assert.rejects(tg.fit(net, ds, fitOptions(net, cache)), /the dataset/);
  y.copy_(saved);
  assert.deepStrictEqual(cache.changes(), []);
  // other label tensors over the same features: a new dataset, or a tensor swapped into the old one
  const other = saved.add(1).remainder(3);
  assert.deepStrictEqual(cache.changes(undefined, new tg.data.TensorDataset(x, other)), ['the dataset (another length, content or key)']);
  await assert.rejects(tg.fit(net, [x, other], fitOptions(net, cache)), /the dataset/);
  ds.tensors[1] = other;
  assert.deepStrictEqual(cache.changes(), ['the dataset (another length, content or key)']);
  ds.tensors[1] = y;
  // the same labels in another tensor are the same data
  assert.deepStrictEqual(cache.changes(undefined, new tg.data.TensorDataset(x, saved)), []);
  cache.dispose();
});

test('labels changed in place and restored: hashed once to prove it, then proven current without reading them again', async () => {
  const net = model();
  const ds = data();
  const y = ds.tensors[1];
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  const saved = y.clone();
  tg.noGrad(() => y.fill_(1));
  y.copy_(saved);
  let r = await reads(() => cache.changes());
  assert.deepStrictEqual(r.result, []);
  assert.ok(readsOf(r.seen, new Set(ds.tensors)) > 0, 'the dataset was hashed: its versions moved');
  r = await reads(() => cache.changes());
  assert.deepStrictEqual(r.result, []);
  assert.strictEqual(readsOf(r.seen, watched(net, ds)), 0, 'the proof is remembered');
  cache.dispose();
});

test('a TensorDataset with a cacheKey is compared by its key at every check, never by its tensors', async () => {
  const net = model();
  const ds = data();
  ds.cacheKey = 'train-v1';
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  for (let k = 0; k < 2; k++) {
    const r = await reads(() => cache.changes());
    assert.deepStrictEqual(r.result, [], `check ${k}`);
    assert.strictEqual(readsOf(r.seen, new Set(ds.tensors)), 0, `check ${k}: the key decides, no value is read`);
  }
  tg.noGrad(() => ds.tensors[1].fill_(2));
  assert.deepStrictEqual(cache.changes(), [], 'the key is the owner\'s word: same key, same data');
  ds.cacheKey = 'train-v2';
  assert.deepStrictEqual(cache.changes(), ['the dataset (another length, content or key)']);
  cache.dispose();
});

test('a replaced parameter is a change when its values differ, and not when they are equal', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  const h1 = net.get('hidden1');
  const old = h1.weight;
  h1.weight = tg.noGrad(() => old.mul(1.5));
  h1.weight.requiresGrad = false;
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'hidden1'"]);
  h1.weight = tg.noGrad(() => old.clone());
  h1.weight.requiresGrad = false;
  assert.deepStrictEqual(cache.changes(), []);
  // two views of one storage share its version counter: swapping one for the other is still a change
  const both = tg.randn([2, 10, 6]);
  h1.weight = both.select(0, 0);
  h1.weight.requiresGrad = false;
  await cache.rebuild();
  assert.deepStrictEqual(cache.changes(), []);
  h1.weight = both.select(0, 1);
  h1.weight.requiresGrad = false;
  assert.strictEqual(h1.weight._version(), both.select(0, 0)._version());
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'hidden1'"]);
  cache.dispose();
});

test('loading other weights into the frozen layers (state dict or checkpoint file) is a change; the same weights are not', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  net.loadStateDict(model(2).stateDict());
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'hidden1', 'hidden2'"]);
  net.loadStateDict(model(1).stateDict());
  assert.deepStrictEqual(cache.changes(), []);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-stamp-'));
  const file = path.join(dir, 'other.ckpt');
  await tg.io.saveCheckpoint(file, { model: model(3) });
  await tg.io.loadCheckpoint(file, { model: net });
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'hidden1', 'hidden2'"]);
  fs.rmSync(dir, { recursive: true, force: true });
  cache.dispose();
});

test('optimizer steps on the frozen part after an unfreeze are a change once it is frozen again', async () => {
  for (const Optim of [tg.optim.SGD, tg.optim.Adam]) {
    const net = model();
    const ds = data();
    const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
    net.unfreeze(/^hidden1\./);
    assert.deepStrictEqual(cache.changes(), ['the structure below the cut (layers, their options, or which parameters are frozen)']);
    const opt = new Optim(net.parameters(/^hidden1\./), { lr: 0.01 });
    tg.tidy(() => {
      opt.zeroGrad();
      tg.nn.functional.crossEntropy(net.forward(ds.tensors[0]), ds.tensors[1]).backward();
      opt.step();
    });
    net.freeze(/^hidden1\./);
    assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'hidden1'"], Optim.name);
    cache.dispose();
  }
});

test('a module converted to another dtype and back (values rounded) is a change, for tg modules and TorchScript ones', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  net.get('hidden1').to('float16').to('float32');
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'hidden1'"]);
  cache.dispose();
  // TorchScript modules convert their tensors in place (LibTorch's set_data: same tensor object, no version bump)
  const scripted = await tg.io.loadTorchScript(path.join(__dirname, 'fixtures', 'foreign', 'torchsharp_mlp_1000_100_10_torchscript.pt'));
  const base = scripted.submodule('0');
  const ts = new nn.Sequential({ base, outputs: new nn.Linear(100, 3) });
  for (const p of base.parameters()) p.requiresGrad = false;
  tg.manualSeed(5);
  const tsData = new tg.data.TensorDataset(tg.randn([20, 1000]), tg.randint(0, 3, [20]));
  const tsCache = await tg.transfer.cacheFeatures(ts, tsData, quiet);
  const weight = base.parameters()[0];
  const version = weight._version();
  base.to('float16');
  base.to('float32');
  assert.strictEqual(base.parameters()[0], weight, 'the same tensor object');
  assert.strictEqual(weight._version(), version, 'set_data does not bump the version');
  const changed = tsCache.changes();
  assert.strictEqual(changed.length, 1);
  assert.match(changed[0], /the weights or buffers of 'base'/);
  tsCache.dispose();
});

test('a dataset without tensors or a key is still read and compared by content at every check', async () => {
  const base = data(24);
  const items = { length: 24, getItem: (i) => base.getItem(i) };
  const cache = await tg.transfer.cacheFeatures(model(), items, { batchSize: 8, ...quiet });
  assert.deepStrictEqual(cache.changes(), []);
  tg.noGrad(() => base.tensors[0].narrow(0, 3, 1).add_(1)); // the object is the same, what it gives is not
  assert.deepStrictEqual(cache.changes(), ['the dataset (another length, content or key)']);
  cache.dispose();
});

test('a disk cache reopened in the same process compares content with the file, then checks by version', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-stamp-'));
  const ds = data();
  (await tg.transfer.cacheFeatures(model(), ds, { store: 'disk', dir, ...quiet })).dispose();
  const net = model();
  const cache = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, ...quiet });
  assert.strictEqual(cache.builds, 0, 'equal content reopens the file');
  const r = await reads(() => cache.changes());
  assert.deepStrictEqual(r.result, []);
  assert.strictEqual(readsOf(r.seen, watched(net, ds)), 0);
  tg.noGrad(() => net.get('hidden2').weight.add_(1));
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'hidden2'"]);
  cache.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});
