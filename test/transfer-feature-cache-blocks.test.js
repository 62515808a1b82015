'use strict';
// The disk feature cache's read side: epochs read as whole checked blocks off the JavaScript thread (in order,
// block-shuffled) or as rows (uniform), batches equal to the memory cache's rows, a bounded window of blocks,
// reads ahead of the consumer, dispose during reads, and fit on a disk cache.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { nn } = tg;

const N = 203; // blocks of 16 rows: 13 blocks, the last one 11 rows
const BLOCK = 16;
const quiet = { verbose: 0 };
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fblocks-'));
const dirs = [];
test.after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const newDir = () => {
  const d = tmpDir();
  dirs.push(d);
  return d;
};

function model(seed = 1) {
  tg.manualSeed(seed);
  return new nn.Sequential({ hidden1: new nn.Linear(6, 12), act1: new nn.ReLU(), outputs: new nn.Linear(12, 3) }).freeze(/^hidden1\./);
}
// the second field is each row's own index, so a batch says which rows it holds
function data(n = N) {
  tg.manualSeed(7);
  return new tg.data.TensorDataset(tg.randn([n, 6]), tg.arange(0, n, 1, { dtype: 'int64' }));
}
const rowsOf = (batch) => Array.from(batch[1].dataSync(), Number);
const bits = (t) => Buffer.from(t.dataSync().buffer).toString('hex');

async function caches(extra = {}) {
  const net = model();
  const ds = data();
  const mem = await tg.transfer.cacheFeatures(net, ds, { dtype: extra.dtype, ...quiet });
  const disk = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir: newDir(), batchSize: 8, blockRows: BLOCK, ...extra, ...quiet });
  return { net, ds, mem, disk };
}

async function epoch(loader, each) {
  const out = [];
  for await (const b of loader) {
    out.push(rowsOf(b));
    if (each) each(b);
    tg.dispose(b);
  }
  return out;
}

test('every batch equals the memory cache rows at the same indices, bit for bit: in order, block-shuffled, uniform', async () => {
  for (const dtype of [undefined, 'float16']) {
    for (const shuffle of ['blocks', 'rows']) {
      const { mem, disk } = await caches({ dtype, shuffle, bufferBlocks: 3 });
      for (const shuffled of [false, true]) {
        const loader = disk.loader({ batchSize: 10, shuffle: shuffled, seed: 4 });
        const order = loader.order(0);
        let at = 0;
        const seen = await epoch(loader, (b) => {
          const idx = order.slice(at, at + 10);
          at += 10;
          const [want, wy] = mem.examples.getBatch(idx);
          assert.strictEqual(b[0].dtype, 'float32', 'cast to the head dtype');
          assert.strictEqual(bits(b[0]), bits(want), `${dtype} ${shuffle} ${shuffled}: rows ${idx}`);
          assert.deepStrictEqual(rowsOf(b), Array.from(wy.dataSync(), Number));
          tg.dispose([want, wy]);
        });
        assert.deepStrictEqual(seen.flat().sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i), 'every row once');
      }
      mem.dispose();
      disk.dispose();
    }
  }
});

test('a larger cache, block-shuffled with three seeds: every row once, at most 2 x bufferBlocks + (prefetch + 1) x blocks per batch held, every block freed', async () => {
  const net = model();
  tg.manualSeed(7);
  const n = 1024; // 64 blocks of 16 rows, windows of 8 blocks
  const ds = new tg.data.TensorDataset(tg.randn([n, 6]), tg.arange(0, n, 1, { dtype: 'int64' }));
  const disk = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir: newDir(), batchSize: 16, blockRows: BLOCK, bufferBlocks: 8, prefetch: 2, ...quiet });
  const perBatch = Math.ceil(16 / BLOCK) + 1;
  const bound = 2 * 8 + (2 + 1) * perBatch;
  for (const seed of [1, 2, 3]) {
    let seen = 0;
    for await (const b of disk.loader({ batchSize: 16, shuffle: true, seed })) {
      seen += b[0].shape[0];
      tg.dispose(b);
    }
    assert.strictEqual(seen, n);
  }
  assert.ok(disk.examples.stats.maxHeldBlocks <= bound, `held ${disk.examples.stats.maxHeldBlocks} blocks, bound ${bound}`);
  assert.strictEqual(disk.examples.stats.heldBlocks, 0);
  disk.dispose();
});

