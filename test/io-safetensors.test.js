'use strict';
// safetensors: round trips (torchgraft and Python PyTorch both ways), foreign files, atomic writes, and every kind
// of corrupt file rejected with a named error.
const test = require('node:test');
const assert = require('node:assert');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');
const tg = require('..');
const { fuzz } = require('../scripts/fuzz-io.js');
const { CUDA_SKIP } = require('./helpers/cuda');

const PYTHON = process.env.TORCHGRAFT_PYTHON || '/usr/bin/python3';
const REF = path.join(__dirname, 'helpers', 'safetensors_ref.py');
// The foreign fixtures' folder (test/fixtures/foreign, or TORCHGRAFT_FOREIGN_FIXTURES).
const { FOREIGN, pythonHas } = require('./helpers/foreign');
const ROOT = path.resolve(__dirname, '..');

const hasPyTorch = pythonHas('torch, numpy');
const noPython = hasPyTorch ? false : `${PYTHON} with torch and numpy is not available`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-io-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
const tmpFile = (name = 'f') => path.join(tmp, `${name}-${counter++}.safetensors`);

function py(...args) {
  return JSON.parse(execFileSync(PYTHON, [REF, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 }));
}

const FILE_DTYPE = { float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL' };

// The same value encoding as safetensors_ref.py: floats exact as float64 (non-finite as strings), ints as strings.
function valuesOf(t) {
  if (t.dtype === 'bool') return Array.from(t.to('uint8').dataSync());
  if (['float32', 'float64', 'float16', 'bfloat16'].includes(t.dtype)) {
    return Array.from(t.to('float64').dataSync(), (v) => (Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf'));
  }
  return Array.from(t.to('int64').dataSync(), (v) => String(v));
}

function describe(tensors) {
  const out = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = { dtype: FILE_DTYPE[t.dtype], shape: t.shape, values: valuesOf(t) };
  return out;
}

// The summary safetensors_ref.py's `decode` gives: dtype, shape, first values and a sha256 of the values widened to 64 bits.
function digest(tensors) {
  const out = {};
  for (const [k, t] of Object.entries(tensors)) {
    const wide = t.to(t.dtype === 'int64' ? 'int64' : 'float64').dataSync();
    const first = Array.from(wide.slice(0, 5), (v) => (typeof v === 'bigint' ? String(v) : v));
    const sha256 = crypto.createHash('sha256').update(Buffer.from(wide.buffer, wide.byteOffset, wide.byteLength)).digest('hex');
    out[k] = { dtype: FILE_DTYPE[t.dtype], shape: t.shape, first, sha256 };
  }
  return out;
}

// Tensors of every dtype PyTorch writes, plus a scalar, empty tensors and non-contiguous views.
function sampleTensors() {
  tg.manualSeed(3);
  const special = tg.tensor(new Float32Array([0, -0, 1.5, -2.25, Infinity, -Infinity, NaN, 1e-30]));
  return {
    'f32': tg.randn([3, 4]),
    'f64': tg.randn([2, 3], { dtype: 'float64' }).mul(1e200),
    'f16': special.to('float16'),
    'bf16': special.to('bfloat16'),
    'i64': tg.tensor(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, -5n])),
    'i32': tg.tensor(new Int32Array([-(2 ** 31), 2 ** 31 - 1, 0, 7]), { shape: [2, 2] }),
    'i16': tg.tensor(new Int16Array([-32768, 32767, 3])),
    'i8': tg.tensor(new Int8Array([-128, 127, 0])),
    'u8': tg.tensor(new Uint8Array([0, 255, 128])),
    'bool': tg.tensor([[true, false], [false, true]]),
    'scalar': tg.tensor(3.5),
    'scalar.i64': tg.tensor(new BigInt64Array([42n])).reshape([]),
    'empty': tg.zeros([0, 3]),
    'empty.mid': tg.zeros([2, 0, 4], { dtype: 'int16' }),
    'noncontig.t': tg.arange(0, 12, 1, { dtype: 'int32' }).reshape([3, 4]).t(),
    'noncontig.slice': tg.arange(0, 20, 1, { dtype: 'float64' }).reshape([4, 5]).narrow(1, 1, 3),
  };
}

// Builds a safetensors file by hand: header object (or raw string) plus data bytes.
function rawFile(header, data = Buffer.alloc(0), { length } = {}) {
  const h = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(length === undefined ? BigInt(h.length) : BigInt(length));
  return Buffer.concat([len, h, data]);
}

function writeRaw(buf, name = 'bad') {
  const f = tmpFile(name);
  fs.writeFileSync(f, buf);
  return f;
}

// Asserts that loading rejects with a TorchError of the given code whose message names the file.
async function rejectsWith(file, code, messagePart) {
  await assert.rejects(tg.io.load(file), (e) => {
    assert.ok(e instanceof tg.TorchError, `expected a TorchError, got ${e && e.stack}`);
    if (code) assert.strictEqual(e.code, code, e.message);
    assert.ok(e.message.includes(file), `message should name the file: ${e.message}`);
    if (messagePart) assert.match(e.message, messagePart);
    return true;
  });
}

const leftovers = (dir) => fs.readdirSync(dir).filter((f) => f.includes('.tmp-'));

test('save then load round-trips every dtype, scalars, empty and non-contiguous tensors', async () => {
  const src = sampleTensors();
  assert.strictEqual(src['noncontig.t'].isContiguous(), false);
  const file = tmpFile('all');
  await tg.io.save(src, file);
  const back = await tg.io.load(file);
  assert.deepStrictEqual(Object.keys(back).sort(), Object.keys(src).sort());
  assert.deepStrictEqual(describe(back), describe(src));
  for (const k of Object.keys(src)) assert.strictEqual(back[k].dtype, src[k].dtype, k);
  tg.dispose([src, back]);
});

test('a file written by torchgraft loads in Python PyTorch through a hand-written reader (test/helpers/safetensors_ref.py) with identical values and metadata', { skip: noPython }, async () => {
  const src = sampleTensors();
  const file = tmpFile('to-python');
  const metadata = { format: 'pt', 'clé': 'valeur 中 "q" \\ \n\t', empty: '' };
  await tg.io.save(src, file, { metadata });
  const ref = py('read', file);
  assert.deepStrictEqual(ref.metadata, metadata);
  assert.deepStrictEqual(ref.tensors, describe(src));
  tg.dispose(src);
});

test('a file written by Python PyTorch through a hand-written writer (test/helpers/safetensors_ref.py) loads in torchgraft with identical values, in file order', { skip: noPython }, async () => {
  const file = tmpFile('from-python');
  const ref = execFileSync(PYTHON, [REF, 'write', file], { encoding: 'utf8' });
  const expected = JSON.parse(ref);
  const loaded = await tg.io.loadWithMetadata(file);
  assert.strictEqual(loaded.format, 'safetensors');
  assert.deepStrictEqual(loaded.names, expected.order);
  assert.deepStrictEqual(Object.keys(loaded.tensors), expected.order);
  assert.deepStrictEqual(loaded.metadata, expected.metadata);
  assert.deepStrictEqual(describe(loaded.tensors), expected.tensors);
  tg.dispose(loaded.tensors);
});

// The byte strings of huggingface/safetensors' own tests (bindings/python/tests: test_serialization), the format's
// published vectors: an int32 [2, 2] tensor 'test', unpadded (older writers, header length 60) and padded with spaces
// to 8-byte alignment (current writers, header length 64), zeros and with [1, 1] = 1.
const VECTOR_HEADER = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';
function publishedVector(padded, last) {
  const header = Buffer.from(padded ? `${VECTOR_HEADER}    ` : VECTOR_HEADER, 'latin1');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  const data = Buffer.alloc(16);
  data.writeInt32LE(last, 12);
  return Buffer.concat([len, header, data]);
}

test('the safetensors project\'s published test vectors load, and torchgraft writes the current (padded) one byte for byte', async () => {
  assert.strictEqual(publishedVector(false, 0)[0], 0x3c, "'<': the published unpadded header length");
  assert.strictEqual(publishedVector(true, 0)[0], 0x40, "'@': the published padded header length");
  for (const padded of [false, true]) {
    for (const last of [0, 1]) {
      const file = tmpFile('vector');
      fs.writeFileSync(file, publishedVector(padded, last));
      const got = await tg.io.load(file);
      assert.deepStrictEqual(Object.keys(got), ['test']);
      assert.strictEqual(got.test.dtype, 'int32');
      assert.deepStrictEqual(got.test.toArray(), [[0, 0], [0, last]], `padded ${padded}, [1, 1] = ${last}`);
      tg.dispose(got);
    }
  }
  const t = tg.tensor(new Int32Array([0, 0, 0, 1]), { shape: [2, 2] });
  const file = tmpFile('vector-written');
  await tg.io.save({ test: t }, file);
  assert.deepStrictEqual(fs.readFileSync(file), publishedVector(true, 1));
  t.dispose();
});

test('CUDA tensors are saved from the GPU and load back on the CPU with the same values', { skip: CUDA_SKIP }, async () => {
  const src = { w: tg.randn([64, 32]).to('cuda'), h: tg.randn([8]).to({ device: 'cuda', dtype: 'bfloat16' }) };
  const file = tmpFile('cuda');
  const pending = tg.io.save(src, file);
  const expected = describe({ w: src.w.to('cpu'), h: src.h.to('cpu') });
  tg.dispose(src); // the save holds its own handles
  await pending;
  const back = await tg.io.load(file);
  assert.strictEqual(back.w.device, 'cpu');
  assert.deepStrictEqual(describe(back), expected);
  tg.dispose(back);
});

test('metadata round-trips through loadWithMetadata; load() alone returns only tensors', async () => {
  const file = tmpFile('meta');
  const t = tg.ones([2]);
  const metadata = { format: 'pt', epoch: '12', unicode: 'äöü 🚀', quote: '"{}[],:' };
  await tg.io.save({ w: t }, file, { metadata });
  const got = await tg.io.loadWithMetadata(file);
  assert.deepStrictEqual(got.metadata, metadata);
  assert.deepStrictEqual(got.names, ['w']);
  const plain = await tg.io.load(file);
  assert.deepStrictEqual(Object.keys(plain), ['w']);
  const header = await tg.io.inspectSafetensors(file);
  assert.deepStrictEqual(header.entries, [{ name: 'w', dtype: 'F32', shape: [2], begin: 0, end: 8 }]);
  assert.strictEqual((8 + header.headerBytes) % 8, 0, 'data buffer starts 8-byte aligned');
  tg.dispose([t, got.tensors, plain]);
});

test('save accepts a Map or [name, tensor] pairs, writes deterministically, and tensors may be disposed right after', async () => {
  const a = tg.arange(0, 1000, 1, { dtype: 'float32' });
  const b = tg.tensor(new BigInt64Array([1n, 2n]));
  const f1 = tmpFile('map');
  const f2 = tmpFile('pairs');
  const p1 = tg.io.save(new Map([['b', b], ['a', a]]), f1);
  const p2 = tg.io.save([['a', a], ['b', b]], f2);
  a.dispose(); // the worker holds its own handles
  b.dispose();
  await Promise.all([p1, p2]);
  assert.deepStrictEqual(fs.readFileSync(f1), fs.readFileSync(f2), 'same content whatever the input order');
  const back = await tg.io.loadWithMetadata(f1);
  assert.deepStrictEqual(back.names, ['b', 'a'], 'int64 (8-byte) entries first, then by name');
  assert.deepStrictEqual(Array.from(back.tensors.a.dataSync().slice(0, 3)), [0, 1, 2]);
  tg.dispose(back.tensors);
});

test('save and load of a large file run off the JavaScript thread: timers keep firing meanwhile', async () => {
  const big = tg.randn([16 << 20]);
  const file = tmpFile('big');
  const ticksDuring = async (work) => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await work();
    } finally {
      clearInterval(timer);
    }
    return ticks;
  };
  // A synchronous implementation would let no timer run before it finished.
  assert.ok((await ticksDuring(() => tg.io.save({ big }, file))) > 0, 'timers ran during save');
  let back;
  assert.ok((await ticksDuring(async () => (back = await tg.io.load(file)))) > 0, 'timers ran during load');
  assert.ok(back.big.equal(big), 'same values');
  tg.dispose([big, back]);
});

