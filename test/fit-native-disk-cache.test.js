'use strict';
// fit's native engine fed by a disk feature cache: the cache's reader reads and checks blocks on worker threads, each
// batch is handed to C++, which gathers its rows (widening float16) and trains the traced step. It must give bitwise the
// JS loop's weights, buffers, logs and random stream in every read order, stop and fail as the JS loop does, and refuse
// malformed batches at the binding.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { binding } = require('../dist/native');
const { nativeOptimizerOf } = require('../dist/optim/optimizer');
const { settleTensors } = require('./helpers/settle.js');

const N = 203; // blocks of 16 rows: 13 blocks, the last one 11 rows
const BLOCK = 16;
const quiet = { verbose: 0 };
const dirs = [];
test.after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
const newDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fit-disk-'));
  dirs.push(d);
  return d;
};

/** A frozen first layer to cache, and a head with every kind of state: dropout (RNG), batch norm (buffers). */
function model(seed = 1) {
  tg.manualSeed(seed);
  return new tg.nn.Sequential({
    hidden1: new tg.nn.Linear(6, 12),
    act1: new tg.nn.ReLU(),
    fc: new tg.nn.Linear(12, 8),
    bn: new tg.nn.BatchNorm1d(8),
    act2: new tg.nn.ReLU(),
    drop: new tg.nn.Dropout(0.2),
    outputs: new tg.nn.Linear(8, 3),
  }).freeze(/^hidden1\./);
}
function data(n = N) {
  tg.manualSeed(7);
  return new tg.data.TensorDataset(tg.randn([n, 6]), tg.randint(0, 3, [n]));
}
const snapshot = (net) => Object.fromEntries([...net.namedParameters(), ...net.namedBuffers()].map(([k, t]) => [k, t.toArray()]));
const strip = (h) => h.epochs.map((e) => ({ ...e, time: 0 }));

/**
 * Trains a fresh model on a cache (disk by default) with `engine`; returns its state, history and what callbacks saw.
 * `batchEnd: false` leaves out the onBatchEnd callback (the native engine then hands C++ several batches per run).
 */
async function run(engine, { cache: cacheOptions = {}, fit = {}, dir, batchEnd = true } = {}) {
  const net = model();
  const ds = data();
  const store = cacheOptions.store ?? 'disk';
  const cache = await tg.transfer.cacheFeatures(net, ds, { store, dir: store === 'disk' ? dir ?? newDir() : undefined, batchSize: 8, blockRows: store === 'disk' ? BLOCK : undefined, bufferBlocks: 3, ...cacheOptions, ...quiet });
  const optimizer = new tg.optim.Adam(net.trainableParameters(), { lr: 0.01 });
  const seen = [];
  const callbacks = [...(batchEnd ? [{ onBatchEnd: (b, logs) => seen.push([b, logs.size, logs.loss]) }] : []), ...(fit.callbacks ?? [])];
  tg.manualSeed(3);
  const history = await tg.fit(net, ds, { epochs: 3, batchSize: 10, seed: 5, optimizer, loss: 'crossEntropy', metrics: ['accuracy'], cache, engine, ...quiet, ...fit, callbacks });
  const out = { state: snapshot(net), history, seen, after: tg.randn([4]).toArray(), stats: cache.examples.stats };
  cache.dispose();
  optimizer.dispose();
  return out;
}

for (const [name, cacheOptions, fit] of [
  ['block-shuffled float16 features widened to the float32 head', { dtype: 'float16' }, {}],
  ['float32 features in file order, batches of whole blocks (handed over uncopied)', {}, { shuffle: false, batchSize: BLOCK }],
  ['block-shuffled float32 features, batches of 7 rows', {}, { batchSize: 7 }],
  ['bfloat16 features, in file order', { dtype: 'bfloat16' }, { shuffle: false }],
  ['a uniform row order (batches read in runs, handed over gathered)', { dtype: 'float16', shuffle: 'rows' }, {}],
]) {
  test(`native engine on a disk cache = the JS loop, bitwise: ${name}`, async () => {
    const js = await run('js', { cache: cacheOptions, fit });
    const native = await run('native', { cache: cacheOptions, fit });
    assert.strictEqual(js.history.engine, 'js');
    assert.strictEqual(native.history.engine, 'native');
    assert.deepStrictEqual(native.state, js.state);
    assert.deepStrictEqual(strip(native.history), strip(js.history));
    assert.deepStrictEqual(native.seen, js.seen, 'onBatchEnd saw the same batches, sizes and losses');
    assert.deepStrictEqual(native.after, js.after, 'the random stream after fit');
    const batches = Math.ceil(N / (fit.batchSize ?? 10));
    assert.strictEqual(native.seen.length, 3 * batches);
  });
}

