'use strict';
// tg.transfer.cacheFeatures with store 'disk': progressive atomic writes, reuse by a later process, stale and
// damaged files, and training from rows read by offset.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const tg = require('..');
const { nn } = tg;

function model(seed = 1) {
  tg.manualSeed(seed);
  return new nn.Sequential({
    hidden1: new nn.Linear(6, 12), act1: new nn.ReLU(),
    outputs: new nn.Linear(12, 3),
  }).freeze(/^hidden1\./);
}
function data(n = 50, seed = 7) {
  tg.manualSeed(seed);
  return new tg.data.TensorDataset(tg.randn([n, 6]), tg.randint(0, 3, [n]));
}
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fcache-'));
const quiet = { verbose: 0 };
const maxDiff = (a, b) => tg.tidy(() => a.sub(b).abs().max().item());

test('a disk cache holds the same features as a memory cache and leaves no temporary file', async () => {
  const dir = tmpDir();
  const net = model();
  const ds = data();
  const mem = await tg.transfer.cacheFeatures(net, ds, quiet);
  const disk = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, batchSize: 7, ...quiet });
  assert.strictEqual(disk.builds, 1);
  assert.deepStrictEqual(fs.readdirSync(dir), ['features.tgcache']);
  const idx = [49, 0, 1, 2, 17, 3];
  const [a, ya] = mem.examples.getBatch(idx);
  const [b, yb] = disk.examples.getBatch(idx);
  assert.strictEqual(maxDiff(a, b), 0);
  assert.deepStrictEqual(Array.from(ya.dataSync()), Array.from(yb.dataSync()));
  mem.dispose();
  disk.dispose();
});

test('a second cache over the same model and data reuses the file and builds nothing', async () => {
  const dir = tmpDir();
  const first = await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, dtype: 'float16', ...quiet });
  first.dispose();
  const second = await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, dtype: 'float16', ...quiet });
  assert.strictEqual(second.builds, 0);
  assert.strictEqual(second.rebuiltBecause, undefined);
  const [f] = second.examples.getBatch([3]);
  assert.strictEqual(f.dtype, 'float32', 'cast back to the head dtype');
  const want = tg.noGrad(() => model().slice(0, 'act1').forward(data().getBatch([3])[0]));
  assert.ok(maxDiff(f, want) < 1e-2);
  second.dispose();
});

test('a later process reuses the disk cache: its second run builds nothing', () => {
  const dir = tmpDir();
  const script = `
    const tg = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    tg.manualSeed(1);
    const net = new tg.nn.Sequential({ hidden1: new tg.nn.Linear(6, 12), act1: new tg.nn.ReLU(), outputs: new tg.nn.Linear(12, 3) }).freeze(/^hidden1\\./);
    tg.manualSeed(7);
    const ds = new tg.data.TensorDataset(tg.randn([50, 6]), tg.randint(0, 3, [50]));
    tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir: ${JSON.stringify(dir)}, verbose: 0 })
      .then((c) => { process.stdout.write(String(c.builds)); c.dispose(); });`;
  const run = () => execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.strictEqual(run(), '1');
  assert.strictEqual(run(), '0');
});

test('a stale disk cache is an error naming the file and the change, or a rebuild when asked', async () => {
  const dir = tmpDir();
  (await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, ...quiet })).dispose();
  const changed = model();
  tg.noGrad(() => changed.get('hidden1').bias.add_(1));
  await assert.rejects(
    tg.transfer.cacheFeatures(changed, data(), { store: 'disk', dir, ...quiet }),
    (e) => e.code === 'ERR_CACHE_STALE' && e.message.includes('features.tgcache') && /'hidden1'/.test(e.message),
  );
  await assert.rejects(tg.transfer.cacheFeatures(model(), data(50, 9), { store: 'disk', dir, ...quiet }), /the dataset/);
  const rebuilt = await tg.transfer.cacheFeatures(changed, data(), { store: 'disk', dir, onStale: 'rebuild', ...quiet });
  assert.strictEqual(rebuilt.builds, 1);
  assert.match(rebuilt.rebuiltBecause, /hidden1/);
  rebuilt.dispose();
  const again = await tg.transfer.cacheFeatures(changed, data(), { store: 'disk', dir, ...quiet });
  assert.strictEqual(again.builds, 0, 'the rebuilt file is current for the changed model');
  again.dispose();
});

