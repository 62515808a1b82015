'use strict';
// tg.transfer.cacheFeatures at its edges: every option refused by name, fields of every dtype through a disk file,
// reads of a disposed disk cache, a cut that moved or vanished, a prefix without weights, the build's progress bar,
// 16-bit rounding at subnormal ties, and the journal and file checks on inputs no build writes.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { BuildProgress } = require('../dist/transfer/cache/progress');
const { parseJournal, writeFully, Journal, JOURNAL_FORMAT } = require('../dist/transfer/cache/journal');
const { openCacheFile } = require('../dist/transfer/cache/disk-file');
const { writeError } = require('../dist/transfer/cache/disk-writer');
const { settleTensors } = require('./helpers/settle');

const { nn } = tg;
const quiet = { verbose: 0 };
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fedges-'));
function model() {
  tg.manualSeed(1);
  return new nn.Sequential({ hidden1: new nn.Linear(6, 12), act1: new nn.ReLU(), outputs: new nn.Linear(12, 3) }).freeze(/^hidden1\./);
}
function data(n = 10) {
  tg.manualSeed(7);
  return new tg.data.TensorDataset(tg.randn([n, 6]), tg.randint(0, 3, [n]));
}
const values = (t) => Array.from(t.dataSync(), Number);
const openFiles = () => fs.readdirSync('/proc/self/fd').length;
/** An output stream that keeps what is written; a terminal unless `isTTY` is false. */
const stream = (isTTY = true) => ({ isTTY, chunks: [], write(s) { this.chunks.push(s); return true; } });

test('each bad option is refused with its name, what it must be and what it got', async () => {
  const net = model();
  const ds = data();
  const cases = [
    [5, TypeError, 'cacheFeatures: options must be an object'],
    [null, TypeError, 'cacheFeatures: options must be an object'],
    [{ foo: 1 }, TypeError, /^cacheFeatures: unknown option 'foo'; known: upTo, store, dir, /],
    [{ store: 'ram' }, TypeError, "cacheFeatures: store must be 'memory', 'device' or 'disk', got ram"],
    [{ store: 'disk', dir: '' }, TypeError, "cacheFeatures: store 'disk' needs dir (a directory for the cache file)"],
    [{ store: 'disk', dir: 3 }, TypeError, "cacheFeatures: store 'disk' needs dir (a directory for the cache file)"],
    [{ dtype: 'int8' }, TypeError, 'cacheFeatures: dtype must be one of float32, float64, float16, bfloat16, got int8'],
    [{ distributed: 'yes' }, TypeError, 'cacheFeatures: distributed must be a boolean, got yes'],
    [{ batchSize: 0 }, RangeError, 'cacheFeatures: batchSize must be an integer >= 1, got 0'],
    [{ batchSize: 2.5 }, RangeError, 'cacheFeatures: batchSize must be an integer >= 1, got 2.5'],
    [{ onStale: 'ignore' }, TypeError, "cacheFeatures: onStale must be 'error' or 'rebuild', got ignore"],
    [{ name: '' }, TypeError, 'cacheFeatures: name must be a plain file name'],
    [{ name: 'a/b' }, TypeError, 'cacheFeatures: name must be a plain file name'],
    [{ name: 'a\\b' }, TypeError, 'cacheFeatures: name must be a plain file name'],
    [{ name: 7 }, TypeError, 'cacheFeatures: name must be a plain file name'],
    [{ blockRows: 0 }, RangeError, 'cacheFeatures: blockRows must be an integer >= 1, got 0'],
    [{ blockRows: 2 ** 53 }, RangeError, `cacheFeatures: blockRows must be an integer >= 1, got ${2 ** 53}`],
    [{ bufferBlocks: 1.5 }, RangeError, 'cacheFeatures: bufferBlocks must be an integer >= 1, got 1.5'],
    [{ prefetch: -1 }, RangeError, 'cacheFeatures: prefetch must be an integer >= 1, got -1'],
    [{ blockRows: 48 }, RangeError, 'cacheFeatures: blockRows (48) must be a multiple of batchSize (32), so that blocks are built from whole batches'],
    [{ blockRows: 20, batchSize: 8 }, RangeError, 'cacheFeatures: blockRows (20) must be a multiple of batchSize (8), so that blocks are built from whole batches'],
    [{ shuffle: 'all' }, TypeError, "cacheFeatures: shuffle must be 'blocks' or 'rows', got all"],
    [{ engine: 'gpu' }, TypeError, "cacheFeatures: engine must be 'native', 'js' or 'auto', got gpu"],
  ];
  for (const [options, type, message] of cases) {
    await assert.rejects(tg.transfer.cacheFeatures(net, ds, options), (e) => {
      assert.ok(e instanceof type, `${JSON.stringify(options)}: ${e.name}`);
      if (typeof message === 'string') assert.strictEqual(e.message, message);
      else assert.match(e.message, message);
      return true;
    });
  }
  // the accepted forms of the same options build
  for (const options of [{ blockRows: 64 }, { blockRows: 16, batchSize: 8 }, { shuffle: 'rows' }, { shuffle: 'blocks' }, { engine: 'js' }, { engine: 'native' },
    { engine: 'auto' }, { onStale: 'rebuild' }, { onStale: 'error' }, { distributed: false }, { store: 'memory' }, { dtype: 'float16' }]) {
    const c = await tg.transfer.cacheFeatures(net, ds, { ...options, ...quiet });
    assert.strictEqual(c.length, 10, JSON.stringify(options));
    c.dispose();
  }
  await assert.rejects(tg.transfer.cacheFeatures(net, ds, { distributed: true, ...quiet }),
    (e) => e.code === 'ERR_DISTRIBUTED' && e.message === 'cacheFeatures: distributed needs tg.distributed.init() first');
});