test('names are own keys, even __proto__, and integer-like names keep their order in names', async () => {
  // Raw JSON text: an object literal would turn '__proto__' into a prototype and move '1' first.
  const header = '{"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"1":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}';
  const file = writeRaw(rawFile(header, Buffer.from([7, 9])), 'proto');
  const got = await tg.io.loadWithMetadata(file);
  assert.deepStrictEqual(got.names, ['__proto__', '1']);
  assert.ok(Object.prototype.hasOwnProperty.call(got.tensors, '__proto__'));
  assert.strictEqual(Object.getPrototypeOf(got.tensors), Object.prototype);
  assert.strictEqual(got.tensors['__proto__'].item(), 7);
  tg.dispose(Object.values(got.tensors));
});

test('save rejects bad input before writing anything', async () => {
  const file = tmpFile('refuse');
  const t = tg.ones([2]);
  await assert.rejects(tg.io.save({ a: 1 }, file), TypeError);
  await assert.rejects(tg.io.save({ a: t }, file, { metadata: { n: 3 } }), TypeError);
  await assert.rejects(tg.io.save([['a', t], ['a', t]], file), (e) => e.code === 'ERR_SAFETENSORS_ENTRY' && /duplicate/.test(e.message));
  await assert.rejects(tg.io.save({ __metadata__: t }, file), (e) => e.code === 'ERR_SAFETENSORS_ENTRY');
  await assert.rejects(tg.io.save({ a: t }, path.join(tmp, 'x.pt')), (e) => e.code === 'ERR_UNSUPPORTED_FORMAT');
  const d = tg.ones([1]);
  d.dispose();
  await assert.rejects(tg.io.save({ d }, file), (e) => e.code === 'ERR_TENSOR_DISPOSED');
  assert.strictEqual(fs.existsSync(file), false);
  assert.deepStrictEqual(leftovers(tmp), []);
  t.dispose();
});