test('in order and block-shuffled, each block is read whole once per epoch and at most a window is held', async () => {
  const { disk } = await caches({ bufferBlocks: 2 });
  const ds = disk.examples;
  const blocks = Math.ceil(N / BLOCK);
  for (const shuffle of [false, true]) {
    const before = ds.stats.blockReads;
    const loader = disk.loader({ batchSize: 8, shuffle, seed: 1 });
    const batches = await epoch(loader);
    assert.strictEqual(ds.stats.blockReads - before, blocks, `${shuffle ? 'shuffled' : 'in order'}: one read per block`);
    assert.strictEqual(ds.stats.rowReads, 0);
    if (shuffle) {
      // a batch's rows come from the blocks of at most two neighbouring windows (2 x bufferBlocks blocks)
      for (const rows of batches) assert.ok(new Set(rows.map((r) => Math.floor(r / BLOCK))).size <= 4, `batch ${rows}`);
    }
  }
  // the window (2 windows of 2 blocks where a batch straddles them) plus the blocks read ahead, never the whole cache
  assert.ok(ds.stats.maxHeldBlocks <= 2 * 2 + 3 * 2, `held ${ds.stats.maxHeldBlocks} blocks`);
  assert.ok(ds.stats.maxHeldBlocks < blocks);
  disk.dispose();
});

test("a uniform shuffle ('rows') reads rows in runs and proves each block once per open", async () => {
  // (with a window of 2 blocks: a cache whose blocks all fit the window is read by blocks even when uniform)
  const { disk } = await caches({ shuffle: 'rows', bufferBlocks: 2 });
  const ds = disk.examples;
  const loader = disk.loader({ batchSize: 10, shuffle: true, seed: 2 });
  assert.deepStrictEqual(loader.order(0), new tg.data.Generator(loader.seed, 0).permutation(N), 'the uniform permutation');
  await epoch(loader);
  const blocks = Math.ceil(N / BLOCK);
  assert.strictEqual(ds.stats.blockReads, blocks, 'every block verified once');
  assert.strictEqual(ds.stats.rowReads, Math.ceil(N / 10));
  await epoch(loader);
  assert.strictEqual(ds.stats.blockReads, blocks, 'not again in the next epoch');
  disk.dispose();
});

test('the same seed gives the same block-shuffled epochs; epochs and seeds differ', async () => {
  const { disk } = await caches({ bufferBlocks: 2 });
  const run = async (seed) => {
    const l = disk.loader({ batchSize: 8, shuffle: true, seed });
    return [await epoch(l), await epoch(l)];
  };
  const a = await run(3);
  assert.deepStrictEqual(await run(3), a);
  assert.notDeepStrictEqual(a[1], a[0], 'another order each epoch');
  assert.notDeepStrictEqual((await run(4))[0], a[0]);
  disk.dispose();
});

test('reads run ahead while the consumer holds a batch (observed from the reads started and batches made, not timed)', async () => {
  const { disk } = await caches({ prefetch: 2 });
  const ds = disk.examples;
  const it = disk.loader({ batchSize: 16 })[Symbol.asyncIterator]();
  const first = await it.next();
  assert.deepStrictEqual(rowsOf(first.value), Array.from({ length: 16 }, (_, i) => i));
  // batch 0 needs block 0 only, yet more blocks were asked for before it reached the consumer
  assert.ok(ds.stats.blockReads >= 3, `${ds.stats.blockReads} block reads started`);
  const made = ds.stats.batchesMade;
  // the consumer still holds batch 0: the next `prefetch` batches are made meanwhile
  for (let k = 0; k < 1000 && ds.stats.batchesMade < 3; k++) await new Promise(setImmediate);
  assert.ok(ds.stats.batchesMade >= 3 && made >= 1, `made ${ds.stats.batchesMade} batches while batch 0 was held`);
  assert.ok(ds.stats.batchesMade <= 3, 'and no more than prefetch ahead');
  tg.dispose(first.value);
  await it.return();
  disk.dispose();
});