test('a model or dataset of the wrong kind, and an empty dataset, are refused', async () => {
  const ds = data();
  for (const bad of [null, {}, 5, { namedModules: 1 }])
    await assert.rejects(tg.transfer.cacheFeatures(bad, ds, quiet), (e) => e instanceof TypeError && e.message === 'cacheFeatures: model must be a tg.nn.Module');
  const needs = 'cacheFeatures: a feature cache needs the dataset it was built from (a Dataset, a DataLoader over one, or tensors [x, y])';
  for (const bad of [5, [], [tg.randn([2, 6]), 3], 'data'])
    await assert.rejects(tg.transfer.cacheFeatures(model(), bad, quiet), (e) => e instanceof TypeError && e.message === needs);
  const empty = new tg.data.TensorDataset(tg.randn([0, 6]), tg.randint(0, 3, [0]));
  await assert.rejects(tg.transfer.cacheFeatures(model(), empty, quiet), (e) => e instanceof RangeError && e.message === 'cacheFeatures: the dataset is empty');
  // tensors [x, y] are a dataset
  const c = await tg.transfer.cacheFeatures(model(), [ds.tensors[0], ds.tensors[1]], quiet);
  assert.strictEqual(c.length, 10);
  c.dispose();
});

test('fields of every dtype come back from a reopened disk file exactly, by batch, by item and through a collate', async () => {
  const dir = tmpDir();
  const n = 10;
  const ints = Array.from({ length: n }, (_, i) => i - 5);
  tg.manualSeed(3);
  const fields = [
    tg.randn([n, 6]),
    tg.tensor(ints, { dtype: 'int32' }),
    tg.tensor(ints, { dtype: 'int8' }),
    tg.tensor(ints.map((v) => v % 3 === 0), { dtype: 'bool' }),
    tg.randn([n, 2], { dtype: 'float64' }),
    tg.tensor(ints.map((v) => 250 + v), { dtype: 'uint8' }),
    tg.tensor(ints.map((v) => 3000 * v), { dtype: 'int16' }),
    tg.tensor(ints.map((v) => 2 ** 40 * v), { dtype: 'int64' }),
  ];
  const ds = new tg.data.TensorDataset(...fields);
  (await tg.transfer.cacheFeatures(model(), ds, { store: 'disk', dir, ...quiet })).dispose();
  const c = await tg.transfer.cacheFeatures(model(), ds, { store: 'disk', dir, ...quiet });
  assert.strictEqual(c.builds, 0, 'read back from the file');
  const idx = [9, 0, 4];
  const got = c.examples.getBatch(idx);
  assert.strictEqual(got.length, fields.length);
  for (let k = 1; k < fields.length; k++) {
    const want = fields[k].indexSelect(0, tg.tensor(idx));
    assert.strictEqual(got[k].dtype, fields[k].dtype, `field ${k}`);
    assert.deepStrictEqual(got[k].shape, want.shape, `field ${k}`);
    assert.deepStrictEqual(Array.from(got[k].dataSync()), Array.from(want.dataSync()), `field ${k} (${fields[k].dtype})`);
  }
  // runs of rows read as one span: ascending runs are, descending ones must not be
  const mem = await tg.transfer.cacheFeatures(model(), ds, quiet);
  for (const rows of [[5, 4, 3, 2], [7, 8, 9, 1, 0], [3, 3, 4, 2]])
    assert.deepStrictEqual(values(c.examples.getBatch(rows)[0]), values(mem.examples.getBatch(rows)[0]), rows.join());
  mem.dispose();
  const item = c.examples.getItem(4);
  assert.deepStrictEqual(item.map((t) => t.shape), [[12], [], [], [], [2], [], [], []]);
  assert.deepStrictEqual(values(item[0]), values(got[0].select(0, 2)));
  assert.strictEqual(item[7].item(), -(2 ** 40));
  assert.throws(() => c.examples.getBatch(4), (e) => e instanceof TypeError && e.message === 'FeatureCache (disk): indices must be an array of row numbers');
  const outOfRange = 'FeatureCache (disk): index 10 is out of range for a dataset of 10 examples';
  assert.throws(() => c.examples.getBatch([1, 10]), (e) => e instanceof RangeError && e.message === outOfRange);
  await assert.rejects(c.examples.loadBatches([0, 10], { batchSize: 2, dropLast: false }).next(), (e) => e instanceof RangeError && e.message === outOfRange);
  const live = tg.memory().tensors;
  tg.dispose(c.examples.getItem(2));
  assert.strictEqual(tg.memory().tensors, live, 'an item read from disk leaves no batch behind');

  const batches = [];
  const collate = (items) => [tg.stack(items.map((it) => it[1]))];
  for await (const b of c.examples.loadBatches([0, 1, 2, 3, 4, 5, 6], { batchSize: 3, dropLast: true, collate })) batches.push(values(b[0]));
  assert.deepStrictEqual(batches, [[-5, -4, -3], [-2, -1, 0]], 'a custom collate sees examples; dropLast drops the 7th');
  const kept = [];
  for await (const b of c.examples.loadBatches([6, 5, 4, 3, 2], { batchSize: 2, dropLast: false, collate })) kept.push(values(b[0]));
  assert.deepStrictEqual(kept, [[1, 0], [-1, -2], [-3]]);
  const plain = [];
  for await (const b of c.examples.loadBatches([0, 1, 2, 3, 4, 5, 6], { batchSize: 3, dropLast: true })) plain.push(values(b[1]));
  assert.deepStrictEqual(plain, [[-5, -4, -3], [-2, -1, 0]], 'dropLast without a collate');
  const { stats } = c.examples;
  assert.ok(stats.blockReads >= 1 && stats.maxHeldBlocks >= 1, `blocks were read and held: ${JSON.stringify(stats)}`);
  assert.strictEqual(stats.heldBlocks, 0, 'and all let go after the epoch');
  c.dispose();
});

