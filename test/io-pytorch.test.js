'use strict';
// PyTorch torch.save files: files written by Python PyTorch at test time (state dicts, wrappers, DataParallel, every
// dtype, views), the foreign fixtures checked against torch.load, and hostile or broken files refused by name.
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
const hasPyTorch = pythonHas('torch, numpy');
const noPython = hasPyTorch ? false : `${PYTHON} with torch and numpy is not available`;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-pt-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;
function writeTmp(buf, name = 'bad.pt') {
  const f = path.join(tmp, `${counter++}-${name}`);
  fs.writeFileSync(f, buf);
  return f;
}

// Python writes every reference file once; `expected` maps file -> name -> {dtype, shape, values}.
const gen = path.join(tmp, 'gen');
let expected = {};
if (hasPyTorch) {
  fs.mkdirSync(gen);
  expected = JSON.parse(execFileSync(PYTHON, [REF, 'gen', gen], { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

const FOREIGN_FILES = ['burn_mnist_cnn_state_dict.pt', 'burn_complex_nested_state_dict.pt'];
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

// ---- hand-written pickles, wrapped in a torch.save-like archive ----
const op = {
  proto: Buffer.from([0x80, 2]),
  stop: Buffer.from('.'),
  mark: Buffer.from('('),
  tuple: Buffer.from('t'),
  emptyTuple: Buffer.from(')'),
  emptyDict: Buffer.from('}'),
  emptyList: Buffer.from(']'),
  reduce: Buffer.from('R'),
  build: Buffer.from('b'),
  setitems: Buffer.from('u'),
  append: Buffer.from('a'),
  persid: Buffer.from('Q'),
  false: Buffer.from([0x89]),
  global: (m, n) => Buffer.from(`c${m}\n${n}\n`),
  str: (s) => {
    const b = Buffer.from(s, 'utf8');
    const h = Buffer.alloc(5);
    h[0] = 0x58;
    h.writeUInt32LE(b.length, 1);
    return Buffer.concat([h, b]);
  },
  int: (v) => {
    const h = Buffer.alloc(5);
    h[0] = 0x4a;
    h.writeInt32LE(v, 1);
    return h;
  },
  ints: (vs) => Buffer.concat([Buffer.from('('), ...vs.map((v) => op.int(v)), Buffer.from('t')]),
  put: (i) => Buffer.from([0x71, i]),
  get: (i) => Buffer.from([0x68, i]),
};
/** The pickle torch.save writes for one tensor (as a dict value), with every field overridable. */
function tensorPickle({ storage = 'FloatStorage', key = '0', location = 'cpu', numel = 4, offset = 0, size = [4], stride = [1], fn = ['torch._utils', '_rebuild_tensor_v2'] } = {}) {
  return Buffer.concat([
    op.global(...fn),
    op.mark,
    op.mark, op.str('storage'), op.global('torch', storage), op.str(key), op.str(location), op.int(numel), op.tuple, op.persid,
    op.int(offset), op.ints(size), op.ints(stride), op.false, op.global('collections', 'OrderedDict'), op.emptyTuple, op.reduce,
    op.tuple, op.reduce,
  ]);
}
function dictPickle(pairs) {
  return Buffer.concat([op.proto, op.emptyDict, op.mark, ...pairs.flatMap(([k, v]) => [op.str(k), v]), op.setitems, op.stop]);
}
function archive(pkl, records = { 0: new Float32Array([1, 2, 3, 4]) }, extra = []) {
  const entries = [['archive/data.pkl', pkl]];
  for (const [k, v] of Object.entries(records)) entries.push([`archive/data/${k}`, Buffer.from(v.buffer, v.byteOffset, v.byteLength)]);
  return zipOf([...entries, ['archive/version', Buffer.from('3\n')], ...extra]);
}

// ---- files written by Python PyTorch ----
for (const [file, what] of [
  ['cnn.pt', 'a small CNN state dict (conv, batch norm with num_batches_tracked, linear)'],
  ['dtypes.pt', 'every dtype (bfloat16, float16, bool, ...), int64 beyond 2^53, non-finite floats, scalars and empty tensors'],
  ['views.pt', 'views sharing one storage at offsets, transposed, strided and permuted (non-contiguous) tensors'],
  ['parameter.pt', 'nn.Parameter values, trainable or not'],
]) {
  test(`${what} load with the names, dtypes, shapes and values torch.load gives`, { skip: noPython }, async () => {
    const { tensors, names, format } = await tg.io.loadWithMetadata(path.join(gen, file));
    assert.strictEqual(format, 'pytorch');
    assert.deepStrictEqual(names, Object.keys(expected[file]));
    assert.deepStrictEqual(summary(tensors), expected[file]);
    // Views stay views of their storage, as torch.load gives them (contiguous or not).
    for (const t of Object.values(tensors)) assert.ok(t.device === 'cpu');
    tg.dispose(tensors);
  });
}

test('checkpoint wrappers are unwrapped, their other leaves kept as metadata and their other tensors listed', { skip: noPython }, async () => {
  const sd = expected['cnn.pt'];
  for (const [file, key] of [['wrapped_state_dict.pth', 'state_dict'], ['wrapped_model.ckpt', 'model'], ['model_state_dict.bin', 'model_state_dict']]) {
    const { tensors, names, metadata } = await tg.io.loadWithMetadata(path.join(gen, file));
    assert.deepStrictEqual(names, Object.keys(sd), file);
    assert.deepStrictEqual(summary(tensors), expected[file], file);
    assert.strictEqual(metadata['torchgraft.unwrapped'], key, file);
    tg.dispose(tensors);
  }
  const { metadata } = await tg.io.loadWithMetadata(path.join(gen, 'wrapped_state_dict.pth'));
  assert.strictEqual(metadata.epoch, '7');
  assert.strictEqual(metadata.best_acc, '0.91');
  assert.strictEqual(metadata.arch, '"cnn"');
  assert.deepStrictEqual(JSON.parse(metadata['optimizer.param_groups'])[0].lr, 0.1);
  // The SGD momentum buffers are tensors outside the state dict: reported, not mixed into the weights.
  assert.deepStrictEqual(JSON.parse(metadata['torchgraft.ignored']), ['optimizer.state.0.momentum_buffer', 'optimizer.state.1.momentum_buffer', 'optimizer.state.2.momentum_buffer', 'optimizer.state.3.momentum_buffer', 'optimizer.state.4.momentum_buffer', 'optimizer.state.5.momentum_buffer']);
  const md = await tg.io.loadWithMetadata(path.join(gen, 'model_state_dict.bin'));
  assert.strictEqual(md.metadata.tags, '["a","b"]');
  tg.dispose(md.tensors);
});

test('numpy scalars in a checkpoint (accuracy, epoch, flags) become metadata numbers, not refused globals', { skip: noPython }, async () => {
  const { tensors, names, metadata } = await tg.io.loadWithMetadata(path.join(gen, 'numpy_scalars.pt'));
  assert.deepStrictEqual(names, Object.keys(expected['cnn.pt']));
  assert.deepStrictEqual(
    { best_acc: metadata.best_acc, epoch: metadata.epoch, flag: metadata.flag, lr: metadata.lr, half: metadata.half, big: metadata.big, small: metadata.small, be: metadata.be },
    { best_acc: '0.75', epoch: '12', flag: 'true', lr: '1.5', half: '-2.5', big: '"4611686018427387904"', small: '-3', be: '7' },
  );
  tg.dispose(tensors);
});

test("DataParallel's uniform 'module.' prefix is stripped and reported", { skip: noPython }, async () => {
  const { tensors, names, metadata } = await tg.io.loadWithMetadata(path.join(gen, 'dataparallel.pt'));
  assert.deepStrictEqual(names, Object.keys(expected['dataparallel.pt']));
  assert.deepStrictEqual(summary(tensors), expected['dataparallel.pt']);
  assert.strictEqual(metadata['torchgraft.strippedPrefix'], 'module.');
  tg.dispose(tensors);
});

test('nested containers flatten to dotted names and non-tensor leaves become JSON metadata', { skip: noPython }, async () => {
  const { tensors, names, metadata } = await tg.io.loadWithMetadata(path.join(gen, 'nested.pt'));
  assert.deepStrictEqual(names, ['encoder.layers.0', 'encoder.layers.1', 'head.w']);
  assert.deepStrictEqual(summary(tensors), expected['nested.pt']);
  assert.deepStrictEqual(metadata, { 'encoder.scale': '2.5', name: '"nested"', ints: '[1,2,3]' });
  tg.dispose(tensors);
});

test('a tensor saved alone loads under the name "tensor"', { skip: noPython }, async () => {
  const t = await tg.io.load(path.join(gen, 'bare_tensor.pt'));
  assert.deepStrictEqual(summary(t), expected['bare_tensor.pt']);
  tg.dispose(t);
});

test('loadPytorch with unwrap: false returns every tensor under its full path', { skip: noPython }, async () => {
  const { names, tensors, metadata } = await tg.io.loadPytorch(path.join(gen, 'wrapped_state_dict.pth'), { unwrap: false });
  assert.ok(names.includes('state_dict.conv1.weight'));
  assert.ok(names.includes('optimizer.state.0.momentum_buffer'));
  assert.strictEqual(metadata['torchgraft.unwrapped'], undefined);
  tg.dispose(tensors);
});

test('weights saved by Python load into a torchgraft model that then computes what PyTorch computes', { skip: noPython }, async () => {
  const file = path.join(tmp, 'mlp.pt');
  const out = JSON.parse(
    execFileSync(
      PYTHON,
      ['-c', `import torch, json, sys
torch.manual_seed(1)
m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
torch.save(m.state_dict(), sys.argv[1])
x = torch.arange(8, dtype=torch.float32).reshape(2, 4) / 7
print(json.dumps(m(x).reshape(-1).tolist()))`, file],
      { encoding: 'utf8' },
    ),
  );
  const net = new tg.nn.Sequential([new tg.nn.Linear(4, 3), new tg.nn.ReLU(), new tg.nn.Linear(3, 2)]);
  const sd = await tg.io.load(file);
  net.loadStateDict(sd);
  const x = tg.arange(0, 8, 1, { dtype: 'float32' }).reshape([2, 4]).div(7);
  const y = Array.from(net.forward(x).dataSync());
  for (let i = 0; i < out.length; i++) assert.ok(Math.abs(y[i] - out[i]) <= 1e-6 * Math.max(1, Math.abs(out[i])), `${y[i]} vs ${out[i]}`);
  tg.dispose([sd, x]);
});

// ---- foreign files ----
for (const file of FOREIGN_FILES) {
  test(`foreign ${file} (PyTorch 2.x, saved from ${file.includes('mnist') ? "an Apple GPU ('mps')" : 'a prefix folder'}) loads to the CPU with torch.load's values`, { skip: noPython }, async () => {
    const f = path.join(FOREIGN, file);
    const want = foreignValues()[f];
    const { tensors, names, format } = await tg.io.loadWithMetadata(f);
    assert.strictEqual(format, 'pytorch');
    assert.deepStrictEqual(names, Object.keys(want));
    assert.deepStrictEqual(summary(tensors), want);
    tg.dispose(tensors);
  });
}

test('a TorchScript archive is refused with a pointer to loadTorchScript', async () => {
  const f = path.join(FOREIGN, 'torchsharp_mymodule_torchscript.pt');
  await rejectsWith(tg.io.loadPytorch(f), f, 'ERR_PYTORCH_TORCHSCRIPT', /loadTorchScript/);
});

// ---- hostile and broken files ----
test('the legacy (non-zip, _use_new_zipfile_serialization=False) format loads with torch.load\'s values, views and wrappers included', { skip: noPython }, async () => {
  const f = path.join(gen, 'legacy.pt');
  assert.strictEqual(await tg.io.detectFormat(f), 'pytorch');
  const { tensors, names } = await tg.io.loadWithMetadata(f);
  assert.deepStrictEqual(names, Object.keys(expected['legacy.pt']));
  assert.deepStrictEqual(summary(tensors), expected['legacy.pt']);
  tg.dispose(tensors);
  const wrapped = await tg.io.loadWithMetadata(path.join(gen, 'legacy_wrapped.pt'));
  assert.deepStrictEqual(summary(wrapped.tensors), expected['legacy_wrapped.pt']);
  assert.strictEqual(wrapped.metadata.epoch, '2');
  tg.dispose(wrapped.tensors);
});

test('broken legacy files (truncated anywhere, trailing bytes) and the pre-0.4 tar format are refused by name', { skip: noPython }, async () => {
  const whole = fs.readFileSync(path.join(gen, 'legacy.pt'));
  for (let cut = 1; cut < whole.length; cut += Math.max(1, Math.floor(whole.length / 50))) {
    const f = writeTmp(whole.subarray(0, cut));
    await assert.rejects(tg.io.load(f), (e) => e instanceof tg.TorchError && !!e.code && e.message.includes(f));
  }
  const trailing = writeTmp(Buffer.concat([whole, Buffer.from('xx')]));
  await rejectsWith(tg.io.load(trailing), trailing, 'ERR_PYTORCH_LEGACY', /2 bytes after the last storage/);
  const tar = Buffer.alloc(1024);
  tar.write('ustar', 257, 'latin1');
  const t = writeTmp(tar);
  await rejectsWith(tg.io.load(t), t, 'ERR_PYTORCH_LEGACY', /PyTorch < 0\.4.*re-save/);
});

test('pickles that call os.system or builtins.eval are refused naming the global, and nothing runs', { skip: noPython }, async () => {
  for (const [file, global] of [['evil_system.pt', /'posix\.system'/], ['evil_eval.pt', /'builtins\.eval'/]]) {
    const f = path.join(gen, file);
    await rejectsWith(tg.io.load(f), f, 'ERR_PICKLE_FORBIDDEN', global);
  }
  assert.strictEqual(fs.existsSync(path.join(gen, 'PWNED')), false);
});

test('a whole pickled model (torch.save(model)) is refused with the advice to save its state_dict', { skip: noPython }, async () => {
  const f = path.join(gen, 'whole_model.pt');
  await rejectsWith(tg.io.load(f), f, 'ERR_PICKLE_FORBIDDEN', /__main__\.CNN.*state_dict\(\)/);
});

test('a hand-written archive loads, and any location (cuda:0, mps) loads to the CPU', async () => {
  for (const location of ['cpu', 'cuda:0', 'mps']) {
    const f = writeTmp(archive(dictPickle([['w', tensorPickle({ location })]])));
    const t = await tg.io.load(f);
    assert.deepStrictEqual(Array.from(t.w.dataSync()), [1, 2, 3, 4]);
    assert.strictEqual(t.w.device, 'cpu');
    tg.dispose(t);
  }
});

test('a zip64 archive (sizes and offsets in zip64 fields) loads, and a lying zip64 record is refused', async () => {
  const good = zipOf([['archive/data.pkl', dictPickle([['w', tensorPickle()]])], ['archive/data/0', Buffer.from(new Float32Array([1, 2, 3, 4]).buffer)]], { zip64: true });
  const t = await tg.io.load(writeTmp(good));
  assert.deepStrictEqual(Array.from(t.w.dataSync()), [1, 2, 3, 4]);
  tg.dispose(t);
  const lying = Buffer.from(good);
  lying.writeBigUInt64LE(2n ** 40n, lying.length - 22 - 20 - 56 + 48); // central directory offset at 1 TiB
  const f = writeTmp(lying);
  await rejectsWith(tg.io.load(f), f, 'ERR_ZIP_CORRUPT', /outside the file/);
  const huge = Buffer.from(good);
  huge.writeBigUInt64LE(2n ** 62n, huge.length - 22 - 8 - 4); // locator pointing past 2^53
  const g = writeTmp(huge);
  await rejectsWith(tg.io.load(g), g, 'ERR_ZIP_CORRUPT', /zip64/);
});

test('_rebuild_tensor_v3 over an untyped storage (newer PyTorch) reads the dtype it names', async () => {
  const v3 = Buffer.concat([op.global('torch._utils', '_rebuild_tensor_v3'), op.mark, op.mark, op.str('storage'), op.global('torch', 'UntypedStorage'), op.str('0'), op.str('cuda:1'), op.int(16), op.tuple, op.persid,
    op.int(1), op.ints([2]), op.ints([1]), op.false, op.emptyDict, op.global('torch', 'float32'), op.tuple, op.reduce]);
  const f = writeTmp(archive(dictPickle([['w', v3]])));
  const t = await tg.io.load(f);
  assert.strictEqual(t.w.dtype, 'float32');
  assert.deepStrictEqual(Array.from(t.w.dataSync()), [2, 3]);
  tg.dispose(t);
});

test("a big-endian archive (byteorder 'big') is byte-swapped", async () => {
  const be = Buffer.alloc(16);
  [1.5, -2, 3.25, 4].forEach((v, i) => be.writeFloatBE(v, 4 * i));
  const f = writeTmp(archive(dictPickle([['w', tensorPickle()]]), { 0: be }, [['archive/byteorder', Buffer.from('big')]]));
  const t = await tg.io.load(f);
  assert.deepStrictEqual(Array.from(t.w.dataSync()), [1.5, -2, 3.25, 4]);
  tg.dispose(t);
});

test('pickle tricks are refused by name without running anything', async () => {
  const cases = [
    ['STACK_GLOBAL of builtins.eval', Buffer.concat([op.proto, op.str('builtins'), op.str('eval'), Buffer.from([0x93]), op.str('1+1'), Buffer.from([0x85]), op.reduce, op.stop]), 'ERR_PICKLE_FORBIDDEN', /'builtins\.eval'/],
    ['GLOBAL of os.system', Buffer.concat([op.proto, op.global('os', 'system'), op.str('true'), Buffer.from([0x85]), op.reduce, op.stop]), 'ERR_PICKLE_FORBIDDEN', /'os\.system'/],
    ['GLOBAL of subprocess.Popen under a nested dict', dictPickle([['a', Buffer.concat([op.emptyDict, op.str('b'), op.global('subprocess', 'Popen'), Buffer.from('s')])]]), 'ERR_PICKLE_FORBIDDEN', /subprocess\.Popen/],
    ['REDUCE of an allowed rebuild function with a string for a storage', dictPickle([['w', Buffer.concat([op.global('torch._utils', '_rebuild_tensor_v2'), op.mark, op.str('x'), op.int(0), op.ints([1]), op.ints([1]), op.false, op.emptyDict, op.tuple, op.reduce])]]), 'ERR_PICKLE_CORRUPT', /storage/],
    ['REDUCE of an allowed global with a non-tuple argument', Buffer.concat([op.proto, op.global('collections', 'OrderedDict'), op.emptyList, op.reduce, op.stop]), 'ERR_PICKLE_CORRUPT', /not a tuple/],
    ['REDUCE on a string', Buffer.concat([op.proto, op.str('os.system'), op.emptyTuple, op.reduce, op.stop]), 'ERR_PICKLE_FORBIDDEN', /REDUCE on a string/],
    ['BUILD on a list', Buffer.concat([op.proto, op.emptyList, op.emptyDict, op.build, op.stop]), 'ERR_PICKLE_FORBIDDEN', /BUILD on a list/],
    ['BUILD setting attributes on a tensor', dictPickle([['w', Buffer.concat([tensorPickle(), op.emptyDict, op.str('__class__'), op.str('x'), Buffer.from('s'), op.build])]]), 'ERR_PICKLE_FORBIDDEN', /BUILD/],
    ['NEWOBJ of an allowed class', Buffer.concat([op.proto, op.global('collections', 'OrderedDict'), op.emptyTuple, Buffer.from([0x81]), op.stop]), 'ERR_PICKLE_FORBIDDEN', /NEWOBJ/],
    ['a memo read of a slot never written', Buffer.concat([op.proto, op.get(7), op.stop]), 'ERR_PICKLE_CORRUPT', /memo index 7/],
    ['a string declaring 2^60 bytes', Buffer.concat([op.proto, Buffer.from([0x8d]), Buffer.from(new BigUint64Array([2n ** 60n]).buffer), op.stop]), 'ERR_PICKLE_CORRUPT', /declared length/],
    ['bytes declaring 4 GiB', Buffer.concat([op.proto, Buffer.from([0x42, 0xff, 0xff, 0xff, 0xff]), op.stop]), 'ERR_PICKLE_CORRUPT', /needs 4294967295 bytes/],
    ['20000 nested MARKs', Buffer.concat([op.proto, Buffer.alloc(20000, '('), op.stop]), 'ERR_PICKLE_LIMIT', /MARK/],
    ['lists nested 5000 deep', Buffer.concat([op.proto, Buffer.alloc(5000, ']'), Buffer.alloc(4999, 'a'), op.stop]), 'ERR_PICKLE_LIMIT', /deeper/],
    ['a list that contains itself', Buffer.concat([op.proto, op.emptyList, op.put(0), op.get(0), op.append, op.stop]), 'ERR_PICKLE_CYCLE', /itself/],
    ['a numpy dtype that is not a number', Buffer.concat([op.proto, op.global('numpy', 'dtype'), op.str('O8'), Buffer.from([0x85]), op.reduce, op.stop]), 'ERR_PICKLE_CORRUPT', /only numeric and bool scalars/],
    ['a numpy array reconstruction', Buffer.concat([op.proto, op.global('numpy.core.multiarray', '_reconstruct'), op.stop]), 'ERR_PICKLE_FORBIDDEN', /_reconstruct/],
    ['an unknown opcode', Buffer.concat([op.proto, Buffer.from([0xff]), op.stop]), 'ERR_PICKLE_CORRUPT', /opcode 0xff/],
    ['a pickle without STOP', Buffer.concat([op.proto, op.emptyDict]), 'ERR_PICKLE_CORRUPT', /needs 1 bytes/],
    ['a persistent id that is not a storage', Buffer.concat([op.proto, op.str('x'), op.persid, op.stop]), 'ERR_PICKLE_CORRUPT', /persistent id/],
    ['a persistent id naming a non-storage global', dictPickle([['w', tensorPickle({ storage: 'Tensor' })]]), 'ERR_PICKLE_CORRUPT', /not a storage type/],
  ];
  for (const [what, pkl, code, re] of cases) {
    const f = writeTmp(archive(pkl));
    await rejectsWith(tg.io.load(f), f, code, re).catch((e) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
});

test('a memo filled past its bound is refused', async () => {
  const n = 1_000_001;
  const puts = Buffer.alloc(5 * n);
  for (let i = 0; i < n; i++) {
    puts[5 * i] = 0x72; // LONG_BINPUT i
    puts.writeUInt32LE(i, 5 * i + 1);
  }
  const f = writeTmp(archive(Buffer.concat([op.proto, op.emptyDict, puts, op.stop])));
  await rejectsWith(tg.io.load(f), f, 'ERR_PICKLE_LIMIT', /memo/);
});

test('tensors whose sizes lie about their storage are refused without allocating what they claim', async () => {
  const cases = [
    ['a view past the end of its storage', tensorPickle({ size: [100], stride: [1] }), 'ERR_PYTORCH_TENSOR', /reaches past/],
    ['an offset past the end', tensorPickle({ offset: 4, size: [1] }), 'ERR_PYTORCH_TENSOR', /reaches past/],
    ['a 2^40-element expansion of one element', tensorPickle({ size: [1 << 20, 1 << 20], stride: [0, 0] }), 'ERR_PYTORCH_TENSOR', /refused to allocate/],
    ['a storage numel larger than its record', tensorPickle({ numel: 1_000_000_000 }), 'ERR_PYTORCH_STORAGE', /holds 16 bytes/],
    ['a missing storage record', tensorPickle({ key: '9' }), 'ERR_PYTORCH_STORAGE', /missing/],
    ['a complex storage', tensorPickle({ storage: 'ComplexFloatStorage' }), 'ERR_PYTORCH_DTYPE', /ComplexFloatStorage is not supported/],
    ['a float8 storage of a future PyTorch', tensorPickle({ storage: 'Float8_e4m3fnStorage' }), 'ERR_PYTORCH_DTYPE', /Float8_e4m3fnStorage is not supported/],
    [
      'a _rebuild_tensor_v3 of complex64',
      Buffer.concat([op.global('torch._utils', '_rebuild_tensor_v3'), op.mark, op.mark, op.str('storage'), op.global('torch', 'UntypedStorage'), op.str('0'), op.str('cpu'), op.int(16), op.tuple, op.persid,
        op.int(0), op.ints([2]), op.ints([1]), op.false, op.emptyDict, op.global('torch', 'complex64'), op.tuple, op.reduce]),
      'ERR_PYTORCH_DTYPE',
      /torch\.complex64 is not supported/,
    ],
  ];
  for (const [what, t, code, re] of cases) {
    const f = writeTmp(archive(dictPickle([['w', t]])));
    await rejectsWith(tg.io.load(f), f, code, re).catch((e) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
});

test('broken zip archives (truncated anywhere, lying directory, wrong magic) are refused by name', async () => {
  const good = archive(dictPickle([['w', tensorPickle()]]));
  // Truncated at many offsets, each named; the good file itself loads.
  tg.dispose(await tg.io.load(writeTmp(good)));
  for (let cut = 0; cut < good.length; cut += Math.max(1, Math.floor(good.length / 60))) {
    const f = writeTmp(good.subarray(0, cut));
    await assert.rejects(tg.io.load(f), (e) => e instanceof tg.TorchError && !!e.code && e.message.includes(f));
  }
  const cdOffset = good.readUInt32LE(good.length - 6);
  const lie = (mutate) => {
    const b = Buffer.from(good);
    mutate(b);
    return writeTmp(b);
  };
  const cases = [
    ['a central directory offset past the file', lie((b) => b.writeUInt32LE(0x7fffffff, b.length - 6)), 'ERR_ZIP_CORRUPT', /outside the file/],
    ['a central directory size past the file', lie((b) => b.writeUInt32LE(0x7fffffff, b.length - 10)), 'ERR_ZIP_CORRUPT', /outside the file/],
    ['an entry count too large for the directory', lie((b) => b.writeUInt16LE(60000, b.length - 12)), 'ERR_ZIP_CORRUPT', /declares 60000 entries/],
    ['an entry size of 4 GiB - 2', lie((b) => { b.writeUInt32LE(0xfffffffe, cdOffset + 20); b.writeUInt32LE(0xfffffffe, cdOffset + 24); }), 'ERR_ZIP_CORRUPT', /outside the archive data/],
    ['an entry offset past the data', lie((b) => b.writeUInt32LE(good.length, cdOffset + 42)), 'ERR_ZIP_CORRUPT', /outside the archive data/],
    ['zip64 markers without a locator', lie((b) => b.writeUInt32LE(0xffffffff, b.length - 6)), 'ERR_ZIP_CORRUPT', /zip64/],
    ['a corrupted directory signature', lie((b) => b.writeUInt32LE(0x12345678, cdOffset)), 'ERR_ZIP_CORRUPT', /entry 0 is malformed/],
    ['a flipped byte in the pickle (CRC)', lie((b) => (b[50] ^= 0x01)), 'ERR_ZIP_CORRUPT', /CRC-32/],
    ['an unknown compression method', lie((b) => b.writeUInt16LE(14, cdOffset + 10)), 'ERR_ZIP_UNSUPPORTED', /method 14/],
    ['random bytes named .pt', writeTmp(Buffer.from('definitely not a checkpoint, just text\n'.repeat(10))), 'ERR_ZIP_TRUNCATED', /not a zip archive/],
    ['a zip without data.pkl', writeTmp(zipOf([['archive/other', Buffer.from('x')]])), 'ERR_PYTORCH_FORMAT', /without a <folder>\/data\.pkl/],
  ];
  for (const [what, f, code, re] of cases) {
    await rejectsWith(tg.io.loadPytorch(f), f, code, re).catch((e) => {
      throw new Error(`${what}: ${e.message}`);
    });
  }
});

test('a short seeded fuzz of torch.save files only ever loads or throws a coded TorchError', async () => {
  const { fuzz } = require('../scripts/fuzz-io.js');
  // Hand-made archives always; Python's files and the foreign fixtures when they are here.
  const files = [writeTmp(archive(dictPickle([['w', tensorPickle()], ['v', tensorPickle({ offset: 1, size: [2, 1], stride: [1, 2] })]])), 'hand.pt')];
  if (hasPyTorch) files.push(...['dtypes.pt', 'views.pt', 'legacy.pt', 'wrapped_state_dict.pth'].map((f) => path.join(gen, f)));
  if (FOREIGN) files.push(path.join(FOREIGN, 'burn_complex_nested_state_dict.pt'));
  const counts = await fuzz(tg, files, { seed: 7, iterations: 120, dir: tmp });
  assert.strictEqual(counts.loaded + counts.rejected, 120 * files.length);
  assert.ok(counts.rejected > 0);
});
