'use strict';
// NumPy .npy and .npz: arrays written by numpy at test time (every supported dtype, big-endian, Fortran order,
// header versions 1-3, plain and deflated npz), the foreign fixtures checked against numpy.load, and broken files.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const tg = require('..');
const { zipOf } = require('./helpers/zipwriter');

const PYTHON = process.env.TORCHGRAFT_PYTHON || '/usr/bin/python3';
const REF = path.join(__dirname, 'helpers', 'pytorch_ref.py');
// The foreign fixtures' folder (test/fixtures/foreign, or TORCHGRAFT_FOREIGN_FIXTURES).
const { FOREIGN, pythonHas } = require('./helpers/foreign');
const hasNumpy = pythonHas('torch, numpy');
const noPython = hasNumpy ? false : `${PYTHON} with torch and numpy is not available`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-npy-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
function writeTmp(buf, name = 'bad.npy') {
  const f = path.join(tmp, `${counter++}-${name}`);
  fs.writeFileSync(f, buf);
  return f;
}

const gen = path.join(tmp, 'gen');
let expected = {};
if (hasNumpy) {
  fs.mkdirSync(gen);
  expected = JSON.parse(execFileSync(PYTHON, [REF, 'gen', gen], { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

const FOREIGN_FILES = ['npy_art_mnist_cnn/W_CONV2D_NO_MPOOL_MNIST.npy', 'npy_art_mnist_cnn/B_CONV2D_NO_MPOOL_MNIST.npy', 'npy_art_mnist_cnn/W_DENSE_NO_MPOOL_MNIST.npy', 'npy_art_mnist_cnn/B_DENSE_NO_MPOOL_MNIST.npy', 'whisper_mel_filters.npz'];
let foreignCache;
/** What Python reads from every foreign fixture, in one interpreter start. */
function foreignValues() {
  foreignCache ??= JSON.parse(execFileSync(PYTHON, [REF, 'dump', ...FOREIGN_FILES.map((f) => path.join(FOREIGN, f))], { encoding: 'utf8', maxBuffer: 256 << 20 }));
  return foreignCache;
}

function valuesOf(t) {
  if (t.dtype === 'bool') return Array.from(t.to('uint8').dataSync());
  if (['float32', 'float64', 'float16', 'bfloat16'].includes(t.dtype))
    return Array.from(t.to('float64').dataSync(), (v) => (Number.isFinite(v) ? v : Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf'));
  return Array.from(t.to('int64').dataSync(), (v) => String(v));
}
function summary(tensors) {
  const out = {};
  for (const [k, t] of Object.entries(tensors)) out[k] = { dtype: t.dtype, shape: t.shape, values: valuesOf(t) };
  return out;
}
async function rejectsWith(promise, file, code, messagePart) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof tg.TorchError, `expected a TorchError, got ${e && e.stack}`);
    if (code) assert.strictEqual(e.code, code, e.message);
    assert.ok(e.message.includes(file), `message should name the file: ${e.message}`);
    if (messagePart) assert.match(e.message, messagePart);
    return true;
  });
}

/** An .npy file from a header literal and data bytes (format 1.0, padded as numpy pads). */
function npy(header, data = Buffer.alloc(0), { version = 1 } = {}) {
  let h = Buffer.from(header, 'latin1');
  const pre = version === 1 ? 10 : 12;
  const pad = (64 - ((pre + h.length + 1) % 64)) % 64;
  h = Buffer.concat([h, Buffer.alloc(pad, ' '), Buffer.from('\n')]);
  const lead = Buffer.alloc(pre);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]).copy(lead);
  if (version === 1) lead.writeUInt16LE(h.length, 8);
  else lead.writeUInt32LE(h.length, 8);
  return Buffer.concat([lead, h, data]);
}

test('every supported dtype, big-endian data, Fortran order, scalars, empty arrays and header versions 2 and 3 load as numpy reads them', { skip: noPython }, async () => {
  const files = Object.keys(expected).filter((f) => f.endsWith('.npy'));
  assert.ok(files.length >= 20);
  for (const file of files) {
    const { tensors, format } = await tg.io.loadWithMetadata(path.join(gen, file));
    assert.strictEqual(format, 'numpy', file);
    assert.deepStrictEqual(summary(tensors), expected[file], file);
    for (const t of Object.values(tensors)) assert.ok(t.isContiguous(), file);
    tg.dispose(tensors);
  }
});