test('a dataset of features only caches to disk with no other field', async () => {
  const dir = tmpDir();
  tg.manualSeed(2);
  const x = tg.randn([5, 6]);
  const c = await tg.transfer.cacheFeatures(model(), new tg.data.TensorDataset(x), { store: 'disk', dir, ...quiet });
  const b = c.examples.getBatch([1, 3]);
  assert.strictEqual(b.length, 1);
  assert.deepStrictEqual(b[0].shape, [2, 12]);
  c.dispose();
});

test('a disposed disk cache refuses reads through a dataset taken before; a read in flight ends with ERR_CACHE_DISPOSED and the file closes once it settles', async () => {
  const dir = tmpDir();
  (await tg.transfer.cacheFeatures(model(), data(64), { store: 'disk', dir, batchSize: 8, blockRows: 8, ...quiet })).dispose();
  const closed = openFiles();
  const c = await tg.transfer.cacheFeatures(model(), data(64), { store: 'disk', dir, batchSize: 8, blockRows: 8, ...quiet });
  assert.strictEqual(openFiles(), closed + 1);
  const examples = c.examples;
  const it = examples.loadBatches(Array.from({ length: 64 }, (_, i) => i), { batchSize: 8, dropLast: false });
  const first = await it.next();
  assert.deepStrictEqual(first.value[0].shape, [8, 12]);
  // a read started and not settled when the cache is disposed (its promise resolves on a later turn of the loop)
  const inFlight = examples.reader.readRows([0, 1, 2]);
  c.dispose();
  assert.strictEqual(openFiles(), closed + 1, 'the file stays open for the read in flight');
  await assert.rejects(inFlight, (e) => e.code === 'ERR_CACHE_DISPOSED' && e.message === 'feature cache: the cache was disposed while a read was in flight');
  await assert.rejects(async () => {
    for (;;) if ((await it.next()).done) break;
  }, (e) => e.code === 'ERR_CACHE_DISPOSED');
  await new Promise((r) => setTimeout(r, 100));
  assert.strictEqual(openFiles(), closed, 'closed after the last read in flight');
  assert.throws(() => examples.getBatch([0]), (e) => e.code === 'ERR_CACHE_DISPOSED');
  assert.throws(() => examples.getItem(0), (e) => e.code === 'ERR_CACHE_DISPOSED');
  await assert.rejects(examples.loadBatches([0], { batchSize: 1, dropLast: false }).next(), (e) => e.code === 'ERR_CACHE_DISPOSED');
  assert.throws(() => c.examples, (e) => e.code === 'ERR_CACHE_DISPOSED' && e.message === 'FeatureCache: the cache was disposed');
  examples.dispose(); // a second close of the file closes nothing (its descriptor may be another file's by now)
  c.dispose();
  assert.strictEqual(openFiles(), closed);
});

