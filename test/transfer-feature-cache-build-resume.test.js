'use strict';
// A disk cache build interrupted by an abort or a kill leaves only <file>.partial and <file>.journal, never a file
// under the cache's name; the next build resumes after the last whole block and writes the same bytes as an
// uninterrupted build; a journal of another build, or a torn line, is never trusted.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const tg = require('..');
const { model, data } = require('./helpers/feature-cache-build');

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fcresume-'));
const NAME = 'features.tgcache';
const opts = (dir, extra = {}) => ({ store: 'disk', dir, upTo: 'flat', batchSize: 8, blockRows: 16, verbose: 0, ...extra });
const journalLines = (dir) => fs.readFileSync(path.join(dir, `${NAME}.journal`), 'utf8').split('\n').filter(Boolean);

/** The file an uninterrupted build writes. */
async function reference(n = 100, extra = {}) {
  const dir = tmpDir();
  const c = await tg.transfer.cacheFeatures(model(), data(n), opts(dir, extra));
  assert.strictEqual(c.resumedRows, 0);
  c.dispose();
  return fs.readFileSync(path.join(dir, NAME));
}

/** Starts a build that aborts once the batch at `row` is read; resolves with the rejection. */
async function abortAt(dir, row, extra = {}) {
  const ac = new AbortController();
  const reason = new Error('stop here');
  const ds = data(100, (first) => {
    if (first >= row) ac.abort(reason);
  });
  const err = await tg.transfer.cacheFeatures(model(), ds, opts(dir, { signal: ac.signal, ...extra })).then(() => undefined, (e) => e);
  return { err, reason };
}

test('an aborted build rejects with an AbortError after the current batch and keeps the partial file and its journal', async () => {
  const dir = tmpDir();
  const { err, reason } = await abortAt(dir, 40);
  assert.ok(err, 'the build rejected');
  assert.strictEqual(err.name, 'AbortError');
  assert.strictEqual(err.code, 'ABORT_ERR');
  assert.strictEqual(err.cause, reason);
  assert.deepStrictEqual(fs.readdirSync(dir).sort(), [`${NAME}.journal`, `${NAME}.partial`]);
  const lines = journalLines(dir);
  const head = JSON.parse(lines[0]);
  assert.strictEqual(head.length, 100);
  assert.strictEqual(head.blockRows, 16);
  assert.ok(head.fingerprint && Array.isArray(head.fields));
  // rows 0..31 are two whole blocks; the batch at 32 (block 2) was written but its block never closed
  assert.deepStrictEqual(lines.slice(1).map((l) => JSON.parse(l).block), [0, 1]);
});

test('the build after an abort resumes after the last whole block and writes the same bytes as an uninterrupted build', async () => {
  const want = await reference();
  const dir = tmpDir();
  await abortAt(dir, 40);
  let text = '';
  const output = { isTTY: true, write: (s) => { text += s; } };
  const c = await tg.transfer.cacheFeatures(model(), data(100), opts(dir, { verbose: 1, output }));
  assert.strictEqual(c.resumedRows, 32);
  assert.strictEqual(c.builtRows, 68, 'only the rows after the resumed blocks are computed');
  assert.match(text, /Caching features \[.*\] \d+\/7 blocks \(2 resumed\)/);
  assert.match(text, /32 rows resumed/);
  c.dispose();
  assert.deepStrictEqual(fs.readdirSync(dir), [NAME], 'partial and journal gone');
  assert.ok(fs.readFileSync(path.join(dir, NAME)).equals(want), 'byte-identical file');
});

test('an already-aborted signal rejects before any work', async () => {
  const dir = tmpDir();
  const ac = new AbortController();
  ac.abort('early');
  const ds = data(100);
  await assert.rejects(tg.transfer.cacheFeatures(model(), ds, opts(dir, { signal: ac.signal })), (e) => e.code === 'ABORT_ERR' && e.cause === 'early');
  assert.strictEqual(ds.reads, 0, 'no batch read');
  assert.deepStrictEqual(fs.readdirSync(dir), []);
});