for (const [name, cacheOptions, fit] of [
  ['block-shuffled float16 features', { dtype: 'float16' }, {}],
  ['a uniform row order, batches of 7 (a short last run)', { dtype: 'float16', shuffle: 'rows' }, { batchSize: 7 }],
  ['float32 in file order, whole blocks handed over', {}, { shuffle: false, batchSize: BLOCK }],
]) {
  test(`without onBatchEnd (several batches per native run) the native engine = the JS loop, bitwise: ${name}`, async () => {
    const js = await run('js', { cache: cacheOptions, fit, batchEnd: false });
    const native = await run('native', { cache: cacheOptions, fit, batchEnd: false });
    assert.strictEqual(native.history.engine, 'native');
    assert.deepStrictEqual(native.state, js.state);
    assert.deepStrictEqual(strip(native.history), strip(js.history));
    assert.deepStrictEqual(native.after, js.after, 'the random stream after fit');
    assert.strictEqual(native.stats.heldBlocks, 0, 'every block freed');
  });
}

test("engine 'auto' trains a disk cache natively, and in file order it matches the memory cache's native run", async () => {
  const disk = await run(undefined, { fit: { shuffle: false } });
  const memory = await run(undefined, { cache: { store: 'memory' }, fit: { shuffle: false } });
  assert.strictEqual(disk.history.engine, 'native');
  assert.strictEqual(memory.history.engine, 'native');
  assert.deepStrictEqual(disk.state, memory.state);
});

test('the blocks a native epoch reads are each read once per epoch and freed, within the window bound', async () => {
  const r = await run('native', { cache: { dtype: 'float16' } });
  assert.strictEqual(r.stats.blockReads, 3 * Math.ceil(N / BLOCK), 'each block once per epoch');
  assert.ok(r.stats.maxHeldBlocks <= 2 * 3 + 4 * 2, `held at most ${r.stats.maxHeldBlocks} blocks`);
});

test("the next epoch's first blocks are read before it starts, and never for an epoch that does not come", async () => {
  const blocks = Math.ceil(N / BLOCK);
  const batches = Math.ceil(N / 10);
  const reads = [];
  // blocks read by the end of each epoch: the next epoch's reads begin before onEpochEnd
  const probe = (cacheRef) => ({ onEpochEnd: () => reads.push(cacheRef.cache.examples.stats.blockReads) });
  const ref = {};
  const net = model();
  const ds = data();
  ref.cache = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir: newDir(), batchSize: 8, blockRows: BLOCK, bufferBlocks: 3, ...quiet });
  const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.05 });
  await tg.fit(net, ds, { epochs: 3, batchSize: 10, optimizer, loss: 'crossEntropy', cache: ref.cache, engine: 'native', callbacks: [probe(ref)], ...quiet });
  assert.ok(reads[0] > blocks && reads[1] > 2 * blocks, `the next epoch's reads had begun (${reads})`);
  assert.strictEqual(reads[2], 3 * blocks, 'no reads for a fourth epoch');
  assert.strictEqual(ref.cache.examples.stats.heldBlocks, 0, 'every block freed');

  // stopped a batch before the end of epoch 0: the stream opened for epoch 1 is closed and its blocks freed
  const stop = { onBatchEnd: (b, _l, ctx) => b === batches - 2 && ctx.stop('enough') };
  const stopped = () => tg.fit(net, ds, { epochs: 3, batchSize: 10, optimizer, loss: 'crossEntropy', cache: ref.cache, engine: 'native', callbacks: [stop], ...quiet });
  await stopped(); // the first run leaves what any run leaves (traced steps of its own)
  await settleTensors();
  const before = tg.memory().tensors;
  const h = await stopped();
  assert.strictEqual(h.stopped.reason, 'enough');
  assert.strictEqual(ref.cache.examples.stats.heldBlocks, 0, 'the blocks read ahead for epoch 1 were freed');
  assert.strictEqual(tg.memory().tensors, before, "no tensor of epoch 1's first batch left behind");
  ref.cache.dispose();
  optimizer.dispose();
});

