'use strict';
// The disk feature cache's reads against damaged files: a block with a wrong checksum is refused (ERR_CACHE_CORRUPT
// naming the file) and none of its rows is ever served; damaged labels, a file truncated inside a block, and a file
// that shrinks after it was opened are each a rebuild or a coded error, never zeros or wrong rows.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { nn } = tg;

const N = 100; // blocks of 16 rows: 7 blocks, the last one 4 rows
const BLOCK = 16;
const quiet = { verbose: 0 };
const dirs = [];
test.after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function model() {
  tg.manualSeed(1);
  return new nn.Sequential({ hidden1: new nn.Linear(6, 12), act1: new nn.ReLU(), outputs: new nn.Linear(12, 3) }).freeze(/^hidden1\./);
}
// labels are class numbers derived from the row (row % 3), so fit can train; the row itself is found from the features
function data() {
  tg.manualSeed(7);
  return new tg.data.TensorDataset(tg.randn([N, 6]), tg.arange(0, N, 1, { dtype: 'int64' }).remainder(3));
}
const open = (dir, extra = {}) => tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, batchSize: 8, blockRows: BLOCK, ...extra, ...quiet });

/** Builds a cache and returns its file and trailer. */
async function built(extra) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fcorrupt-'));
  dirs.push(dir);
  const c = await open(dir, extra);
  const file = c.file;
  c.dispose();
  const buf = fs.readFileSync(file);
  const len = buf.readUInt32LE(buf.length - 12);
  const trailer = JSON.parse(buf.subarray(buf.length - 12 - len, buf.length - 12).toString());
  return { dir, file, trailer };
}
function flip(file, offset) {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, offset);
  b[0] ^= 0x40;
  fs.writeSync(fd, b, 0, 1, offset);
  fs.closeSync(fd);
}

// the features of every row, from a memory cache, to recognise which rows a batch holds (by their bytes)
const rowHex = (t) => {
  const raw = Buffer.from(t.dataSync().buffer);
  const w = raw.length / t.shape[0];
  return Array.from({ length: t.shape[0] }, (_, i) => raw.subarray(i * w, (i + 1) * w).toString('hex'));
};
async function rowKeys() {
  const mem = await tg.transfer.cacheFeatures(model(), data(), quiet);
  const [f] = mem.examples.getBatch(Array.from({ length: N }, (_, i) => i));
  const keys = new Map(rowHex(f).map((h, i) => [h, i]));
  mem.dispose();
  return (batch) => rowHex(batch[0]).map((h) => keys.get(h));
}

test('a block with a wrong checksum: the epoch fails with ERR_CACHE_CORRUPT naming the file, and none of its rows is served', async () => {
  const { dir, file, trailer } = await built();
  const f0 = trailer.fields[0];
  flip(file, f0.offset + 2 * BLOCK * f0.rowBytes + 5); // a byte of block 2's features
  const which = await rowKeys();
  for (const [shuffle, bufferBlocks, shuffled] of [['blocks', 16, false], ['blocks', 2, true], ['rows', 1, true]]) {
    const cache = await open(dir, { shuffle, bufferBlocks });
    assert.strictEqual(cache.builds, 0, 'the trailer is intact: the file is reused, its blocks checked as read');
    const served = [];
    await assert.rejects(
      (async () => {
        for await (const b of cache.loader({ batchSize: 8, shuffle: shuffled, seed: 1 })) {
          served.push(...which(b));
          tg.dispose(b);
        }
      })(),
      (e) => e.code === 'ERR_CACHE_CORRUPT' && e.message.includes(file) && /checksum/.test(e.message),
    );
    assert.ok(served.every((r) => r !== undefined && (r < 2 * BLOCK || r >= 3 * BLOCK)), `${shuffle}: no row of block 2 served (${served})`);
    if (!shuffled) assert.strictEqual(served.length, 2 * BLOCK, 'in order: the blocks before it were served');
    const damaged = f0.offset + 2 * BLOCK * f0.rowBytes;
    const want = trailer.crc[0][2].toString(16).padStart(8, '0');
    assert.throws(() => cache.examples.getBatch([2 * BLOCK + 3]), (e) => e.code === 'ERR_CACHE_CORRUPT' && e.path === file && new RegExp(
      `^feature cache: '${file}': the ${BLOCK * f0.rowBytes} bytes at offset ${damaged} fail their checksum \\(CRC-32C [0-9a-f]{8}, the trailer says ${want}\\): the file is damaged$`).test(e.message));
    tg.dispose(cache.examples.getBatch([0, 99])); // other blocks still read
    cache.dispose();
  }
  const cache = await open(dir);
  const optimizer = new tg.optim.SGD(model().trainableParameters(), { lr: 0.1 });
  await assert.rejects(tg.fit(model(), data(), { epochs: 1, batchSize: 8, optimizer, loss: 'crossEntropy', cache, ...quiet }), { code: 'ERR_CACHE_CORRUPT' });
  cache.dispose();
});

