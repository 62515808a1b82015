'use strict';
// A disk feature cache's trailer is attacker-controlled: every lie in it (sizes, offsets, dtypes, checksums, version,
// fingerprint, its own length) is a clear invalid reason from openCacheFile and a rebuild, never a crash or a huge
// allocation.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { openCacheFile } = require('../dist/transfer/cache/disk-file');

const quiet = { verbose: 0 };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-ftrailer-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const model = () => {
  tg.manualSeed(1);
  return new tg.nn.Sequential({ hidden1: new tg.nn.Linear(6, 12), act1: new tg.nn.ReLU(), outputs: new tg.nn.Linear(12, 3) }).freeze(/^hidden1\./);
};
const data = () => {
  tg.manualSeed(7);
  return new tg.data.TensorDataset(tg.randn([40, 6]), tg.randint(0, 3, [40]));
};
const open = () => tg.transfer.cacheFeatures(model(), data(), { store: 'disk', dir, batchSize: 8, blockRows: 16, ...quiet });

let good; // { body: data bytes, trailer: parsed JSON }
test.before(async () => {
  const c = await open();
  const buf = fs.readFileSync(c.file);
  c.dispose();
  const len = buf.readUInt32LE(buf.length - 12);
  good = { body: buf.subarray(0, buf.length - 12 - len), trailer: JSON.parse(buf.subarray(buf.length - 12 - len, buf.length - 12).toString()) };
});

const file = path.join(dir, 'features.tgcache');
function write(json, { magic = 'TGFCACH2', len } = {}) {
  const j = Buffer.from(typeof json === 'string' ? json : JSON.stringify(json));
  const l = Buffer.alloc(4);
  l.writeUInt32LE(len ?? j.length);
  fs.writeFileSync(file, Buffer.concat([good.body, j, l, Buffer.from(magic)]));
}
const lie = (edit) => {
  const t = structuredClone(good.trailer);
  edit(t);
  return t;
};
function refused(why) {
  let r;
  assert.doesNotThrow(() => (r = openCacheFile(file)));
  assert.ok('invalid' in r, `refused: ${JSON.stringify(r.header ?? r)}`);
  assert.match(r.invalid, why);
}

test('the valid trailer opens', () => {
  write(good.trailer);
  const r = openCacheFile(file);
  assert.ok('fd' in r);
  fs.closeSync(r.fd);
});

test('row counts and block sizes that lie are refused', () => {
  for (const v of [-5, 2.5, null, '40', 0, 2 ** 53, 1e12]) {
    write(lie((t) => (t.length = v)));
    refused(/row count|layout needs|field 1 \(offset\)/); // another length moves the next field
  }
  write(JSON.stringify(good.trailer).replace('"length":40', '"length":1e400')); // Infinity
  refused(/row count/);
  for (const v of [0, -16, 0.5, null, 2 ** 60]) {
    write(lie((t) => (t.blockRows = v)));
    refused(/block size/);
  }
  write(JSON.stringify(good.trailer).replace('"blockRows":16', '"blockRows":1e400'));
  refused(/block size/);
});

test('the edges of what a trailer may say: no rows, one row, blocks of one row, 64 fields, a checksum of 0', async () => {
  write(lie((t) => (t.length = 0)));
  refused(/^has a bad row count$/);
  write(lie((t) => (t.blockRows = 0)));
  refused(/^has a bad block size$/);
  write(lie((t) => (t.fields = Array.from({ length: 64 }, () => t.fields[0]))));
  refused(/^has a bad field 1 \(offset\)$/); // 64 fields are a list; the copies overlap
  write(lie((t) => (t.crc[0][0] = 0)));
  const r = openCacheFile(file);
  assert.ok('fd' in r, 'a CRC of 0 is a CRC: the block is checked when read');
  fs.closeSync(r.fd);
  // caches of one row, and of blocks of one row, are written and reopened
  const small = fs.mkdtempSync(path.join(dir, 'small-'));
  const one = () => new tg.data.TensorDataset(tg.ones([1, 6]), tg.zeros([1], { dtype: 'int64' }));
  for (const options of [{ name: 'one-row' }, { name: 'unit-blocks', blockRows: 1, batchSize: 1 }]) {
    (await tg.transfer.cacheFeatures(model(), options.name === 'one-row' ? one() : data(), { store: 'disk', dir: small, ...options, ...quiet })).dispose();
    const again = await tg.transfer.cacheFeatures(model(), options.name === 'one-row' ? one() : data(), { store: 'disk', dir: small, ...options, ...quiet });
    assert.strictEqual(again.builds, 0, options.name);
    again.dispose();
  }
});