test('np.savez and np.savez_compressed (deflated) archives load every member, named without .npy', { skip: noPython }, async () => {
  for (const file of ['plain.npz', 'compressed.npz']) {
    const { tensors, names, format } = await tg.io.loadWithMetadata(path.join(gen, file));
    assert.strictEqual(format, 'npz');
    assert.deepStrictEqual(names, ['w', 'b', 'flag']);
    assert.deepStrictEqual(summary(tensors), expected[file]);
    tg.dispose(tensors);
  }
});

test('an object array (pickled Python objects) is refused, never unpickled', { skip: noPython }, async () => {
  const f = path.join(gen, 'object.npy');
  await rejectsWith(tg.io.load(f), f, 'ERR_NPY_DTYPE', /object arrays/);
});

for (const file of FOREIGN_FILES) {
  test(`foreign ${file} loads with numpy.load's names, shapes and values`, { skip: noPython }, async () => {
    const f = path.join(FOREIGN, file);
    const want = foreignValues()[f];
    const t = await tg.io.load(f);
    assert.deepStrictEqual(summary(t), want);
    tg.dispose(t);
  });
}

test('the ART .npy weights drive a torchgraft Conv2d + Linear to a (1, 10) output', async () => {
  const dir = path.join(FOREIGN, 'npy_art_mnist_cnn');
  const w = {};
  for (const n of ['W_CONV2D', 'B_CONV2D', 'W_DENSE', 'B_DENSE']) Object.assign(w, await tg.io.load(path.join(dir, `${n}_NO_MPOOL_MNIST.npy`)));
  assert.deepStrictEqual(w.W_CONV2D_NO_MPOOL_MNIST.shape, [16, 1, 4, 4]);
  assert.deepStrictEqual(w.W_DENSE_NO_MPOOL_MNIST.shape, [10, 1296]);
  const net = new tg.nn.Sequential({ conv: new tg.nn.Conv2d(1, 16, 4, { stride: 3 }), act: new tg.nn.ReLU(), flat: new tg.nn.Flatten(), fc: new tg.nn.Linear(1296, 10) });
  const report = net.loadStateDict({ 'conv.weight': w.W_CONV2D_NO_MPOOL_MNIST, 'conv.bias': w.B_CONV2D_NO_MPOOL_MNIST, 'fc.weight': w.W_DENSE_NO_MPOOL_MNIST, 'fc.bias': w.B_DENSE_NO_MPOOL_MNIST });
  assert.deepStrictEqual(report.missing, []);
  const y = net.forward(tg.ones([1, 1, 28, 28]));
  assert.deepStrictEqual(y.shape, [1, 10]);
  tg.dispose([w, y]);
});

test('broken .npy files are refused by name without allocating what they declare', async () => {
  const f4 = Buffer.from(new Float32Array([1, 2, 3, 4]).buffer);
  const ok = writeTmp(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", f4));
  const t = await tg.io.load(ok);
  assert.deepStrictEqual(Array.from(t[path.basename(ok, '.npy')].dataSync()), [1, 2, 3, 4]);
  tg.dispose(t);
  const cases = [
    ['a shape declaring 2^50 elements', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1125899906842624,), }", f4), 'ERR_NPY_TRUNCATED', /needs 4503599627370496 data bytes/],
    ['more data than the shape', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f4), 'ERR_NPY_SIZE', /needs 12 data bytes, the file has 16/],
    ['a header length past the file', (() => { const b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f4); b.writeUInt16LE(60000, 8); return b; })(), 'ERR_NPY_TRUNCATED', /header declares 60000 bytes/],
    ['a v2 header declaring 4 GiB', (() => { const b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f4, { version: 2 }); b.writeUInt32LE(0xffffffff, 8); return b; })(), 'ERR_NPY_HEADER', /header declares 4294967295 bytes/],
    ['an unknown format version', (() => { const b = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f4); b[6] = 9; return b; })(), 'ERR_NPY_HEADER', /version 9/],
    ['a complex dtype', npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", f4), 'ERR_NPY_DTYPE', /'<c8' is not supported/],
    ['a uint64 dtype', npy("{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }", f4), 'ERR_NPY_DTYPE', /'<u8'/],
    ['a structured dtype', npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,), }", f4), 'ERR_NPY_DTYPE', /structured/],
    ['a header that calls a function', npy("{'descr': __import__('os').system('true'), 'fortran_order': False, 'shape': (4,), }", f4), 'ERR_NPY_HEADER', /unexpected/],
    ['a negative dimension', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", f4), 'ERR_NPY_HEADER', /non-negative/],
    ['an unterminated header', npy("{'descr': '<f4", f4), 'ERR_NPY_HEADER', /unterminated/],
    ['a missing fortran_order', npy("{'descr': '<f4', 'shape': (4,), }", f4), 'ERR_NPY_HEADER', /fortran_order/],
    ['wrong magic', Buffer.concat([Buffer.from('\x93NUMPZ\x01\x00'), f4]), 'ERR_NPY_MAGIC', /magic/],
  ];
  for (const [what, buf, code, re] of cases) {
    const f = writeTmp(buf);
    await rejectsWith(tg.io.load(f), f, code, re).catch((e) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
  // Truncated at every byte: each cut is refused by name.
  const whole = fs.readFileSync(ok);
  for (let cut = 0; cut < whole.length; cut++) {
    const f = writeTmp(whole.subarray(0, cut));
    await assert.rejects(tg.io.load(f), (e) => e instanceof tg.TorchError && !!e.code && e.message.includes(f));
  }
});

