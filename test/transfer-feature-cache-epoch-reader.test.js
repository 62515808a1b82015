'use strict';
// The disk cache's epoch reader over a fake open file whose block reads settle only when the test says so (no timing:
// deferreds): two reads in flight at once, the window of held blocks (counting blocks a fed batch still uses), batches
// made `prefetch` ahead, a block handed over uncopied only when no later batch needs it, a failed read ahead, and a
// cache disposed while a batch is being made.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { EpochReader } = require('../dist/transfer/cache/epoch-reader');
const { planReads } = require('../dist/transfer/cache/read-plan');

const tick = () => new Promise(setImmediate);
const values = (t) => Array.from(t.dataSync(), Number);

/**
 * A fake open cache of `blocks` blocks of `blockRows` float32 rows of width 1 (row r holds r); a block read waits until
 * `settle` resolves it. `window` records, at each read's start, the blocks in flight plus those held.
 */
function fakeCache({ blocks, blockRows, dtype = 'float32', headDtype = 'float32' }) {
  const stats = { blockReads: 0, rowReads: 0, maxHeldBlocks: 0, heldBlocks: 0, batchesMade: 0 };
  const started = [];
  const pending = [];
  const handedOut = [];
  const windows = [];
  let inFlight = 0;
  const rowsTensor = (rows) => tg.tensor(rows.map((r) => [r]), { dtype });
  const reader = {
    isClosed: false,
    header: { blockRows, fields: [{ dtype, shape: [1] }] },
    blocks,
    readBlock(b) {
      windows.push(inFlight + stats.heldBlocks);
      started.push(b);
      inFlight++;
      const read = new Promise((resolve, reject) => pending.push({ b, resolve, reject }));
      if (cache.auto) setImmediate(() => cache.settle({ only: [b] }));
      return read;
    },
    blockOf: (r) => Math.floor(r / blockRows),
    isVerified: () => false,
    readRows: async (rows) => rowsTensor(rows),
  };
  const ds = {
    reader,
    stats,
    headDtype,
    hold(d) {
      stats.heldBlocks += d;
      stats.maxHeldBlocks = Math.max(stats.maxHeldBlocks, stats.heldBlocks);
    },
    cast: (t) => t,
    labels: (rows) => [tg.tensor(rows, { dtype: 'int64' })],
  };
  const cache = {
    /** Reads settle by themselves, one turn of the event loop after they start. */
    auto: false,
    ds,
    started,
    windows,
    handedOut,
    /** Settles the reads of `only` (default: every read started, again until none is left), failing those in `fail`. */
    async settle({ only, fail = [] } = {}) {
      for (let round = 0; round < 50; round++) {
        if (only === undefined) for (let k = 0; k < 5; k++) await tick();
        const now = pending.filter((p) => only === undefined || only.includes(p.b));
        if (now.length === 0) break;
        for (const p of now) {
          pending.splice(pending.indexOf(p), 1);
          inFlight--;
          if (fail.includes(p.b)) p.reject(new Error(`block ${p.b} is damaged`));
          else {
            const t = rowsTensor(Array.from({ length: blockRows }, (_, k) => p.b * blockRows + k));
            handedOut.push(t);
            p.resolve(t);
          }
        }
        if (only !== undefined) {
          for (let k = 0; k < 5; k++) await tick();
          break;
        }
      }
    },
    rowsTensor,
  };
  return cache;
}

/** An epoch over rows 0..n-1 (or `order`) of a fake cache, with the reader's bounds. */
function epoch(cache, { order, batchSize, maxBlocks = 100, prefetch = 0, fed = false, mode }) {
  const { blockRows } = cache.ds.reader.header;
  const plan = planReads(order, batchSize, false, blockRows, cache.ds.reader.blocks, 1000);
  if (mode) plan.mode = mode;
  return new EpochReader(cache.ds, plan, maxBlocks, prefetch, fed).run();
}

const range = (n) => Array.from({ length: n }, (_, k) => k);
const dispose = (batch) => (Array.isArray(batch) ? batch.forEach((t) => t.dispose()) : batch.release());