test('an already-aborted signal rejects also when a whole cache file would be reused', async () => {
  const dir = tmpDir();
  const m = model();
  const ds = data(100);
  (await tg.transfer.cacheFeatures(m, ds, opts(dir))).dispose();
  const ac = new AbortController();
  ac.abort('early');
  await assert.rejects(tg.transfer.cacheFeatures(m, ds, opts(dir, { signal: ac.signal })), (e) => e.name === 'AbortError' && e.cause === 'early');
  await assert.rejects(tg.transfer.cacheFeatures(m, ds, opts(dir, { signal: { aborted: 'no' } })), /signal must be an AbortSignal/);
});

test('a torn last journal line is ignored and a block past the journal is rewritten', async () => {
  const want = await reference();
  const dir = tmpDir();
  await abortAt(dir, 56);
  const journal = path.join(dir, `${NAME}.journal`);
  assert.strictEqual(journalLines(dir).length, 1 + 3);
  // a kill mid-append: half a line for block 3, whose rows hold garbage
  fs.appendFileSync(journal, '{"block":3,"crc":[12');
  const partial = path.join(dir, `${NAME}.partial`);
  const fd = fs.openSync(partial, 'r+');
  const rowBytes = 6 * 4 * 4 * 4;
  fs.writeSync(fd, Buffer.alloc(16 * rowBytes, 0xab), 0, 16 * rowBytes, 48 * rowBytes);
  fs.closeSync(fd);
  const c = await tg.transfer.cacheFeatures(model(), data(100), opts(dir));
  assert.strictEqual(c.resumedRows, 48);
  c.dispose();
  assert.ok(fs.readFileSync(path.join(dir, NAME)).equals(want));
});

test('a journal of another build, or a partial file shorter than its journal says, starts over', async () => {
  const dir = tmpDir();
  await abortAt(dir, 40);
  // another block size: another build
  const want32 = await reference(100, { blockRows: 32 });
  const a = await tg.transfer.cacheFeatures(model(), data(100), opts(dir, { blockRows: 32 }));
  assert.strictEqual(a.resumedRows, 0);
  assert.strictEqual(a.builtRows, 100);
  a.dispose();
  assert.ok(fs.readFileSync(path.join(dir, NAME)).equals(want32));

  const other = tmpDir();
  await abortAt(other, 40);
  fs.truncateSync(path.join(other, `${NAME}.partial`), 100);
  const b = await tg.transfer.cacheFeatures(model(), data(100), opts(other));
  assert.strictEqual(b.resumedRows, 0);
  b.dispose();
  assert.ok(fs.readFileSync(path.join(other, NAME)).equals(await reference()));

  // another model: the fingerprint differs
  const third = tmpDir();
  await abortAt(third, 40);
  const changed = model();
  tg.noGrad(() => changed.get('conv').bias.add_(1));
  const c = await tg.transfer.cacheFeatures(changed, data(100), opts(third));
  assert.strictEqual(c.resumedRows, 0);
  c.dispose();
});

test("a resumed build whose first batch lays out otherwise than its journal (same key, labels now int32) starts over", async () => {
  const dir = tmpDir();
  await abortAt(dir, 40);
  const base = data(100);
  const narrowed = { ...base, getBatch: (idx) => {
    const [x, y] = base.getBatch(idx);
    const y32 = y.to({ dtype: 'int32' });
    y.dispose();
    return [x, y32];
  } };
  const c = await tg.transfer.cacheFeatures(model(), narrowed, opts(dir));
  assert.deepStrictEqual([c.resumedRows, c.builtRows], [0, 100], 'nothing resumed: every row computed again');
  assert.deepStrictEqual(fs.readdirSync(dir), [NAME], 'the old partial file and journal are gone');
  const [features, labels] = c.examples.getBatch([0, 99]);
  const [, want] = base.getBatch([0, 99]);
  assert.strictEqual(labels.dtype, 'int32');
  assert.deepStrictEqual(Array.from(labels.dataSync(), Number), Array.from(want.dataSync(), Number));
  for (const t of [features, labels, want]) t.dispose();
  c.dispose();
});