test('a save that fails leaves the previous file intact and no temporary file', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'atomic-'));
  const file = path.join(dir, 'model.safetensors');
  const old = tg.full([4], 7, { dtype: 'float32' });
  await tg.io.save({ old }, file);
  const before = fs.readFileSync(file);
  // A failure at the rename: the destination is a non-empty directory.
  const blocker = path.join(dir, 'blocked.safetensors');
  fs.mkdirSync(blocker);
  fs.writeFileSync(path.join(blocker, 'keep'), 'x');
  await assert.rejects(tg.io.save({ old }, blocker), (e) => e.code === 'ERR_IO' && e.message.includes(blocker));
  // A failure at open: the folder does not exist.
  await assert.rejects(tg.io.save({ old }, path.join(dir, 'missing', 'm.safetensors')), (e) => e.code === 'ERR_IO');
  assert.deepStrictEqual(fs.readFileSync(file), before);
  assert.deepStrictEqual(leftovers(dir), []);
  old.dispose();
});

test('a save that fails mid-write (file size limit) keeps the previous file and removes the temporary file', { skip: process.platform === 'win32' }, async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'efbig-'));
  const file = path.join(dir, 'model.safetensors');
  const old = tg.full([4], 7, { dtype: 'float32' });
  await tg.io.save({ old }, file);
  old.dispose();
  const before = fs.readFileSync(file);
  // The child ignores SIGXFSZ, so writing past `ulimit -f` (in 512-byte blocks) fails with EFBIG inside the worker.
  const script = `const tg = require(${JSON.stringify(ROOT)});
    tg.io.save({ big: tg.zeros([1 << 20]) }, ${JSON.stringify(file)})
      .then(() => { console.log('SAVED'); }, (e) => { console.log('FAILED ' + e.code + ' ' + e.message); });`;
  const out = execFileSync('/bin/sh', ['-c', `trap '' XFSZ; ulimit -f 64; exec "${process.execPath}" -e '${script.replace(/'/g, "'\\''")}'`], { encoding: 'utf8' });
  assert.match(out, /^FAILED ERR_IO .*write failed/m);
  assert.deepStrictEqual(fs.readFileSync(file), before);
  assert.deepStrictEqual(leftovers(dir), []);
});