test('epoch reader: two block reads in flight at once, in order of first use, up to the window of held blocks', async () => {
  const cache = fakeCache({ blocks: 8, blockRows: 2 });
  const it = epoch(cache, { order: range(16), batchSize: 2, maxBlocks: 4 });
  const first = it.next();
  await tick();
  assert.deepStrictEqual(cache.started, [0, 1], 'batch 0 needs block 0; one more read goes with it, no third');
  await cache.settle({ only: [0] });
  assert.deepStrictEqual(cache.started, [0, 1, 2], 'a settled read lets the next one start');
  const [x0, y0] = (await first).value;
  assert.deepStrictEqual([values(x0), values(y0)], [[0, 1], [0, 1]]);
  await cache.settle();
  assert.deepStrictEqual(cache.started, [0, 1, 2, 3, 4], 'blocks 1-4 fill the window of 4 once block 0 is handed over');
  assert.strictEqual(cache.ds.stats.heldBlocks, 4);
  assert.strictEqual(Math.max(...cache.windows), 3, 'a read starts only while fewer than 4 blocks are held or in flight');
  x0.dispose();
  y0.dispose();
  const got = [];
  for (let r = await it.next(); !r.done; r = await it.next()) {
    got.push(...values(r.value[0]));
    dispose(r.value);
    await cache.settle();
  }
  assert.deepStrictEqual(got, range(16).slice(2));
  assert.deepStrictEqual(cache.started, range(8), 'each block read once');
  assert.strictEqual(Math.max(...cache.windows), 3);
  assert.strictEqual(cache.ds.stats.heldBlocks, 0);
  assert.strictEqual(cache.ds.stats.blockReads, 8);
});

test('epoch reader: batches are made `prefetch` ahead of the consumer, no further', async () => {
  for (const prefetch of [0, 1, 3]) {
    const cache = fakeCache({ blocks: 8, blockRows: 2 });
    const it = epoch(cache, { order: range(16), batchSize: 2, prefetch });
    const p = it.next();
    await cache.settle();
    const first = (await p).value;
    await cache.settle();
    assert.strictEqual(cache.ds.stats.batchesMade, 1 + prefetch, `prefetch ${prefetch}, the consumer holding batch 0`);
    dispose(first);
    const second = (await it.next()).value;
    await cache.settle();
    assert.strictEqual(cache.ds.stats.batchesMade, 2 + prefetch, `prefetch ${prefetch}, the consumer holding batch 1`);
    dispose(second);
    await it.return();
    await cache.settle();
    assert.strictEqual(cache.ds.stats.heldBlocks, 0, `prefetch ${prefetch}: a stopped epoch frees what it read ahead`);
    assert.ok(cache.handedOut.every((t) => t.isDisposed), `prefetch ${prefetch}: every block read is freed`);
  }
});

test('epoch reader: blocks a fed batch still gathers from count against the window until it is released', async () => {
  // rows 0-2 need blocks 0 and 1, rows 3-5 blocks 1 and 2, rows 6-8 blocks 3 and 4, rows 9-11 blocks 4 and 5
  const cache = fakeCache({ blocks: 6, blockRows: 2 });
  const it = epoch(cache, { order: range(12), batchSize: 3, maxBlocks: 3, fed: true });
  const p = it.next();
  await cache.settle();
  const fed = (await p).value;
  await cache.settle();
  assert.deepStrictEqual([Array.from(fed.which), Array.from(fed.rows)], [[0, 0, 1], [0, 1, 0]]);
  assert.deepStrictEqual(fed.sources.map(values), [[0, 1], [2, 3]]);
  assert.deepStrictEqual(values(fed.y), [0, 1, 2]);
  assert.deepStrictEqual(cache.started, [0, 1, 2], 'block 0, used last by the unreleased batch, still fills the window');
  assert.strictEqual(cache.ds.stats.heldBlocks, 3);
  fed.release();
  await cache.settle();
  assert.deepStrictEqual(cache.started, [0, 1, 2, 3], 'released: block 0 is freed and block 3 takes its place');
  assert.ok(cache.handedOut[0].isDisposed, 'block 0 freed by the release');
  assert.ok(fed.y.isDisposed, 'the labels freed by the release');
  fed.release();
  assert.strictEqual(cache.ds.stats.heldBlocks, 3, 'a second release frees nothing more');
  await it.return();
  await cache.settle();
  assert.strictEqual(cache.ds.stats.heldBlocks, 0);
});