test('stopping from onBatchEnd and aborting end a native disk epoch after that batch, as in the JS loop', async () => {
  const stop = { callbacks: [{ onBatchEnd: (b, _l, ctx) => b === 4 && ctx.stop('enough') }] };
  const [a, b] = [await run('js', { fit: stop }), await run('native', { fit: stop })];
  assert.deepStrictEqual(b.state, a.state);
  assert.deepStrictEqual(b.history.stopped, a.history.stopped);
  assert.strictEqual(b.seen.length, 5);

  const aborting = () => {
    const ac = new AbortController();
    return { signal: ac.signal, callbacks: [{ onBatchEnd: (i) => i === 6 && ac.abort() }] };
  };
  const [c, d] = [await run('js', { fit: aborting() }), await run('native', { fit: aborting() })];
  assert.strictEqual(d.history.stopped.reason, 'aborted');
  assert.deepStrictEqual(d.history.stopped, c.history.stopped);
  assert.deepStrictEqual(d.state, c.state);
  assert.strictEqual(d.seen.length, 7);
});

/** A disk cache of model()'s features whose block 5 has a flipped feature byte (the trailer intact). */
async function damagedCache(dir) {
  const first = await tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, batchSize: 8, blockRows: BLOCK, ...quiet });
  const file = first.file;
  first.dispose();
  const buf = fs.readFileSync(file);
  const len = buf.readUInt32LE(buf.length - 12);
  const f0 = JSON.parse(buf.subarray(buf.length - 12 - len, buf.length - 12).toString()).fields[0];
  const fd = fs.openSync(file, 'r+');
  const at = f0.offset + 5 * BLOCK * f0.rowBytes + 3; // a byte of block 5's features
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  b[0] ^= 0x10;
  fs.writeSync(fd, b, 0, 1, at);
  fs.closeSync(fd);
  return file;
}

test('a damaged block fails the native epoch with ERR_CACHE_CORRUPT; the optimizer and the cache stay usable', async () => {
  const dir = newDir();
  const file = await damagedCache(dir);
  const net = model();
  const cache = await tg.transfer.cacheFeatures(net, data(), { store: 'disk', dir, batchSize: 8, blockRows: BLOCK, ...quiet });
  assert.strictEqual(cache.builds, 0, 'the trailer is intact: the damage is found when the block is read');
  const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.1 });
  const seen = [];
  await assert.rejects(
    tg.fit(net, data(), { epochs: 1, batchSize: 10, shuffle: false, optimizer, loss: 'crossEntropy', cache, engine: 'native', callbacks: [{ onBatchEnd: (i) => seen.push(i) }], ...quiet }),
    (e) => e.code === 'ERR_CACHE_CORRUPT' && e.message.includes(file),
  );
  assert.ok(seen.length >= 1 && seen.length <= 8, `in file order, the batches before block 5 trained (${seen.length})`);
  optimizer.step(); // not left leased by the engine
  assert.throws(() => cache.examples.getBatch([5 * BLOCK]), { code: 'ERR_CACHE_CORRUPT' });
  tg.dispose(cache.examples.getBatch([0, 200]));
  cache.dispose();
  optimizer.dispose();
});

test('without onBatchEnd, a damaged block fails the epoch after the runs before it, and leaves no block or batch behind', async () => {
  const dir = newDir();
  await damagedCache(dir);
  const net = model();
  const cache = await tg.transfer.cacheFeatures(net, data(), { store: 'disk', dir, batchSize: 8, blockRows: BLOCK, ...quiet });
  const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.1 });
  const w0 = net.get('outputs').weight.toArray();
  const fit = () => tg.fit(net, data(), { epochs: 1, batchSize: 10, shuffle: false, optimizer, loss: 'crossEntropy', cache, engine: 'native', ...quiet });
  await assert.rejects(fit(), { code: 'ERR_CACHE_CORRUPT' });
  assert.notDeepStrictEqual(net.get('outputs').weight.toArray(), w0, 'the batches before block 5 trained');
  await settleTensors();
  const before = tg.memory().tensors;
  await assert.rejects(fit(), { code: 'ERR_CACHE_CORRUPT' });
  await settleTensors();
  assert.strictEqual(tg.memory().tensors, before, 'the batches taken ahead of the failure were freed');
  assert.strictEqual(cache.examples.stats.heldBlocks, 0, 'every block freed');
  optimizer.step(); // not left leased by the engine
  cache.dispose();
  optimizer.dispose();
});

