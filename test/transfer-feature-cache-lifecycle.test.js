'use strict';
// A feature cache over its life: rebuilt by verify() with onStale 'rebuild' (and why, every change named), rebuilt
// after dispose(), its head when the cut is the first layer, and fit refusing data that is not a dataset.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

const { nn } = tg;
const quiet = { verbose: 0 };
function model() {
  tg.manualSeed(1);
  return new nn.Sequential({
    hidden1: new nn.Linear(6, 10), act1: new nn.ReLU(),
    hidden2: new nn.Linear(10, 8), act2: new nn.ReLU(),
    outputs: new nn.Linear(8, 3),
  }).freeze(/^hidden/);
}
function data(n = 12) {
  tg.manualSeed(7);
  return new tg.data.TensorDataset(tg.randn([n, 6]), tg.randint(0, 3, [n]));
}
const values = (t) => Array.from(t.dataSync(), Number);
/** The frozen part's outputs for rows `rows`, computed now. */
function expected(net, ds, rows) {
  const [x] = ds.getBatch(rows);
  const out = tg.noGrad(() => net.slice(0, 'act2').forward(x));
  x.dispose();
  return out;
}

test("verify() with onStale 'rebuild' rebuilds from the changed model and says why, naming every change", async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, { onStale: 'rebuild', ...quiet });
  await cache.verify();
  assert.deepStrictEqual([cache.builds, cache.builtRows, cache.rebuiltBecause], [1, 12, undefined], 'current: nothing rebuilt');
  tg.noGrad(() => {
    net.get('hidden1').bias.add_(1);
    net.get('hidden2').weight.mul_(2);
    ds.tensors[1].fill_(2);
  });
  await cache.verify();
  assert.deepStrictEqual([cache.builds, cache.builtRows], [2, 12]);
  assert.strictEqual(cache.rebuiltBecause, "changed: the weights or buffers of 'hidden1', 'hidden2'; the dataset (another length, content or key)");
  const [f] = cache.examples.getBatch([0, 5]);
  const want = expected(net, ds, [0, 5]);
  assert.deepStrictEqual(values(f), values(want));
  f.dispose();
  want.dispose();
  cache.dispose();
});

test('a disposed cache is rebuilt by rebuild(), and reads again', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  cache.dispose();
  assert.throws(() => cache.examples, { code: 'ERR_CACHE_DISPOSED' });
  await cache.rebuild();
  assert.strictEqual(cache.builds, 2);
  const [f] = cache.examples.getBatch([3]);
  const want = expected(net, ds, [3]);
  assert.deepStrictEqual(values(f), values(want));
  f.dispose();
  want.dispose();
  cache.dispose();
});

test('a cut at the first layer leaves every other layer in the head', async () => {
  tg.manualSeed(1);
  const net = new nn.Sequential({ hidden1: new nn.Linear(6, 4), act1: new nn.ReLU(), outputs: new nn.Linear(4, 3) }).freeze(/^hidden1\./);
  const cache = await tg.transfer.cacheFeatures(net, data(), { upTo: 'hidden1', ...quiet });
  assert.strictEqual(cache.cut, 'hidden1');
  assert.deepStrictEqual(cache.head().namedParameters().map(([n]) => n), ['outputs.weight', 'outputs.bias']);
  cache.dispose();
});

test('fit with a cache refuses data that is not a dataset, a DataLoader over one or tensors', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, quiet);
  const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.1 });
  await assert.rejects(tg.fit(net, { dataset: ds, length: 12, getItem: undefined }, { epochs: 1, optimizer, loss: 'crossEntropy', cache, ...quiet }),
    { name: 'TypeError', message: 'fit: a feature cache needs the dataset it was built from (a Dataset, a DataLoader over one, or tensors [x, y])' });
  cache.dispose();
});