test('dispose while reads are in flight waits for them before closing the file; the epoch then fails clearly', async () => {
  const { disk } = await caches();
  const ds = disk.examples;
  const fd = ds.reader.fd;
  const loader = disk.loader({ batchSize: 8 });
  const it = loader[Symbol.asyncIterator]();
  const p = it.next();
  // only microtasks run here: the reads were started, none has settled (settling takes a turn of the event loop)
  for (let k = 0; k < 20; k++) await Promise.resolve();
  assert.ok(ds.reader.pending > 0, 'reads in flight');
  const before = tg.memory().tensors;
  disk.dispose();
  assert.ok(fs.fstatSync(fd).isFile(), 'the descriptor stays open under the running reads');
  await assert.rejects(p, (e) => e.code === 'ERR_CACHE_DISPOSED');
  for (let k = 0; k < 1000 && ds.reader.pending > 0; k++) await new Promise(setImmediate);
  assert.strictEqual(ds.reader.pending, 0);
  assert.throws(() => fs.fstatSync(fd), { code: 'EBADF' }, 'closed once they settled');
  assert.ok(tg.memory().tensors <= before, 'the blocks read after dispose were freed');
  await assert.rejects(epoch(loader), (e) => e.code === 'ERR_CACHE_DISPOSED');
});

test('the synchronous paths (getBatch, for...of) still work on a disk cache', async () => {
  const { mem, disk } = await caches();
  const got = [];
  for (const b of disk.loader({ batchSize: 50 })) {
    got.push(...rowsOf(b));
    tg.dispose(b);
  }
  assert.deepStrictEqual(got, Array.from({ length: N }, (_, i) => i));
  const [a] = mem.examples.getBatch([202, 0, 17]);
  const [b] = disk.examples.getBatch([202, 0, 17]);
  assert.strictEqual(bits(a), bits(b));
  mem.dispose();
  disk.dispose();
});

async function fitRun(store, o = {}) {
  const net = model();
  tg.manualSeed(7);
  const ds = new tg.data.TensorDataset(tg.randn([N, 6]), tg.randint(0, 3, [N]));
  const cache = await tg.transfer.cacheFeatures(net, ds, { store, dir: store === 'disk' ? newDir() : undefined, batchSize: 8, blockRows: store === 'disk' ? BLOCK : undefined, bufferBlocks: 2, ...quiet });
  const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.05 });
  const h = await tg.fit(net, ds, { epochs: 2, batchSize: 10, optimizer, loss: 'crossEntropy', cache, ...quiet, ...o });
  cache.dispose();
  return { w: net.get('outputs').weight.dataSync(), h };
}

test('fit on a disk cache in order gives the memory cache run its exact weights', async () => {
  const mem = await fitRun('memory', { shuffle: false });
  const disk = await fitRun('disk', { shuffle: false });
  const diskJs = await fitRun('disk', { shuffle: false, engine: 'js' });
  assert.strictEqual(disk.h.engine, 'native');
  assert.strictEqual(diskJs.h.engine, 'js');
  assert.deepStrictEqual(Array.from(disk.w), Array.from(mem.w));
  assert.deepStrictEqual(Array.from(diskJs.w), Array.from(mem.w));
});

test('fit on a disk cache trains on the block order, reproducibly from the seed', async () => {
  const a = await fitRun('disk', { seed: 5 });
  const b = await fitRun('disk', { seed: 5 });
  const c = await fitRun('disk', { seed: 6 });
  assert.deepStrictEqual(Array.from(b.w), Array.from(a.w));
  assert.notDeepStrictEqual(Array.from(c.w), Array.from(a.w));
});