test('a truncated or foreign cache file is detected and rebuilt', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'features.tgcache');
  (await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, ...quiet })).dispose();
  fs.truncateSync(file, fs.statSync(file).size - 100);
  const a = await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, ...quiet });
  assert.strictEqual(a.builds, 1);
  assert.match(a.rebuiltBecause, /truncated/);
  a.dispose();
  // the tail kept, a middle chunk cut out: the size no longer adds up
  const whole = fs.readFileSync(file);
  fs.writeFileSync(file, Buffer.concat([whole.subarray(0, 64), whole.subarray(128)]));
  const b = await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, ...quiet });
  assert.strictEqual(b.builds, 1);
  assert.match(b.rebuiltBecause, /layout needs/);
  b.dispose();
  fs.writeFileSync(file, 'not a cache at all, just some text that is long enough');
  const c = await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, ...quiet });
  assert.strictEqual(c.builds, 1);
  assert.match(c.rebuiltBecause, /magic/);
  c.dispose();
});

test('fit on a disk cache equals fit on a memory cache with the same seed', async () => {
  const dir = tmpDir();
  const run = async (store) => {
    const net = model();
    const ds = data();
    const cache = await tg.transfer.cacheFeatures(net, ds, { store, dir, ...quiet });
    const optimizer = new tg.optim.Adam(net.trainableParameters(), { lr: 0.01 });
    const h = await tg.fit(net, ds, { epochs: 3, batchSize: 8, seed: 11, optimizer, loss: 'crossEntropy', cache, ...quiet });
    cache.dispose();
    return { net, h };
  };
  const mem = await run('memory');
  const disk = await run('disk');
  assert.strictEqual(disk.h.last().loss, mem.h.last().loss);
  assert.strictEqual(maxDiff(disk.net.get('outputs').weight, mem.net.get('outputs').weight), 0);
});

test('a disposed disk cache refuses batches', async () => {
  const dir = tmpDir();
  const c = await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, ...quiet });
  const ex = c.examples;
  c.dispose();
  assert.throws(() => ex.getBatch([0]), /disposed/);
  assert.throws(() => c.examples, (e) => e.code === 'ERR_CACHE_DISPOSED');
});

test('the disk cache is written progressively to its partial file and appears under its name only when whole', async () => {
  const dir = tmpDir();
  const seen = [];
  const name = (f) => (f.endsWith('.partial') ? 'tmp' : f.endsWith('.journal') ? 'journal' : f);
  const timer = setInterval(() => seen.push(fs.readdirSync(dir).map(name).join(',')), 0);
  const cache = await tg.transfer.cacheFeatures(model(), data(400), { store: 'disk', dir, batchSize: 8, ...quiet });
  clearInterval(timer);
  assert.ok(seen.includes('tmp'), 'a temporary file while building');
  assert.ok(!seen.some((s) => s.includes('features.tgcache') && s.includes('tmp')), 'never both');
  assert.deepStrictEqual(fs.readdirSync(dir), ['features.tgcache']);
  cache.dispose();
});

test('a failed build removes its temporary file and leaves the previous cache intact', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'features.tgcache');
  (await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, ...quiet })).dispose();
  const before = fs.readFileSync(file);
  const ds = data();
  // a key spares the content hash, so the failure comes from the build itself
  const broken = { length: 50, cacheKey: 'broken', getBatch: (idx) => { if (idx[0] >= 16) throw new Error('disk on fire'); return ds.getBatch(idx); }, getItem: (i) => ds.getItem(i) };
  await assert.rejects(tg.transfer.cacheFeatures(model(), broken, { store: 'disk', dir, batchSize: 8, onStale: 'rebuild', ...quiet }), /disk on fire/);
  assert.deepStrictEqual(fs.readdirSync(dir), ['features.tgcache']);
  assert.ok(fs.readFileSync(file).equals(before));
});

test('16-bit features written to disk round exactly as LibTorch casts them in memory', async () => {
  const dir = tmpDir();
  const net = model();
  const ds = data(50, 3);
  tg.noGrad(() => net.get('hidden1').weight.mul_(300)); // values in the hundreds, where float16 steps are coarse
  for (const dtype of ['float16', 'bfloat16']) {
    const mem = await tg.transfer.cacheFeatures(net, ds, { dtype, ...quiet });
    const disk = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, name: dtype, dtype, ...quiet });
    const all = Array.from({ length: 50 }, (_, i) => i);
    const [a] = mem.examples.getBatch(all);
    const [b] = disk.examples.getBatch(all);
    assert.deepStrictEqual(Array.from(b.dataSync()), Array.from(a.dataSync()), dtype);
    mem.dispose();
    disk.dispose();
  }
});