test("a disk cache reopened after changes, with onStale 'rebuild', says every change; an open failing otherwise than a checksum is thrown", async () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const { BlockFile } = require('../dist/transfer/cache/block-reader');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-flife-'));
  try {
    const net = model();
    const ds = data();
    const first = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, ...quiet });
    assert.strictEqual(first.rebuiltBecause, undefined, 'no file before: nothing was rebuilt');
    first.dispose();
    tg.noGrad(() => {
      net.get('hidden2').bias.add_(1);
      ds.tensors[1].fill_(1);
    });
    const again = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, onStale: 'rebuild', ...quiet });
    assert.strictEqual(again.rebuiltBecause, "changed: the weights or buffers of 'hidden2'; the dataset (another length, content or key)");
    again.dispose();
    // the labels' read at open fails with an I/O error: that is not a damaged file to rebuild, it reaches the caller
    const readFieldSync = BlockFile.prototype.readFieldSync;
    const failure = new tg.TorchError('feature cache: read failed (EIO)', { code: 'ERR_IO' });
    let reads = 0;
    BlockFile.prototype.readFieldSync = function (...args) {
      if (reads++ === 0) throw failure; // once: a rebuild would then succeed and hide it
      return readFieldSync.apply(this, args);
    };
    try {
      await assert.rejects(tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, ...quiet }), (e) => e === failure);
      assert.strictEqual(reads, 1);
    } finally {
      BlockFile.prototype.readFieldSync = readFieldSync;
    }
    const reused = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, ...quiet });
    assert.strictEqual(reused.builds, 0, 'the file was left as it was');
    reused.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("rebuild() after the cache's signal was aborted rejects before any work, and keeps nothing", async () => {
  const net = model();
  const ds = data();
  const ac = new AbortController();
  const cache = await tg.transfer.cacheFeatures(net, ds, { signal: ac.signal, ...quiet });
  ac.abort('stop');
  await assert.rejects(cache.rebuild(), { name: 'AbortError', message: 'cacheFeatures: the operation was aborted', cause: 'stop' });
  assert.strictEqual(cache.builds, 1);
  assert.throws(() => cache.examples, { code: 'ERR_CACHE_DISPOSED' }, 'the old features were freed before the rebuild');
});

test('a stale cache is refused with the whole message: what changed, where the file is, and how to rebuild', async () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const net = model();
  const ds = data();
  const memory = await tg.transfer.cacheFeatures(net, ds, quiet);
  tg.noGrad(() => net.get('hidden1').bias.add_(1));
  const rebuildHint = "Rebuild it (cache.rebuild(), or onStale: 'rebuild')";
  await assert.rejects(memory.verify(), { code: 'ERR_CACHE_STALE',
    message: `FeatureCache: the cache is stale: changed since it was built: the weights or buffers of 'hidden1'. ${rebuildHint}` });
  tg.noGrad(() => ds.tensors[1].add_(1));
  await assert.rejects(memory.verify(), { code: 'ERR_CACHE_STALE',
    message: `FeatureCache: the cache is stale: changed since it was built: the weights or buffers of 'hidden1'; the dataset (another length, content or key). ${rebuildHint}` });
  tg.noGrad(() => ds.tensors[1].sub_(1));
  memory.dispose();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-flife-'));
  try {
    (await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, ...quiet })).dispose();
    tg.noGrad(() => ds.tensors[1].fill_(0));
    const file = path.join(dir, 'features.tgcache');
    await assert.rejects(tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, ...quiet }), { code: 'ERR_CACHE_STALE',
      message: `FeatureCache: the cache '${file}' is stale: changed since it was built: the dataset (another length, content or key). ${rebuildHint}` });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an already-aborted signal is refused by cacheFeatures with its name', async () => {
  const ac = new AbortController();
  ac.abort('early');
  await assert.rejects(tg.transfer.cacheFeatures(model(), data(), { signal: ac.signal, ...quiet }),
    { name: 'AbortError', message: 'cacheFeatures: the operation was aborted', cause: 'early' });
});

test('a disk build failing otherwise than by an abort or a full disk removes its partial file and journal', async () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-flife-'));
  try {
    const base = data(40);
    const failure = new tg.TorchError('the source went away', { code: 'ERR_IO' });
    const failing = { length: 40, cacheKey: 'failing', getItem: (i) => base.getItem(i), getBatch: (idx) => {
      if (idx[0] >= 16) throw failure;
      return base.getBatch(idx);
    } };
    await assert.rejects(tg.transfer.cacheFeatures(model(), failing, { store: 'disk', dir, batchSize: 8, blockRows: 8, ...quiet }), (e) => e === failure);
    assert.deepStrictEqual(fs.readdirSync(dir), [], 'nothing kept to resume: the failure was not an interruption');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a cache file that cannot be opened right after it was written is ERR_IO saying why', async () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  const diskFile = require('../dist/transfer/cache/disk-file');
  const openCacheFile = diskFile.openCacheFile;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-flife-'));
  try {
    for (const [after, why] of [[{ invalid: 'is truncated (0 bytes)' }, 'is truncated (0 bytes)'], [{ missing: true }, 'is missing']]) {
      let opens = 0;
      // the first open looks for a file to reuse; the second, after the build, finds it replaced or gone
      diskFile.openCacheFile = (file) => (opens++ === 0 ? openCacheFile(file) : after);
      await assert.rejects(tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, ...quiet }),
        { name: 'TorchError', code: 'ERR_IO', message: `cacheFeatures: the cache file just written ${why}` });
      assert.strictEqual(opens, 2);
      diskFile.openCacheFile = openCacheFile;
      fs.rmSync(path.join(dir, 'features.tgcache'), { force: true });
    }
  } finally {
    diskFile.openCacheFile = openCacheFile;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