test('a build killed with SIGKILL mid-way resumes in the next process: fewer rows computed, the same bytes', async () => {
  const want = await reference(400);
  const dir = tmpDir();
  const script = `
    const tg = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    const { model, data, stall } = require(${JSON.stringify(path.join(__dirname, 'helpers', 'feature-cache-build'))});
    tg.transfer.cacheFeatures(model(), data(400, () => stall(15)), ${JSON.stringify(opts(dir))})
      .then(() => process.stdout.write('finished'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(signal)));
  // kill once the journal holds at least two whole blocks
  for (;;) {
    const lines = fs.existsSync(path.join(dir, `${NAME}.journal`)) ? journalLines(dir).length : 0;
    if (lines >= 3) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  child.kill('SIGKILL');
  assert.strictEqual(await exited, 'SIGKILL');
  assert.strictEqual(out, '', 'the child did not finish');
  assert.ok(!fs.existsSync(path.join(dir, NAME)), 'nothing under the cache name');
  const c = await tg.transfer.cacheFeatures(model(), data(400), opts(dir));
  assert.ok(c.resumedRows >= 32, `resumed ${c.resumedRows} rows`);
  assert.ok(c.builtRows < 400 && c.builtRows === 400 - c.resumedRows, `built ${c.builtRows} rows`);
  c.dispose();
  assert.ok(fs.readFileSync(path.join(dir, NAME)).equals(want));
});

test("a partial build whose journal names a live process of this machine is not taken over: ERR_CACHE_BUSY", async () => {
  const dir = tmpDir();
  await abortAt(dir, 40);
  const journal = path.join(dir, `${NAME}.journal`);
  const lines = fs.readFileSync(journal, 'utf8').split('\n');
  const head = JSON.parse(lines[0]);
  assert.strictEqual(head.owner.pid, process.pid, 'the journal names its writer');
  // the test runner that started this file: alive while this test runs
  head.owner.pid = process.ppid;
  fs.writeFileSync(journal, [JSON.stringify(head), ...lines.slice(1)].join('\n'));
  const before = fs.readFileSync(path.join(dir, `${NAME}.partial`));
  await assert.rejects(tg.transfer.cacheFeatures(model(), data(100), opts(dir)), (e) =>
    e.code === 'ERR_CACHE_BUSY' && e.message.includes(`process ${process.ppid}`) && e.message.includes(path.join(dir, NAME)));
  assert.ok(fs.readFileSync(path.join(dir, `${NAME}.partial`)).equals(before), 'its partial file untouched');
  assert.strictEqual(fs.readFileSync(journal, 'utf8').split('\n')[0], JSON.stringify(head));
});

test('a partial build whose journal names no owner, another machine (whatever its pid means here) or a dead process is taken over and resumed', async () => {
  const want = await reference();
  for (const edit of [(h) => delete h.owner, (h) => Object.assign(h.owner, { host: `${h.owner.host}-elsewhere`, pid: process.ppid }), (h) => (h.owner.pid = 2 ** 22 + 12345)]) {
    const dir = tmpDir();
    await abortAt(dir, 40);
    const journal = path.join(dir, `${NAME}.journal`);
    const lines = fs.readFileSync(journal, 'utf8').split('\n');
    const head = JSON.parse(lines[0]);
    edit(head);
    fs.writeFileSync(journal, [JSON.stringify(head), ...lines.slice(1)].join('\n'));
    const c = await tg.transfer.cacheFeatures(model(), data(100), opts(dir));
    assert.ok(c.resumedRows > 0, `resumed after ${JSON.stringify(head.owner)}`);
    c.dispose();
    assert.ok(fs.readFileSync(path.join(dir, NAME)).equals(want));
  }
});

test('a resumed build that is aborted again keeps every whole block in its journal, the first build\'s included', async () => {
  const want = await reference();
  const dir = tmpDir();
  await abortAt(dir, 40);
  assert.deepStrictEqual(journalLines(dir).slice(1).map((l) => JSON.parse(l).block), [0, 1]);
  await abortAt(dir, 72);
  const lines = journalLines(dir);
  assert.deepStrictEqual(lines.slice(1).map((l) => JSON.parse(l).block), [0, 1, 2, 3], 'the resumed journal rewrote blocks 0 and 1, then added its own');
  assert.ok(lines.slice(1).every((l) => JSON.parse(l).crc.length === 2), 'a CRC per field on each line');
  const c = await tg.transfer.cacheFeatures(model(), data(100), opts(dir));
  assert.strictEqual(c.resumedRows, 64, 'the third build starts after block 3');
  c.dispose();
  assert.ok(fs.readFileSync(path.join(dir, NAME)).equals(want));
});
