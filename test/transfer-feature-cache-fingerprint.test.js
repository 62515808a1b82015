'use strict';
// The feature cache's fingerprint covers buffers and labels: a change to either alone, in memory or on disk, is stale.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { nn } = tg;

// A frozen Linear + BatchNorm below the cut: BatchNorm's running statistics are buffers, not parameters.
function model(seed = 1) {
  tg.manualSeed(seed);
  return new nn.Sequential({
    hidden1: new nn.Linear(6, 8), bn1: new nn.BatchNorm1d(8), act1: new nn.ReLU(),
    outputs: new nn.Linear(8, 3),
  }).freeze(/^(hidden1|bn1)\./);
}
// Same features every call; the labels alone depend on labelSeed.
function data(labelSeed = 3, n = 40) {
  tg.manualSeed(7);
  const x = tg.randn([n, 6]);
  tg.manualSeed(labelSeed);
  return new tg.data.TensorDataset(x, tg.randint(0, 3, [n]));
}
const quiet = { verbose: 0 };
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fprint-'));
const stale = (what) => (e) => e.name === 'TorchError' && e.code === 'ERR_CACHE_STALE' && what.test(e.message);
const bumpRunningMean = (net) => tg.noGrad(() => net.getBuffer('bn1.running_mean').add_(1));

test('memory store: a buffers-only change (running_mean += 1 below the cut) is stale and names the layer', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  assert.deepStrictEqual(cache.changes(), []);
  const params = net.namedParameters().map(([n, p]) => [n, p.clone()]);
  bumpRunningMean(net);
  assert.ok(params.every(([n, p]) => net.getParameter(n).equal(p)), 'no parameter changed: only a buffer did');
  assert.deepStrictEqual(cache.changes(), ["the weights or buffers of 'bn1'"]);
  assert.throws(() => cache.loader(), stale(/weights or buffers of 'bn1'/));
  cache.dispose();
});

test('memory store: a labels-only change (same features) is stale and names the dataset', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  const other = data(4);
  assert.ok(other.tensors[0].equal(ds.tensors[0]) && !other.tensors[1].equal(ds.tensors[1]), 'only the labels differ');
  assert.deepStrictEqual(cache.changes(net, other), ['the dataset (another length, content or key)']);
  const opt = { epochs: 1, optimizer: new tg.optim.SGD(net.trainableParameters(), { lr: 0.1 }), loss: 'crossEntropy', cache, ...quiet };
  await assert.rejects(tg.fit(net, other, opt), stale(/the dataset/));
  // The same tensor changed in place: its stamp differs, the hash decides.
  tg.noGrad(() => ds.tensors[1].copy_(other.tensors[1]));
  assert.throws(() => cache.loader(), stale(/the dataset/));
  cache.dispose();
});

test('disk store: a buffers-only change and a labels-only change are each stale when the file is reopened', async () => {
  const dir = tmpDir();
  (await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, ...quiet })).dispose();
  const again = await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, ...quiet });
  assert.strictEqual(again.builds, 0, 'the unchanged model and data reuse the file');
  again.dispose();
  const changed = model();
  bumpRunningMean(changed);
  await assert.rejects(tg.transfer.cacheFeatures(changed, data(), { store: 'disk', dir, ...quiet }),
    (e) => stale(/weights or buffers of 'bn1'/)(e) && e.message.includes('features.tgcache') && !/the dataset/.test(e.message));
  await assert.rejects(tg.transfer.cacheFeatures(model(), data(4), { store: 'disk', dir, ...quiet }),
    (e) => stale(/the dataset/)(e) && !/weights or buffers/.test(e.message));
  fs.rmSync(dir, { recursive: true, force: true });
});