test('without onBatchEnd, an abort ends the native disk epoch after its current run, freeing the batches taken for the next', async () => {
  const net = model();
  const ds = data();
  const cache = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir: newDir(), batchSize: 8, blockRows: BLOCK, bufferBlocks: 3, ...quiet });
  const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.05 });
  const aborted = () => {
    const ac = new AbortController();
    const callbacks = [{ onEpochBegin: (e) => e === 1 && ac.abort() }];
    return tg.fit(net, ds, { epochs: 3, batchSize: 10, optimizer, loss: 'crossEntropy', cache, engine: 'native', signal: ac.signal, callbacks, ...quiet });
  };
  await aborted(); // the first run leaves what any run leaves (traced steps of its own)
  await settleTensors();
  const before = tg.memory().tensors;
  const h = await aborted();
  assert.deepStrictEqual(h.stopped, { epoch: 1, reason: 'aborted' });
  assert.strictEqual(h.epochs.length, 1);
  assert.strictEqual(cache.examples.stats.heldBlocks, 0, 'every block freed');
  await settleTensors();
  assert.strictEqual(tg.memory().tensors, before, 'no batch taken ahead was left behind');
  cache.dispose();
  optimizer.dispose();
});

test('nativeEpoch refuses malformed fed batches with clear errors', async () => {
  const net = new tg.nn.Linear(3, 2);
  const optimizer = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const spec = { steps: [], fed: true, batchSize: 4, dropLast: false, optimizer: nativeOptimizerOf(optimizer), params: net.parameters() };
  const h = binding.nativeEpoch(spec);
  const x = tg.zeros([4, 3]);
  const y = tg.zeros([4], { dtype: 'int64' });
  const block = tg.zeros([8, 3]).to({ dtype: 'float16' });
  const gather = (o) => ({ sources: [block], which: new Int32Array(4), rows: Int32Array.from([0, 1, 2, 3]), outDtype: 'float32', y, ...o });
  await assert.rejects(async () => h.run(true, -1), /needs the batch/);
  await assert.rejects(async () => h.run(true, -1, [x]), /a batch is \[x, y\], got 1 tensors/);
  await assert.rejects(async () => h.run(true, -1, [x, tg.zeros([3], { dtype: 'int64' })]), /same number \(>= 1\) of rows/);
  await assert.rejects(async () => h.run(true, -1, [tg.zeros([0, 3]), tg.zeros([0])]), /same number \(>= 1\) of rows/);
  await assert.rejects(async () => h.run(true, -1, gather({ which: Int32Array.from([0, 0, 1, 0]) })), /which\[2\] names no source/);
  await assert.rejects(async () => h.run(true, -1, gather({ rows: Int32Array.from([0, 8, 1, 2]) })), /rows\[1\] is outside its source/);
  await assert.rejects(async () => h.run(true, -1, gather({ rows: [0, 1, 2, 3] })), /rows must be an Int32Array/);
  await assert.rejects(async () => h.run(true, -1, gather({ sources: [] })), /at least one source/);
  await assert.rejects(async () => h.run(true, -1, gather({ sources: [block, tg.zeros([2, 3])], which: Int32Array.from([0, 1, 0, 1]) })), /share one dtype/);
  await assert.rejects(async () => h.run(true, -1, gather({ sources: [block.t()] })), /contiguous CPU tensor/);
  await assert.rejects(async () => h.run(true, -1, gather({ y: tg.zeros([3], { dtype: 'int64' }) })), /same number \(>= 1\) of rows/);
  await assert.rejects(async () => h.run(true, -1, gather({ outDtype: 'nonsense' })), TypeError);
  // a well-formed batch of a size no step was traced for
  await assert.rejects(h.run(true, -1, gather()), /no traced step for batches of 4 rows/);
  optimizer.step(); // the failed run gave the optimizer back
  // several batches per run: one malformed refuses the run before any trains; at most 64
  await assert.rejects(async () => h.run(true, -1, gather(), [x]), /a batch is \[x, y\], got 1 tensors/);
  await assert.rejects(async () => h.run(true, -1, ...Array.from({ length: 65 }, () => [x, y])), (e) => e instanceof RangeError && /at most 64 batches/.test(e.message));
  await assert.rejects(h.run(true, -1, gather(), gather()), (e) => /no traced step for batches of 4 rows/.test(e.message) && e.batch === 0);
  optimizer.step();

  const gathered = binding.nativeEpoch({ ...spec, fed: false, fields: [x, y], casts: [null, null], order: tg.arange(0, 4, 1, { dtype: 'int64' }) });
  await assert.rejects(async () => gathered.run(true, -1, [x, y]), /takes a batch only in fed mode/);
  tg.dispose([x, y, block]);
  optimizer.dispose();
});