test('a disk cache asked for another dtype is rebuilt and says so; a cut moved is named in the stale error', async () => {
  const dir = tmpDir();
  const ds = data();
  (await tg.transfer.cacheFeatures(model(), ds, { store: 'disk', dir, upTo: 'hidden1', ...quiet })).dispose();
  const half = await tg.transfer.cacheFeatures(model(), ds, { store: 'disk', dir, upTo: 'hidden1', dtype: 'float16', ...quiet });
  assert.strictEqual(half.builds, 1);
  assert.strictEqual(half.rebuiltBecause, 'stored as float32, float16 asked');
  half.dispose();
  await assert.rejects(tg.transfer.cacheFeatures(model(), ds, { store: 'disk', dir, upTo: 'act1', dtype: 'float16', ...quiet }),
    (e) => e.code === 'ERR_CACHE_STALE' && e.message.includes('the cut point (was hidden1@0, now act1@1)'));
});

test('a model whose cut layer is gone: head() and changes() name the missing layer', async () => {
  const net = model();
  const c = await tg.transfer.cacheFeatures(net, data(), quiet);
  const renamed = new nn.Sequential({ hidden1: net.get('hidden1'), relu: new nn.ReLU(), outputs: net.get('outputs') });
  assert.throws(() => c.head(renamed), (e) => e.code === 'ERR_CACHE_STALE' && e.message.includes("the cut point (no layer 'act1' in the model)"));
  const changes = c.changes(renamed);
  assert.ok(changes.includes("the cut point (was act1@1, now (no layer 'act1'))"), changes.join(' | '));
  c.dispose();
});