test('epoch reader: a block that is exactly a batch is handed over uncopied only when no later batch needs it', async () => {
  const cache = fakeCache({ blocks: 4, blockRows: 2 });
  cache.auto = true; // a gather runs on a worker thread: its reads may start after any fixed number of turns
  // block 0 whole in batch 0 and again in batch 1 (a sampler with replacement); blocks 1 and 2 whole in batches 2 and 3,
  // then never; batch 4 is the first row of block 3 only
  const it = epoch(cache, { order: [0, 1, 1, 0, 2, 3, 4, 5, 6], batchSize: 2, prefetch: 1 });
  const got = [];
  for (;;) {
    const { value, done } = await it.next();
    if (done) break;
    got.push({ x: values(value[0]), y: values(value[1]), uncopied: cache.handedOut.includes(value[0]) });
    dispose(value);
  }
  assert.deepStrictEqual(got, [
    { x: [0, 1], y: [0, 1], uncopied: false },
    { x: [1, 0], y: [1, 0], uncopied: false },
    { x: [2, 3], y: [2, 3], uncopied: true },
    { x: [4, 5], y: [4, 5], uncopied: true },
    { x: [6], y: [6], uncopied: false },
  ]);
  assert.deepStrictEqual(cache.started, [0, 1, 2, 3], 'block 0 read once for both batches');
  assert.strictEqual(cache.ds.stats.heldBlocks, 0);
  assert.ok(cache.handedOut.every((t) => t.isDisposed));

  // a batch of every row of a block, some in place, is gathered in its order
  const three = fakeCache({ blocks: 2, blockRows: 3 });
  three.auto = true;
  const it3 = epoch(three, { order: [0, 2, 1, 3, 4, 5], batchSize: 3 });
  const a = (await it3.next()).value;
  const b = (await it3.next()).value;
  assert.deepStrictEqual([values(a[0]), three.handedOut.includes(a[0]), values(b[0]), three.handedOut.includes(b[0])], [[0, 2, 1], false, [3, 4, 5], true]);
  dispose(a);
  dispose(b);
});

test('epoch reader: a read ahead that fails reaches the consumer at its batch, and the other reads go on meanwhile', async () => {
  const cache = fakeCache({ blocks: 6, blockRows: 2 });
  const it = epoch(cache, { order: range(12), batchSize: 2 });
  const first = it.next();
  await tick();
  assert.deepStrictEqual(cache.started, [0, 1]);
  await cache.settle({ only: [1], fail: [1] });
  await cache.settle({ only: [0] });
  assert.deepStrictEqual(cache.started, [0, 1, 2, 3], 'the failed read no longer counts as in flight');
  const x0 = (await first).value;
  assert.deepStrictEqual(values(x0[0]), [0, 1]);
  dispose(x0);
  await assert.rejects(it.next(), /block 1 is damaged/);
  assert.deepStrictEqual(await it.next(), { done: true, value: undefined });
  await cache.settle();
  assert.strictEqual(cache.ds.stats.heldBlocks, 0, 'blocks read ahead of the failure are freed');
  assert.ok(cache.handedOut.every((t) => t.isDisposed));
});

test('epoch reader: a cache disposed between batches, or during a batch\'s row read, is ERR_CACHE_DISPOSED and leaks nothing', async () => {
  const between = fakeCache({ blocks: 4, blockRows: 2 });
  const it = epoch(between, { order: range(8), batchSize: 2 });
  const p = it.next();
  await between.settle();
  dispose((await p).value);
  await between.settle();
  between.ds.reader.isClosed = true;
  await assert.rejects(it.next(), { code: 'ERR_CACHE_DISPOSED', message: 'feature cache: the cache was disposed' });
  await between.settle();
  assert.strictEqual(between.ds.stats.heldBlocks, 0);
  assert.strictEqual(between.ds.stats.batchesMade, 1);

  const during = fakeCache({ blocks: 4, blockRows: 2 });
  let rowBatch;
  during.ds.reader.readRows = async (rows) => {
    during.ds.reader.isClosed = true;
    rowBatch = during.rowsTensor(rows);
    return rowBatch;
  };
  const rowsEpoch = epoch(during, { order: [5, 0, 3, 6], batchSize: 2, mode: 'rows' });
  const refused = assert.rejects(rowsEpoch.next(), { code: 'ERR_CACHE_DISPOSED' });
  await during.settle();
  await refused;
  assert.ok(rowBatch.isDisposed, 'the rows read before the check are freed');
  assert.strictEqual(during.ds.stats.batchesMade, 0);
  assert.strictEqual(during.ds.stats.rowReads, 1);
  assert.deepStrictEqual(during.started, [2, 0], "the batch's blocks proven first, each once");
});