test('broken .npz archives are refused naming the file and member', async () => {
  const good = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", Buffer.from(new Float32Array([1, 2]).buffer));
  const z = writeTmp(zipOf([['a.npy', good]], { deflate: true }), 'ok.npz');
  const t = await tg.io.load(z);
  assert.deepStrictEqual(Array.from(t.a.dataSync()), [1, 2]);
  tg.dispose(t);
  const badMember = writeTmp(zipOf([['a.npy', good], ['b.npy', good.subarray(0, 70)]]), 'member.npz');
  await rejectsWith(tg.io.load(badMember), badMember, 'ERR_NPY_TRUNCATED', /\(b\.npy\)/);
  const notNpy = writeTmp(zipOf([['a.npy', good], ['evil.pkl', Buffer.from('x')]]), 'other.npz');
  await rejectsWith(tg.io.load(notNpy), notNpy, 'ERR_NPZ_MEMBER', /evil\.pkl/);
  // A deflated member whose directory claims 1 GiB: inflation stops at the real size and the lie is reported.
  const bomb = zipOf([['a.npy', good]], { deflate: true });
  const cd = bomb.readUInt32LE(bomb.length - 6);
  bomb.writeUInt32LE(1 << 30, cd + 24);
  const lying = writeTmp(bomb, 'lying.npz');
  await rejectsWith(tg.io.load(lying), lying, 'ERR_ZIP_CORRUPT', /holds 136 bytes, the directory says 1073741824/);
  // A deflate stream that inflates far beyond its declared size is cut off at that size.
  const big = zipOf([['a.npy', Buffer.concat([good, Buffer.alloc(50 << 20)])]], { deflate: true });
  const cd2 = big.readUInt32LE(big.length - 6);
  big.writeUInt32LE(128, cd2 + 24);
  const bombFile = writeTmp(big, 'bomb.npz');
  await rejectsWith(tg.io.load(bombFile), bombFile, 'ERR_ZIP_CORRUPT', /cannot inflate/);
});

test('a short seeded fuzz of .npy and .npz files only ever loads or throws a coded TorchError', async () => {
  const { fuzz } = require('../scripts/fuzz-io.js');
  const member = npy("{'descr': '>f8', 'fortran_order': True, 'shape': (2, 3), }", Buffer.alloc(48, 0x3f));
  const files = [writeTmp(member, 'hand.npy'), writeTmp(zipOf([['a.npy', member], ['b.npy', member]]), 'hand.npz'), writeTmp(zipOf([['a.npy', member]], { deflate: true }), 'deflated.npz')];
  if (hasNumpy) files.push(...['plain.npz', 'ale_f2.npy', 'v3.npy'].map((f) => path.join(gen, f)));
  if (FOREIGN) files.push(path.join(FOREIGN, 'whisper_mel_filters.npz'), path.join(FOREIGN, 'npy_art_mnist_cnn/B_DENSE_NO_MPOOL_MNIST.npy'));
  const counts = await fuzz(tg, files, { seed: 11, iterations: 80, dir: tmp });
  assert.strictEqual(counts.loaded + counts.rejected, 80 * files.length);
  assert.ok(counts.rejected > 0);
});
