'use strict';
// The disk feature cache's native reads (binding.readBlocks): spans of a file into one tensor on a worker thread,
// each span's CRC-32C checked there, with the same checksum as lib/io/crc32c.ts; and every bad argument refused.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
require('../dist'); // defines the Tensor class that native results are made of
const { binding } = require('../dist/native');
const { crc32c } = require('../dist/io/crc32c');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-readblocks-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const bytes = crypto.randomBytes(1 << 16);
const file = path.join(dir, 'data.bin');
fs.writeFileSync(file, bytes);
const fd = fs.openSync(file, 'r');
test.after(() => fs.closeSync(fd));

test('the native CRC-32C equals the JavaScript one and the published vectors', () => {
  assert.strictEqual(binding.crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.strictEqual(binding.crc32c(Buffer.alloc(32)), 0x8a9136aa); // RFC 3720 B.4
  assert.strictEqual(binding.crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
  for (const n of [0, 1, 7, 8, 9, 1000, 65536]) assert.strictEqual(binding.crc32c(bytes.subarray(0, n)), crc32c(bytes.subarray(0, n)), `length ${n}`);
  // three streams at once, joined (3 x 8192 and 3 x 256 byte rounds), at every alignment and around each round's edge
  const big = Buffer.alloc(3 * 8192 * 5 + 3 * 256 * 3 + 77);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 23;
  for (const n of [767, 768, 769, 24575, 24576, 24577, 24576 + 768, 3 * 24576 + 5, big.length - 3])
    for (const off of [0, 1, 3])
      assert.strictEqual(binding.crc32c(big.subarray(off, off + n)), crc32c(big.subarray(off, off + n)), `length ${n} at offset ${off}`);
  // continued over pieces, as the writer checksums a block batch by batch
  assert.strictEqual(binding.crc32c(bytes.subarray(777), binding.crc32c(bytes.subarray(0, 777))), crc32c(bytes));
  assert.strictEqual(crc32c(bytes.subarray(777), crc32c(bytes.subarray(0, 777))), crc32c(bytes));
});

test('readBlocks reads the spans in order into one tensor, checking each checksum, off the event loop', async () => {
  const spans = new Float64Array([4096, 1024, crc32c(bytes.subarray(4096, 5120)), 0, 2048, -1, 60000, 1024, crc32c(bytes.subarray(60000, 61024))]);
  const p = binding.readBlocks(fd, file, spans, 'float32', [4, 256]);
  assert.ok(p instanceof Promise);
  const t = await p;
  assert.deepStrictEqual(t.shape, [4, 256]);
  const got = Buffer.from((await t.data()).buffer);
  assert.ok(got.equals(Buffer.concat([bytes.subarray(4096, 5120), bytes.subarray(0, 2048), bytes.subarray(60000, 61024)])));
  t.dispose();
  const h = await binding.readBlocks(fd, file, new Float64Array([10, 8, -1]), 'float16', [4]);
  assert.strictEqual(h.dtype, 'float16');
  h.dispose();
});

test('a damaged span is ERR_CACHE_CORRUPT naming the file, offset and both checksums', async () => {
  const good = crc32c(bytes.subarray(0, 512));
  await assert.rejects(binding.readBlocks(fd, file, new Float64Array([0, 512, (good ^ 1) >>> 0]), 'uint8', [512]), (e) => {
    assert.strictEqual(e.name, 'TorchError');
    assert.strictEqual(e.code, 'ERR_CACHE_CORRUPT');
    assert.strictEqual(e.path, file);
    assert.match(e.message, /512 bytes at offset 0 fail their checksum/);
    assert.match(e.message, new RegExp(good.toString(16).padStart(8, '0')));
    return true;
  });
});

test('a span past the end of the file is ERR_CACHE_CORRUPT (truncated), not zeros', async () => {
  await assert.rejects(binding.readBlocks(fd, file, new Float64Array([65536 - 100, 200, -1]), 'uint8', [200]), { code: 'ERR_CACHE_CORRUPT', message: /ended while reading/ });
});

test('bad arguments are refused before any read', async () => {
  const ok = new Float64Array([0, 16, -1]);
  assert.throws(() => binding.readBlocks(-1, file, ok, 'float32', [4]), RangeError);
  assert.throws(() => binding.readBlocks(fd, '', ok, 'float32', [4]), TypeError);
  assert.throws(() => binding.readBlocks(fd, file, [0, 16, -1], 'float32', [4]), /Float64Array/);
  assert.throws(() => binding.readBlocks(fd, file, new Float64Array([0, 16]), 'float32', [4]), /triples/);
  assert.throws(() => binding.readBlocks(fd, file, new Float64Array([-8, 16, -1]), 'float32', [4]), RangeError);
  assert.throws(() => binding.readBlocks(fd, file, new Float64Array([0.5, 16, -1]), 'float32', [4]), RangeError);
  assert.throws(() => binding.readBlocks(fd, file, new Float64Array([2 ** 60, 16, -1]), 'float32', [4]), RangeError);
  assert.throws(() => binding.readBlocks(fd, file, new Float64Array([0, 16, 2 ** 32]), 'float32', [4]), /crc/);
  assert.throws(() => binding.readBlocks(fd, file, ok, 'float32', [5]), /hold 16 bytes, the shape needs 20/);
  assert.throws(() => binding.readBlocks(fd, file, ok, 'float32', [-4]), RangeError);
  assert.throws(() => binding.readBlocks(fd, file, ok, 'nonsense', [4]), TypeError);
  // a closed descriptor is an I/O error from the worker, not a crash
  const fd2 = fs.openSync(file, 'r');
  fs.closeSync(fd2);
  await assert.rejects(binding.readBlocks(fd2, file, ok, 'float32', [4]), { code: 'ERR_IO' });
});

test('gatherRows copies row rows[i] of sources[which[i]] into row i and casts, off the event loop', async () => {
  const tg = require('../dist');
  const a = tg.arange(0, 12).reshape([4, 3]).to({ dtype: 'float16' });
  const b = tg.arange(100, 106).reshape([2, 3]).to({ dtype: 'float16' });
  const p = binding.gatherRows([a, b], Int32Array.from([1, 0, 0, 1]), Int32Array.from([1, 3, 0, 0]), 'float16', [3], 'float32');
  assert.ok(p instanceof Promise);
  const out = await p;
  assert.strictEqual(out.dtype, 'float32');
  assert.deepStrictEqual(out.shape, [4, 3]);
  assert.deepStrictEqual(Array.from(await out.data()), [103, 104, 105, 9, 10, 11, 0, 1, 2, 100, 101, 102]);
  // widened on the worker thread exactly as LibTorch casts: float16 and bfloat16, values beyond small integers included
  for (const dtype of ['float16', 'bfloat16']) {
    const src = tg.tensor([[1.5, -2.25e-3, 65504], [3.1415927, -0, 1e-7]]).to({ dtype });
    const want = Array.from(await src.to({ dtype: 'float32' }).data());
    const got = await binding.gatherRows([src], Int32Array.from([0, 0]), Int32Array.from([0, 1]), dtype, [3], 'float32');
    assert.deepStrictEqual(Array.from(await got.data()), want, dtype);
  }
  // rows of 19: the vector loop (8 at a time) and its tail
  for (const dtype of ['float16', 'bfloat16']) {
    tg.manualSeed(7);
    const src = tg.randn([5, 19]).mul(1000).to({ dtype });
    const idx = [4, 0, 3, 3, 1];
    const want = Array.from(await src.indexSelect(0, tg.tensor(idx, { dtype: 'int64' })).to({ dtype: 'float32' }).data());
    const got = await binding.gatherRows([src], new Int32Array(idx.length), Int32Array.from(idx), dtype, [19], 'float32');
    assert.deepStrictEqual(Array.from(await got.data()), want, `${dtype}, rows of 19`);
  }
  // the sources' handles may be disposed while the copy runs: the worker holds the tensors
  const c = tg.arange(0, 6).reshape([2, 3]).to({ dtype: 'float32' });
  const q = binding.gatherRows([c], Int32Array.from([0]), Int32Array.from([1]), 'float32', [3], 'float32');
  c.dispose();
  assert.deepStrictEqual(Array.from(await (await q).data()), [3, 4, 5]);
});

test('gatherRows refuses rows and sources that do not fit', () => {
  const tg = require('../dist');
  const a = tg.zeros([4, 3]);
  const one = Int32Array.from([0]);
  assert.throws(() => binding.gatherRows([a], Int32Array.from([1]), one, 'float32', [3], 'float32'), /which\[0\] names no source/);
  assert.throws(() => binding.gatherRows([a], one, Int32Array.from([4]), 'float32', [3], 'float32'), /rows\[0\] is outside its source/);
  assert.throws(() => binding.gatherRows([a], one, Int32Array.from([-1]), 'float32', [3], 'float32'), /outside its source/);
  assert.throws(() => binding.gatherRows([a], one, one, 'float32', [4], 'float32'), /rows are not 16 bytes each/);
  assert.throws(() => binding.gatherRows([a], [0], one, 'float32', [3], 'float32'), /which must be an Int32Array/);
  assert.throws(() => binding.gatherRows([a], one, Int32Array.from([0, 0]), 'float32', [3], 'float32'), /same length/);
  assert.throws(() => binding.gatherRows([a.t()], one, one, 'float32', [4], 'float32'), /contiguous CPU tensor/);
  assert.throws(() => binding.gatherRows([a], one, one, 'float32', [-3], 'float32'), RangeError);
  assert.throws(() => binding.gatherRows(['x'], one, one, 'float32', [3], 'float32'), TypeError);
});