test('a cut below every weight: features on the CPU in float32, read by item in the head\'s dtype', async () => {
  tg.manualSeed(1);
  const net = new nn.Sequential({ act0: new nn.ReLU(), hidden1: new nn.Linear(6, 4), outputs: new nn.Linear(4, 2) }).freeze(/^hidden1\./);
  const ds = data();
  const c = await tg.transfer.cacheFeatures(net, ds, { upTo: 'act0', ...quiet });
  const [f] = c.examples.getBatch([2]);
  assert.strictEqual(f.dtype, 'float32');
  assert.strictEqual(f.device, 'cpu');
  assert.deepStrictEqual(values(f), values(ds.tensors[0].select(0, 2).relu()));
  c.dispose();
  const h = await tg.transfer.cacheFeatures(model(), ds, { dtype: 'float16', ...quiet });
  const [x, y] = h.examples.getItem(3);
  assert.strictEqual(x.dtype, 'float32', 'cast to the head\'s dtype');
  assert.deepStrictEqual(x.shape, [12]);
  assert.deepStrictEqual(y.shape, []);
  assert.strictEqual(y.item(), ds.tensors[1].select(0, 3).item());
  h.dispose();
});

test('the build\'s bar on a terminal: partial, resumed and whole, then the summary line', async () => {
  const out = stream();
  const p = new BuildProgress(out, 1, { rows: 100, unitRows: 10, unit: 'blocks' });
  p.resume(35);
  assert.match(out.chunks[0], /^\rCaching features \[=========> {14}\] 4\/10 blocks \(4 resumed\) - 0\.\d\ds\x1b\[K$/, 'a fraction of a second in');
  p.tick(100);
  assert.match(out.chunks[1], /^\rCaching features \[={24}\] 10\/10 blocks \(4 resumed\) - /);
  p.done({ examples: 100, where: 'memory', engine: 'js', resumedRows: 40 });
  assert.match(out.chunks[2], /^\rCached features of 100 examples \(memory\) in \S+, engine js, 40 rows resumed\x1b\[K\n$/);
  const none = new BuildProgress(out, 1, { rows: 100, unitRows: 10, unit: 'blocks' });
  none.resume(0);
  assert.strictEqual(out.chunks.length, 3, 'resuming from nothing draws nothing');
  none.tick(0, true);
  assert.match(out.chunks[3], /^\rCaching features \[ {24}\] 0\/10 blocks - /, 'nothing done: an empty bar');
  // redrawn at most every 100 ms, except the last unit
  const paced = stream();
  const bar = new BuildProgress(paced, 1, { rows: 100, unitRows: 10, unit: 'blocks' });
  bar.tick(10);
  bar.tick(20);
  bar.tick(30);
  assert.strictEqual(paced.chunks.length, 1, 'the first unit drawn, the next two within 100 ms not');
  assert.match(paced.chunks[0], / 1\/10 blocks - /);
  bar.tick(100);
  assert.strictEqual(paced.chunks.length, 2, 'the last unit always drawn');
  assert.match(paced.chunks[1], / 10\/10 blocks - /);
  const lines = stream();
  const verbose2 = new BuildProgress(lines, 2, { rows: 10, unitRows: 5, unit: 'batches' });
  verbose2.tick(5, true);
  verbose2.done({ examples: 10, where: 'memory', engine: 'native', resumedRows: 0 });
  assert.strictEqual(lines.chunks.length, 1, 'verbose 2: no bar, even on a terminal');
  assert.match(lines.chunks[0], /^Cached features of 10 examples \(memory\) in \S+, engine native\n$/);
  const piped = stream(false);
  const quietBar = new BuildProgress(piped, 1, { rows: 10, unitRows: 5, unit: 'batches' });
  quietBar.tick(10);
  quietBar.done({ examples: 10, where: 'memory', engine: 'js', resumedRows: 0 });
  assert.deepStrictEqual(piped.chunks, [], 'verbose 1 off a terminal writes nothing');

  const seen = stream();
  const c = await tg.transfer.cacheFeatures(model(), data(24), { batchSize: 8, verbose: 1, output: seen });
  c.dispose();
  const text = seen.chunks.join('');
  assert.match(text, /\rCaching features \[={24}\] 3\/3 batches - /);
  assert.match(text, /\rCached features of 24 examples \(memory\) in \S+, engine (js|native)\x1b\[K\n$/);
});

test('16-bit features on disk round subnormal and normal ties to even, as LibTorch casts in memory', async () => {
  // a frozen 1x1 identity passes exact float32 inputs through, so the cache's inputs are chosen bit by bit
  const ties = [];
  for (let k = 0; k < 8; k++) ties.push((k + 0.5) * 2 ** -24, -(k + 0.5) * 2 ** -24); // halfway between float16 subnormals
  for (let j = 0; j < 8; j++) ties.push(1 + (2 * j + 1) * 2 ** -11, 2 ** -14 * (1 + (2 * j + 1) * 2 ** -11)); // normal ties
  ties.push(2 ** -25, 2 ** -26, 3 * 2 ** -26, 65520, 65519, 1e-8);
  ties.push(1.25 * 2 ** -24, 3.3 * 2 ** -24, 1.1 * 2 ** -20, -2.7 * 2 ** -18); // subnormal, not ties
  ties.push(65536, 1e5, -7e4, 1e-9, 2 ** -40, Infinity, -Infinity, NaN); // past float16's range, far below it, not finite
  ties.push((2 - 2 ** -23) * 2 ** -40, (1 + 0x1234 * 2 ** -23) * 2 ** -33); // far below, with mantissa bits a wide shift would keep
  ties.push(1 + 2 ** -8, 1 + 3 * 2 ** -8, -(2 + 2 ** -7), 1 + 2 ** -8 + 2 ** -20); // bfloat16 ties (to even) and a near-tie
  const net = new nn.Sequential({ id: new nn.Linear(1, 1, { bias: false }), outputs: new nn.Linear(1, 1) });
  tg.noGrad(() => net.get('id').weight.fill_(1));
  net.freeze(/^id\./);
  const ds = new tg.data.TensorDataset(tg.tensor(ties.map((v) => [v])), tg.zeros([ties.length]));
  const all = ties.map((_, i) => i);
  const dir = tmpDir();
  for (const dtype of ['float16', 'bfloat16']) {
    const mem = await tg.transfer.cacheFeatures(net, ds, { dtype, ...quiet });
    const disk = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, name: dtype, dtype, ...quiet });
    const want = values(mem.examples.getBatch(all)[0]);
    assert.deepStrictEqual(values(disk.examples.getBatch(all)[0]), want, dtype);
    assert.notDeepStrictEqual(want, Array.from(new Float32Array(ties)), `${dtype} rounds`);
    mem.dispose();
    disk.dispose();
  }
});

test('a journal is parsed up to its first bad line, and a head that is not a journal is none', () => {
  const head = { format: JOURNAL_FORMAT, version: 2, length: 4, blockRows: 2, dtype: 'float32', fields: [{}, {}] };
  const line = (o) => `${JSON.stringify(o)}\n`;
  const good = line(head) + line({ block: 0, crc: [1, 2] }) + line({ block: 1, crc: [3, 4] });
  assert.deepStrictEqual(parseJournal(good).blocks, [{ block: 0, crc: [1, 2] }, { block: 1, crc: [3, 4] }]);
  assert.strictEqual(parseJournal(''), undefined);
  assert.strictEqual(parseJournal(JSON.stringify(head)), undefined, 'no whole first line');
  assert.strictEqual(parseJournal(`${JSON.stringify(head)} `), undefined, 'a whole head, but its line torn before the newline');
  assert.strictEqual(parseJournal('5\n'), undefined);
  assert.strictEqual(parseJournal('"torchgraft-feature-cache-journal"\n'), undefined);
  assert.strictEqual(parseJournal('{not json\n'), undefined);
  assert.strictEqual(parseJournal('null\n'), undefined);
  assert.strictEqual(parseJournal(line({ ...head, format: 'other' })), undefined);
  assert.strictEqual(parseJournal(line({ ...head, fields: 'x' })), undefined);
  const cut = (bad) => parseJournal(line(head) + line({ block: 0, crc: [1, 2] }) + bad + line({ block: 2, crc: [5, 6] })).blocks.length;
  assert.strictEqual(cut('{"block":1,'), 1, 'a torn line ends the list');
  assert.strictEqual(cut('{"block":1,"crc":[3,4]\n'), 1, 'an unreadable line ends the list');
  assert.strictEqual(cut(line(null)), 1);
  assert.strictEqual(cut('7\n'), 1);
  assert.strictEqual(cut(line({ block: 2, crc: [3, 4] })), 1, 'out of order');
  assert.strictEqual(cut(line({ block: 1, crc: [3] })), 1, 'a CRC missing');
  assert.strictEqual(cut(line({ block: 1, crc: 'ab' })), 1);
  assert.strictEqual(cut(line({ block: 1, crc: [3, -1] })), 1, 'not a CRC-32');
  assert.strictEqual(cut(line({ block: 1, crc: [3, 4] })), 3, 'a good line goes on');
});

test('a journal or write on a full device fails with the system\'s error and closes its file; a write of nothing is ERR_IO', async () => {
  const head = { format: JOURNAL_FORMAT, version: 2, length: 4, blockRows: 2, dtype: 'float32', fields: [] };
  const fdsBefore = openFiles();
  await assert.rejects(Journal.create('/dev/full', head), (e) => e.code === 'ENOSPC');
  await assert.rejects(Journal.resume('/dev/full', head, [{ block: 0, crc: [] }]), (e) => e.code === 'ENOSPC');
  assert.strictEqual(openFiles(), fdsBefore, 'both handles closed');
  const stuck = { write: async () => ({ bytesWritten: 0 }) };
  await assert.rejects(writeFully(stuck, new Uint8Array(8), 100),
    (e) => e.code === 'ERR_IO' && e.message === 'cacheFeatures: the system wrote nothing at offset 100');
  let calls = 0;
  const halves = { write: async (b, off, len, pos) => ({ bytesWritten: (calls++, assert.strictEqual(pos, 100 + off), Math.min(len, 3)) }) };
  await writeFully(halves, new Uint8Array(8), 100);
  assert.strictEqual(calls, 3, 'short writes go on where they stopped');
  let once = 0;
  const partThenNothing = { write: async () => ({ bytesWritten: once++ === 0 ? 3 : 0 }) };
  await assert.rejects(writeFully(partThenNothing, new Uint8Array(8), 100), (e) => e.message === 'cacheFeatures: the system wrote nothing at offset 103');
});

test('a cache path that is a folder, a link loop, a stub or a trailer whose sizes overflow is invalid, not opened', () => {
  const dir = tmpDir();
  assert.deepStrictEqual(openCacheFile(path.join(dir, 'none')), { missing: true });
  fs.mkdirSync(path.join(dir, 'folder'));
  assert.deepStrictEqual(openCacheFile(path.join(dir, 'folder')), { invalid: 'is not a regular file' });
  fs.symlinkSync(path.join(dir, 'loop'), path.join(dir, 'loop'));
  assert.match(openCacheFile(path.join(dir, 'loop')).invalid, /^cannot be opened \(.*ELOOP/);
  fs.writeFileSync(path.join(dir, 'stub'), Buffer.alloc(11));
  assert.deepStrictEqual(openCacheFile(path.join(dir, 'stub')), { invalid: 'is too short to be a feature cache (truncated?)' });
});

test('a float64 frozen part keeps every bit of its features on disk (only 16-bit dtypes are narrowed from float32)', async () => {
  const net = model().to({ dtype: 'float64' });
  tg.manualSeed(9);
  const ds = new tg.data.TensorDataset(tg.randn([12, 6], { dtype: 'float64' }), tg.randint(0, 3, [12]));
  const all = Array.from({ length: 12 }, (_, i) => i);
  const mem = await tg.transfer.cacheFeatures(net, ds, quiet);
  const disk = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir: tmpDir(), ...quiet });
  const [a] = mem.examples.getBatch(all);
  const [b] = disk.examples.getBatch(all);
  assert.strictEqual(b.dtype, 'float64');
  assert.deepStrictEqual(values(b), values(a));
  assert.ok(values(b).some((v) => v !== Math.fround(v)), 'values float32 cannot hold');
  mem.dispose();
  disk.dispose();
});