test('a process killed (SIGKILL) while writing a large file leaves the previous file loadable', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'kill-'));
  const file = path.join(dir, 'model.safetensors');
  const old = tg.full([3], 5, { dtype: 'float32' });
  await tg.io.save({ old }, file);
  old.dispose();
  const script = `const tg = require(${JSON.stringify(ROOT)});
    const big = tg.randn([32 << 20]);
    console.log('READY');
    tg.io.save({ big }, ${JSON.stringify(file)}).then(() => console.log('DONE'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  // Kill as soon as the temporary file exists and has started to grow: the write is in progress.
  const deadline = Date.now() + 60000;
  let killedMidWrite = false;
  while (Date.now() < deadline) {
    const tmps = leftovers(dir);
    if (tmps.length && fs.statSync(path.join(dir, tmps[0])).size > 0) {
      child.kill('SIGKILL');
      killedMidWrite = true;
      break;
    }
    if (out.includes('DONE')) break;
    await new Promise((r) => setTimeout(r, 1));
  }
  const { signal } = await exited;
  assert.ok(killedMidWrite, 'the child should be caught mid-write');
  assert.strictEqual(signal, 'SIGKILL');
  assert.ok(!out.includes('DONE'));
  const back = await tg.io.load(file);
  assert.deepStrictEqual(Object.keys(back), ['old']);
  assert.deepStrictEqual(Array.from(back.old.dataSync()), [5, 5, 5]);
  tg.dispose(back);
});

test('the two foreign safetensors fixtures (written by safetensors.torch.save_file) load with the names, shapes and values the file holds', async (t) => {
  const mnist = path.join(FOREIGN, 'burn_mnist_cnn.safetensors');
  const multi = path.join(FOREIGN, 'burn_multi_layer.safetensors');
  if (!fs.existsSync(mnist) || !fs.existsSync(multi)) return t.skip(`foreign fixtures not found in ${FOREIGN}`);

  const m = await tg.io.loadWithMetadata(mnist);
  assert.strictEqual(m.names.length, 20);
  assert.deepStrictEqual(m.metadata, {});
  assert.deepStrictEqual(m.tensors['conv1.weight'].shape, [8, 1, 3, 3]);
  assert.deepStrictEqual(m.tensors['conv3.weight'].shape, [24, 16, 3, 3]);
  assert.deepStrictEqual(m.tensors['fc1.weight'].shape, [32, 11616]);
  assert.deepStrictEqual(m.tensors['fc2.weight'].shape, [10, 32]);
  assert.deepStrictEqual(m.tensors['norm2.running_var'].shape, [10]);
  for (const k of ['norm1.num_batches_tracked', 'norm2.num_batches_tracked']) {
    assert.strictEqual(m.tensors[k].dtype, 'int64');
    assert.deepStrictEqual(m.tensors[k].shape, []);
  }
  assert.strictEqual(m.names.filter((n) => m.tensors[n].dtype === 'float32').length, 18);
  assert.strictEqual((await tg.io.inspectSafetensors(mnist)).headerBytes, 1520);

  const s = await tg.io.loadWithMetadata(multi);
  assert.deepStrictEqual(s.names.slice().sort(), ['conv1.bias', 'conv1.weight', 'fc1.bias', 'fc1.weight', 'norm1.bias', 'norm1.num_batches_tracked', 'norm1.running_mean', 'norm1.running_var', 'norm1.weight']);
  assert.deepStrictEqual(s.tensors['conv1.weight'].shape, [4, 3, 3, 3]);
  assert.deepStrictEqual(s.tensors['fc1.weight'].shape, [16, 256]);
  assert.strictEqual(s.tensors['norm1.num_batches_tracked'].dtype, 'int64');

  if (hasPyTorch) {
    // Values decoded independently with numpy.
    const refs = py('decode', mnist, multi);
    for (const [file, got] of [[mnist, m], [multi, s]]) {
      const ref = refs[file];
      assert.deepStrictEqual(got.names, ref.order);
      assert.deepStrictEqual(digest(got.tensors), ref.tensors);
    }
  }
  tg.dispose([m.tensors, s.tensors]);
});

test('load picks safetensors by content whatever the extension, and names the supported formats for unknown files', async () => {
  const file = path.join(tmp, 'weights.data');
  const t = tg.ones([2]);
  await tg.io.save({ t }, file);
  assert.strictEqual(await tg.io.detectFormat(file), 'safetensors');
  const back = await tg.io.load(file);
  assert.deepStrictEqual(Array.from(back.t.dataSync()), [1, 1]);
  const junk = path.join(tmp, 'junk.weights');
  fs.writeFileSync(junk, 'PK\x03\x04 not a weight file at all');
  await assert.rejects(tg.io.load(junk), (e) => e.code === 'ERR_UNKNOWN_FORMAT' && /safetensors \(\.safetensors\)/.test(e.message) && e.message.includes(junk));
  await assert.rejects(tg.io.load(path.join(tmp, 'nope.safetensors')), (e) => e.code === 'ERR_IO');
  const fifo = path.join(tmp, 'pipe.safetensors');
  execFileSync('mkfifo', [fifo]);
  await assert.rejects(tg.io.load(fifo), (e) => e.code === 'ERR_IO' && /not a regular file/.test(e.message));
  // Other readers (torchscript, ...) register beside these.
  const formats = tg.io.supportedFormats().map((f) => f.format);
  for (const f of ['safetensors', 'safetensors-index']) assert.ok(formats.includes(f), `${f} in ${formats}`);
  tg.dispose([t, back]);
});

const F32x2 = { dtype: 'F32', shape: [2], data_offsets: [0, 8] };
const eight = Buffer.alloc(8);

const corruptions = [
  ['a file shorter than 8 bytes', () => Buffer.from([1, 2, 3]), 'ERR_SAFETENSORS_TRUNCATED'],
  ['a header length of 2^60', () => rawFile({ a: F32x2 }, eight, { length: 2n ** 60n }), 'ERR_SAFETENSORS_HEADER', /limit/],
  ['a header length past the end of the file', () => rawFile({ a: F32x2 }, eight, { length: 5000 }), 'ERR_SAFETENSORS_TRUNCATED'],
  ['a header length of zero', () => rawFile('', Buffer.alloc(4), { length: 0 }), 'ERR_SAFETENSORS_HEADER'],
  ['a header that is not JSON', () => rawFile('{"a": {dtype: F32}}'), 'ERR_SAFETENSORS_HEADER', /not valid JSON/],
  ['a header that is a JSON array', () => rawFile('[1,2]'), 'ERR_SAFETENSORS_HEADER'],
  ['a header with a trailing comma', () => rawFile('{"a": {"dtype":"F32","shape":[2],"data_offsets":[0,8]},}', eight), 'ERR_SAFETENSORS_HEADER'],
  ['a header with bytes after the object', () => rawFile(JSON.stringify({ a: F32x2 }) + 'x', eight), 'ERR_SAFETENSORS_HEADER'],
  ['a header that is not UTF-8', () => rawFile(Buffer.concat([Buffer.from('{"a\xff'), Buffer.from([0xff]), Buffer.from('":1}')]).toString('latin1')), 'ERR_SAFETENSORS_HEADER'],
  ['a header nested 10000 deep', () => rawFile('{"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":' + '['.repeat(10000) + ']'.repeat(10000) + '}}'), 'ERR_SAFETENSORS_HEADER', /nesting/],
  ['offsets outside the file', () => rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, eight), 'ERR_SAFETENSORS_TRUNCATED'],
  ['offsets far outside the file (2^63)', () => rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[9223372036854775808,9223372036854775809]}}`, eight), 'ERR_SAFETENSORS_OFFSETS', /gap/],
  ['offsets beyond uint64', () => rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,99999999999999999999999]}}`, eight), 'ERR_SAFETENSORS_HEADER'],
  ['overlapping offsets', () => rawFile({ a: F32x2, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Buffer.alloc(12)), 'ERR_SAFETENSORS_OFFSETS', /overlaps/],
  ['a gap between tensors', () => rawFile({ a: F32x2, b: { dtype: 'F32', shape: [1], data_offsets: [12, 16] } }, Buffer.alloc(16)), 'ERR_SAFETENSORS_OFFSETS', /gap/],
  ['offsets not starting at 0', () => rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, eight), 'ERR_SAFETENSORS_OFFSETS', /gap/],
  ['bytes after the last tensor', () => rawFile({ a: F32x2 }, Buffer.alloc(12)), 'ERR_SAFETENSORS_OFFSETS', /after the last tensor/],
  ['reversed offsets', () => rawFile({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 0] } }, eight), 'ERR_SAFETENSORS_OFFSETS', /reversed/],
  ['a size not matching dtype x shape', () => rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eight), 'ERR_SAFETENSORS_OFFSETS', /needs 12 bytes/],
  ['duplicate names', () => rawFile('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', eight), 'ERR_SAFETENSORS_HEADER', /duplicate tensor name 'a'/],
  ['a negative dimension', () => rawFile({ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, eight), 'ERR_SAFETENSORS_HEADER', /non-negative/],
  ['a fractional dimension', () => rawFile({ a: { dtype: 'F32', shape: [2.5], data_offsets: [0, 8] } }, eight), 'ERR_SAFETENSORS_HEADER'],
  ['a shape whose element count overflows', () => rawFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}`, eight), 'ERR_SAFETENSORS_HEADER', /int64/],
  ['a shape whose byte count overflows', () => rawFile(`{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}}`, eight), 'ERR_SAFETENSORS_HEADER'],
  ['an absurd shape with a zero inside', () => rawFile(`{"a":{"dtype":"F32","shape":[0,9223372036854775807,9223372036854775807],"data_offsets":[0,0]}}`), 'ERR_SAFETENSORS_HEADER', /int64/],
  ['too many dimensions', () => rawFile({ a: { dtype: 'F32', shape: new Array(100).fill(1), data_offsets: [0, 4] } }, Buffer.alloc(4)), 'ERR_SAFETENSORS_HEADER', /dimensions/],
  ['an unknown dtype', () => rawFile({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 8] } }, eight), 'ERR_SAFETENSORS_DTYPE', /F128/],
  ['a U64 tensor', () => rawFile({ a: { dtype: 'U64', shape: [1], data_offsets: [0, 8] } }, eight), 'ERR_SAFETENSORS_DTYPE', /U64/],
  ['a missing dtype', () => rawFile({ a: { shape: [2], data_offsets: [0, 8] } }, eight), 'ERR_SAFETENSORS_HEADER', /dtype/],
  ['a tensor entry that is a string', () => rawFile({ a: 'F32' }), 'ERR_SAFETENSORS_HEADER'],
  ['data_offsets with three numbers', () => rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8, 9] } }, eight), 'ERR_SAFETENSORS_HEADER'],
  ['metadata that maps to a number', () => rawFile({ __metadata__: { epoch: 3 }, a: F32x2 }, eight), 'ERR_SAFETENSORS_HEADER', /__metadata__/],
  ['a BOOL byte other than 0 and 1', () => rawFile({ a: { dtype: 'BOOL', shape: [2], data_offsets: [0, 2] } }, Buffer.from([1, 2])), 'ERR_SAFETENSORS_DATA', /byte 2/],
  ['metadata that is an array', () => rawFile({ __metadata__: ['x'], a: F32x2 }, eight), 'ERR_SAFETENSORS_HEADER', /__metadata__/],
];