test('damaged labels are found at open (every block checked) and the cache is rebuilt', async () => {
  const { dir, file, trailer } = await built();
  flip(file, trailer.fields[1].offset + 3 * BLOCK * trailer.fields[1].rowBytes + 1);
  const cache = await open(dir);
  assert.strictEqual(cache.builds, 1);
  const f1 = trailer.fields[1];
  const want = trailer.crc[1][3].toString(16).padStart(8, '0');
  assert.match(cache.rebuiltBecause, new RegExp(`^a block failed its checksum at open: feature cache: '${file}': the ${BLOCK * f1.rowBytes} bytes at offset ` +
    `${f1.offset + 3 * BLOCK * f1.rowBytes} fail their checksum \\(CRC-32C [0-9a-f]{8}, the trailer says ${want}\\): the file is damaged$`));
  cache.dispose();
  const again = await open(dir);
  assert.strictEqual(again.builds, 0, 'the rebuilt file is whole');
  again.dispose();
});

test('a file truncated inside a block is called truncated and rebuilt', async () => {
  const { dir, file, trailer } = await built();
  const f0 = trailer.fields[0];
  fs.truncateSync(file, f0.offset + 3 * BLOCK * f0.rowBytes + 7);
  const cache = await open(dir);
  assert.strictEqual(cache.builds, 1);
  assert.match(cache.rebuiltBecause, /truncated/);
  cache.dispose();
});

test('a file that shrinks after it was opened is ERR_CACHE_CORRUPT, never zeros', async () => {
  const { dir, file, trailer } = await built();
  const f0 = trailer.fields[0];
  for (const mode of ['blocks', 'rows']) {
    fs.rmSync(file);
    (await open(dir)).dispose(); // whole again
    const cache = await open(dir, { shuffle: mode, bufferBlocks: 1 });
    assert.strictEqual(cache.builds, 0);
    fs.truncateSync(file, f0.offset + 2 * BLOCK * f0.rowBytes + 10); // cut inside block 2
    const served = [];
    await assert.rejects(
      (async () => {
        for await (const b of cache.loader({ batchSize: 8, shuffle: mode === 'rows', seed: 1 })) {
          served.push(b[0].shape[0]);
          tg.dispose(b);
        }
      })(),
      (e) => e.code === 'ERR_CACHE_CORRUPT' && e.message.includes(file),
    );
    assert.ok(served.length < N / 8, `${mode}: the epoch stopped`);
    assert.throws(() => cache.examples.getBatch([90]), { code: 'ERR_CACHE_CORRUPT' });
    // a read that gets part of its block (the file ends inside it) and then nothing
    const blockBytes = BLOCK * f0.rowBytes;
    assert.throws(() => cache.examples.getBatch([2 * BLOCK + 1]), (e) => e.code === 'ERR_CACHE_CORRUPT' && e.path === file &&
      e.message === `feature cache: '${file}': the file ended while reading ${blockBytes} bytes at offset ${f0.offset + 2 * blockBytes}: it changed after it was opened`);
    cache.dispose();
  }
});