test('epoch reader: a stopped epoch keeps its blocks while a fed batch is out, and frees them at its release', async () => {
  const cache = fakeCache({ blocks: 6, blockRows: 2 });
  const it = epoch(cache, { order: range(12), batchSize: 3, maxBlocks: 3, fed: true });
  const p = it.next();
  await cache.settle();
  const fed = (await p).value;
  await it.return();
  await cache.settle();
  assert.strictEqual(cache.ds.stats.heldBlocks, 3, 'blocks 0-2 held: the engine may still gather from them');
  assert.ok(fed.sources.every((t) => !t.isDisposed));
  fed.release();
  assert.strictEqual(cache.ds.stats.heldBlocks, 0);
  assert.ok(cache.handedOut.every((t) => t.isDisposed), 'each block freed once the last batch out is released');
});

test('epoch reader: gathered rows of 16-bit blocks come widened to float32 for a float32 head, else in the stored dtype', async () => {
  for (const [dtype, headDtype, want] of [['float16', 'float32', 'float32'], ['float16', 'float16', 'float16'], ['bfloat16', 'float32', 'float32'], ['bfloat16', 'bfloat16', 'bfloat16']]) {
    const cache = fakeCache({ blocks: 2, blockRows: 2, dtype, headDtype });
    cache.auto = true;
    const it = epoch(cache, { order: [1, 2, 0, 3], batchSize: 4 });
    const [x, y] = (await it.next()).value;
    assert.deepStrictEqual([x.dtype, values(x)], [want, [1, 2, 0, 3]], `${dtype} blocks, ${headDtype} head`);
    x.dispose();
    y.dispose();
    assert.strictEqual((await it.next()).done, true);
  }
});

test('epoch reader: a row-read epoch proves each block once, four reads at a time, and frees what it proved', async () => {
  const cache = fakeCache({ blocks: 6, blockRows: 2 });
  // batch 0 touches all six blocks; batch 1 touches blocks 0 and 5 again
  const it = epoch(cache, { order: [0, 2, 4, 6, 8, 10, 11, 1], batchSize: 6, mode: 'rows' });
  const first = it.next();
  await tick();
  assert.deepStrictEqual(cache.started, [0, 1, 2, 3], 'four blocks proven at once');
  await cache.settle();
  assert.deepStrictEqual(cache.started, [0, 1, 2, 3, 4, 5]);
  const got = [];
  for (let r = await first; !r.done; r = await it.next()) {
    got.push(values(r.value[0]));
    dispose(r.value);
  }
  assert.deepStrictEqual(got, [[0, 2, 4, 6, 8, 10], [11, 1]]);
  assert.deepStrictEqual(cache.started, range(6), 'blocks proven in this epoch are not read again');
  assert.deepStrictEqual([cache.ds.stats.rowReads, cache.ds.stats.blockReads, cache.ds.stats.batchesMade], [2, 6, 2]);
  assert.ok(cache.handedOut.every((t) => t.isDisposed), 'a proven block is freed once checked');
});

test('epoch reader: a fed batch of a cache without labels releases its blocks', async () => {
  const cache = fakeCache({ blocks: 2, blockRows: 2 });
  cache.ds.labels = () => [];
  cache.auto = true;
  const it = epoch(cache, { order: [0, 2, 1, 3], batchSize: 4, fed: true });
  const fed = (await it.next()).value;
  assert.strictEqual(fed.y, undefined);
  fed.release();
  assert.strictEqual((await it.next()).done, true);
  assert.strictEqual(cache.ds.stats.heldBlocks, 0);
  assert.ok(cache.handedOut.every((t) => t.isDisposed));
});