for (const [what, build, code, message] of corruptions) {
  test(`load rejects ${what} with ${code}`, async () => {
    await rejectsWith(writeRaw(build()), code, message);
  });
}

test('a huge header repeating values is scanned in bounded memory, not stored', async () => {
  // 20 MB of `0,` in an unknown field: a parser that built a tree would need over a gigabyte for it.
  const filler = '0,'.repeat(10 << 20) + '0';
  const file = writeRaw(rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"junk":[${filler}]}}`, Buffer.from([5])), 'huge');
  const before = process.memoryUsage().rss;
  const got = await tg.io.load(file);
  assert.strictEqual(got.a.item(), 5);
  assert.ok(process.memoryUsage().rss - before < 300 << 20, `rss grew by ${(process.memoryUsage().rss - before) >> 20} MB`);
  await rejectsWith(writeRaw(rawFile(`{"a":{"dtype":"U8","shape":[${filler}],"data_offsets":[0,0]}}`), 'huge-shape'), 'ERR_SAFETENSORS_HEADER', /more than 64 dimensions/);
  tg.dispose(got);
});

test('U16 and U32 tensors widen losslessly to int32 and int64', async () => {
  const data = Buffer.alloc(2 * 2 + 4 * 2);
  data.writeUInt16LE(65535, 0);
  data.writeUInt16LE(1, 2);
  data.writeUInt32LE(4294967295, 4);
  data.writeUInt32LE(2, 8);
  const file = writeRaw(rawFile({ u16: { dtype: 'U16', shape: [2], data_offsets: [0, 4] }, u32: { dtype: 'U32', shape: [2], data_offsets: [4, 12] } }, data), 'unsigned');
  const got = await tg.io.load(file);
  assert.strictEqual(got.u16.dtype, 'int32');
  assert.deepStrictEqual(Array.from(got.u16.dataSync()), [65535, 1]);
  assert.strictEqual(got.u32.dtype, 'int64');
  assert.deepStrictEqual(Array.from(got.u32.dataSync()), [4294967295n, 2n]);
  tg.dispose(got);
});

test('8-bit float tensors widen to float32 on LibTorch 2.1 and later, and are refused clearly before', async () => {
  // e4m3fn: 0x38 = 1, 0x40 = 2, 0xb8 = -1; e5m2: 0x3c = 1, 0x40 = 2, 0xbc = -1.
  const file = writeRaw(rawFile({ a: { dtype: 'F8_E4M3', shape: [3], data_offsets: [0, 3] }, b: { dtype: 'F8_E5M2', shape: [3], data_offsets: [3, 6] } }, Buffer.from([0x38, 0x40, 0xb8, 0x3c, 0x40, 0xbc])), 'f8');
  const [major, minor] = tg.buildInfo().torchVersion.split('.').map(Number);
  if (major > 2 || (major === 2 && minor >= 1)) {
    const got = await tg.io.load(file);
    assert.strictEqual(got.a.dtype, 'float32');
    assert.deepStrictEqual(Array.from(got.a.dataSync()), [1, 2, -1]);
    assert.deepStrictEqual(Array.from(got.b.dataSync()), [1, 2, -1]);
    tg.dispose(got);
  } else {
    await rejectsWith(file, 'ERR_SAFETENSORS_DTYPE', /F8_E4M3.*LibTorch 2\.1/);
  }
});

test('header padding, unknown entry fields and empty files of tensors are accepted as the format allows', async () => {
  const header = JSON.stringify({ a: { dtype: 'I8', shape: [2], data_offsets: [0, 2], extra: { nested: [1.5, null, true] } }, e: { dtype: 'F32', shape: [0], data_offsets: [2, 2] } }) + '    ';
  const got = await tg.io.loadWithMetadata(writeRaw(rawFile(header, Buffer.from([1, 0xff])), 'padded'));
  assert.deepStrictEqual(got.names, ['a', 'e']);
  assert.deepStrictEqual(Array.from(got.tensors.a.dataSync()), [1, -1]);
  assert.deepStrictEqual(got.tensors.e.shape, [0]);
  const none = await tg.io.loadWithMetadata(writeRaw(rawFile('{}'), 'empty'));
  assert.deepStrictEqual(none.names, []);
  tg.dispose(got.tensors);
});

test('a valid file truncated at any length is rejected with a named error', async () => {
  const file = tmpFile('whole');
  const src = { w: tg.randn([5, 3]), b: tg.tensor(new BigInt64Array([1n])), h: tg.randn([7]).to('float16') };
  await tg.io.save(src, file, { metadata: { k: 'v' } });
  tg.dispose(src);
  const whole = fs.readFileSync(file);
  const cut = tmpFile('cut');
  for (let n = 0; n < whole.length; n += n < 64 ? 1 : 7) {
    fs.writeFileSync(cut, whole.subarray(0, n));
    await rejectsWith(cut, undefined, /^safetensors: /);
  }
});

test('seeded mutations (bit flips, byte writes, truncations, splices) of valid files either load or throw a coded TorchError', async () => {
  const seed = Number(process.env.TORCHGRAFT_FUZZ_SEED || 1234);
  const iterations = Number(process.env.TORCHGRAFT_FUZZ_ITERATIONS || 300);
  const file = tmpFile('fuzz-src');
  const src = { 'layer.weight': tg.randn([4, 3]), 'layer.bias': tg.zeros([4]), steps: tg.full([], 3, { dtype: 'int64' }), mask: tg.tensor([true, false]) };
  await tg.io.save(src, file, { metadata: { format: 'pt' } });
  tg.dispose(src);
  const files = [file, ...['burn_multi_layer.safetensors'].map((f) => path.join(FOREIGN, f))];
  const liveBefore = tg.memory().tensors;
  const counts = await fuzz(tg, files, { seed, iterations, dir: tmp });
  assert.ok(counts.rejected > (iterations * files.length) / 2, JSON.stringify(counts));
  // At most as many as before (the garbage collector may finalise stray tensors meanwhile): a rejected file leaves none behind.
  assert.ok(tg.memory().tensors <= liveBefore, `live tensors went from ${liveBefore} to ${tg.memory().tensors}`);
});