test('fields that overlap, leave the file, or disagree with their shape and dtype are refused', () => {
  const cases = [
    [(t) => (t.fields[1].offset = 0), /field 1 \(offset\)/], // overlapping the features
    [(t) => (t.fields[1].offset = 2 ** 53), /field 1 \(offset\)/],
    [(t) => (t.fields[1].offset = -8), /field 1 \(offset\)/],
    [(t) => (t.fields[0].offset = 0.5), /field 0 \(offset\)/],
    [(t) => (t.fields[0].rowBytes += 2), /row size/],
    [(t) => (t.fields[0].rowBytes = 0), /row size/],
    [(t) => (t.fields[0].shape = [2 ** 40, 2 ** 40]), /row size|shape/],
    [(t) => (t.fields[0].shape = [-12]), /shape/],
    [(t) => (t.fields[0].shape = 'big'), /shape/],
    [(t) => (t.fields[0].dtype = 'complex128'), /dtype/],
    [(t) => (t.fields[0] = null), /field 0/],
    [(t) => (t.fields = []), /field list/],
    [(t) => (t.fields = Array.from({ length: 65 }, () => t.fields[0])), /field list/],
    [(t) => t.fields.push({ ...t.fields[1], offset: 10 ** 6 }), /field 2|layout needs/], // a field past the end of the data
    [(t) => t.fields.pop(), /layout needs|checksum/],
  ];
  for (const [edit, why] of cases) {
    write(lie(edit));
    refused(why);
  }
});

test('checksums of the wrong number or type are refused', () => {
  const cases = [
    (t) => t.crc[0].pop(),
    (t) => t.crc[1].push(1),
    (t) => (t.crc[0][0] = 2 ** 32),
    (t) => (t.crc[0][0] = -1),
    (t) => (t.crc[0][0] = 1.5),
    (t) => (t.crc = [t.crc[0]]),
    (t) => (t.crc = null),
    (t) => (t.crc[1] = 'abc'),
  ];
  for (const edit of cases) {
    write(lie(edit));
    refused(/checksum/);
  }
});

test('versions, formats, fingerprints and trailers that are not what they claim are refused', () => {
  write(lie((t) => (t.version = 1)));
  refused(/version 1/);
  write(lie((t) => (t.version = '2')));
  refused(/version/);
  write(good.trailer, { magic: 'TGFCACH1' });
  refused(/version 1/);
  write(lie((t) => (t.format = 'something else')));
  refused(/not a torchgraft feature cache/);
  const fp0 = good.trailer.fingerprint;
  for (const fp of [null, {}, [], { ...fp0, weights: null }, { ...fp0, weights: { a: 1 } }, { ...fp0, weights: { ...fp0.weights, b: 1 } }, { ...fp0, weights: [] },
    { ...fp0, weights: ['abc'] }, { ...fp0, cut: 3 }, { ...fp0, structure: 5 }, { ...fp0, dataset: null }]) {
    write(lie((t) => (t.fingerprint = fp)));
    refused(/fingerprint/);
  }
  for (const json of ['null', '[]', '"text"', '{', '']) {
    write(json);
    refused(/not a torchgraft|unreadable/);
  }
});

test('a trailer length past the file or of 4 GB is refused before anything is allocated', () => {
  for (const len of [0xffffffff, 2 ** 31, good.body.length + 10 ** 6]) {
    write(good.trailer, { len });
    refused(/trailer longer than the file/);
  }
});

test('cacheFeatures rebuilds a cache whose trailer lies, and says why', async () => {
  write(lie((t) => (t.fields[0].rowBytes += 4)));
  const c = await open();
  assert.strictEqual(c.builds, 1);
  assert.match(c.rebuiltBecause, /row size/);
  c.dispose();
  assert.ok('fd' in openCacheFile(file) || assert.fail('the rebuilt file opens'));
});