test('a build leaves only its cache\'s tensors, and an abort mid-build leaves none, in both engines (garbage settled before, counted right after)', async () => {
  const ds = data(40);
  const net = model();
  for (const engine of ['js', 'native']) {
    await settleTensors(); // no earlier garbage left for a collection during the build to take off the count
    const before = tg.memory().tensors;
    const c = await tg.transfer.cacheFeatures(net, ds, { batchSize: 8, engine, dtype: 'float16', ...quiet });
    assert.strictEqual(tg.memory().tensors, before + 2, `${engine}: the features and the labels`);
    const item = c.examples.getItem(3);
    assert.strictEqual(tg.memory().tensors, before + 4, 'an item: its two tensors, the batch it came from freed');
    tg.dispose(item);
    c.dispose();
    assert.strictEqual(tg.memory().tensors, before, `${engine}: disposed`);

    // a dataset that is not a TensorDataset is read once for its fingerprint (5 batches), then once to build
    let calls = 0;
    const ac = new AbortController();
    const reading = { length: 40, getItem: (i) => ds.getItem(i), getBatch: (idx) => {
      if (++calls === 5 + 3) ac.abort(new Error('enough')); // while the build reads its third batch
      return ds.getBatch(idx);
    } };
    await settleTensors();
    const start = tg.memory().tensors;
    await assert.rejects(tg.transfer.cacheFeatures(net, reading, { batchSize: 8, engine, signal: ac.signal, ...quiet }),
      (e) => e.name === 'AbortError' && e.message === 'cacheFeatures: the operation was aborted');
    assert.strictEqual(calls, 8, `${engine}: the build stopped after the batch being read`);
    assert.strictEqual(tg.memory().tensors, start, `${engine}: the batch read ahead and the rows stored are freed`);
  }
});

test('a system error while writing a cache becomes ERR_NO_SPACE (full disk or quota) or ERR_IO; other errors pass as they are', () => {
  const sys = (code) => Object.assign(new Error(`${code}: it failed, write`), { code, syscall: 'write' });
  for (const code of ['ENOSPC', 'EDQUOT']) {
    const e = writeError('/c/f.tgcache', '/c/f.tgcache.partial', sys(code));
    assert.strictEqual(e.code, 'ERR_NO_SPACE');
    assert.strictEqual(e.message, `cacheFeatures: no space left on the device to write '/c/f.tgcache' (${code}: it failed, write). The partial file ` +
      "'/c/f.tgcache.partial' and its journal stay: free some space (or give another dir) and build again; the build resumes from its last whole block");
    assert.strictEqual(e.cause.code, code);
  }
  const io = writeError('/c/f.tgcache', '/c/p', sys('EIO'));
  assert.strictEqual(io.code, 'ERR_IO');
  assert.strictEqual(io.message, "cacheFeatures: cannot write '/c/f.tgcache': EIO: it failed, write");
  const plain = new Error('not a system error');
  const coded = new tg.TorchError('already coded', { code: 'ERR_CACHE_CORRUPT' });
  const codedSys = Object.assign(new tg.TorchError('coded, with a syscall', { code: 'ERR_X' }), { syscall: 'write', code: 'ENOSPC' });
  for (const e of [plain, coded, codedSys, 'a string', undefined]) assert.strictEqual(writeError('/c/f', '/c/p', e), e);
});

test('a parameter-free layer below the cut swapped for another kind makes the cache stale by its structure', async () => {
  tg.manualSeed(1);
  const net = new nn.Sequential({ hidden1: new nn.Linear(6, 6), act1: new nn.ReLU(), hidden2: new nn.Linear(6, 4), outputs: new nn.Linear(4, 2) })
    .freeze(/^hidden[12]\./);
  const c = await tg.transfer.cacheFeatures(net, data(), { upTo: 'hidden2', ...quiet });
  assert.deepStrictEqual(c.changes(), []);
  net.registerModule('act1', new nn.Tanh());
  assert.deepStrictEqual(c.changes(), ['the structure below the cut (layers, their options, or which parameters are frozen)']);
  net.registerModule('act1', new nn.ReLU());
  assert.deepStrictEqual(c.changes(), [], 'the same kind of layer again');
  c.dispose();
});
