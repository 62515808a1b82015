'use strict';
// Keras HDF5: the two shared Keras 2 files (fixed-length and variable-length string attributes) load with the
// README's names, shapes and counts and h5py's values; layouts are checked numerically against Keras' own layer
// definitions computed with numpy; weight-only files and other layer kinds through files written here with h5wasm;
// bad files are TorchErrors naming the file.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { tg, fixture, noH5py, ref, tmpDir, assertClose, sums, rejectsWith, PYTHON } = require('./helpers/foreign');

const RESNET = fixture('keras2_resnet8_cifar10.h5');
const DSCNN = fixture('keras2_dscnn_wakeword.h5');
const numel = (s) => s.reduce((p, d) => p * d, 1);

/** Writes an HDF5 file with h5wasm: `build(root)` fills it. */
async function writeH5(file, build) {
  const h5wasm = (await import('h5wasm/node')).default;
  await h5wasm.ready;
  const f = new h5wasm.File(file, 'w');
  try {
    build(f);
  } finally {
    f.close();
  }
}

/** A Keras weights group: layer_names on `root`, and per layer its weight_names and datasets (nested groups made). */
function kerasLayers(root, layers) {
  root.create_attribute('layer_names', layers.map((l) => l.name));
  for (const l of layers) {
    const g = root.create_group(l.name);
    g.create_attribute('weight_names', l.weights.map((w) => w.name));
    for (const w of l.weights) {
      const parts = w.name.split('/');
      let at = g;
      for (const p of parts.slice(0, -1)) at = at.keys().includes(p) ? at.get(p) : at.create_group(p);
      at.create_dataset({ name: parts[parts.length - 1], data: w.data, shape: w.shape, dtype: '<f' });
    }
  }
}

const seq = (n, scale = 0.01) => Float32Array.from({ length: n }, (_, i) => ((i * 7) % 13) * scale - 0.05);

test('the ResNet-8 file (Keras 2.4, fixed-length strings) loads every layer in PyTorch names and layouts', async () => {
  const r = await tg.io.loadWithMetadata(RESNET);
  try {
    assert.strictEqual(r.format, 'keras-h5');
    assert.strictEqual(r.metadata.keras_version, '2.4.0');
    assert.strictEqual(r.metadata.backend, 'tensorflow');
    assert.match(r.metadata.optimizer_weights, /ignored/);
    assert.deepStrictEqual(r.tensors['conv2d.weight'].shape, [16, 3, 3, 3]);
    assert.deepStrictEqual(r.tensors['dense.weight'].shape, [10, 64]);
    assert.deepStrictEqual(r.tensors['dense.bias'].shape, [10]);
    assert.deepStrictEqual(r.tensors['batch_normalization.running_var'].shape, [16]);
    assert.strictEqual(r.names.reduce((s, n) => s + numel(r.tensors[n].shape), 0), 78666);
    for (const n of r.names) assert.strictEqual(r.tensors[n].dtype, 'float32');
    const layers = JSON.parse(r.metadata.layers);
    const classes = new Set(layers.map((l) => l.className));
    for (const c of ['Conv2D', 'BatchNormalization', 'Activation', 'Add', 'AveragePooling2D', 'Flatten', 'Dense']) assert.ok(classes.has(c), c);
    const bn = layers.find((l) => l.name === 'batch_normalization');
    assert.strictEqual(bn.epsilon, 0.001);
    assert.strictEqual(bn.momentum, 0.99);
    assert.deepStrictEqual(layers.find((l) => l.name === 'conv2d').weights[0], {
      keras: 'conv2d/kernel:0', kerasShape: [3, 3, 3, 16], name: 'conv2d.weight', shape: [16, 3, 3, 3], layout: 'HWIO->OIHW',
    });
  } finally {
    tg.dispose(r.tensors);
  }
});

test('the DS-CNN file (Keras 2.14, variable-length strings) loads depthwise kernels as grouped-conv weights', async () => {
  const r = await tg.io.loadWithMetadata(DSCNN);
  try {
    assert.strictEqual(r.metadata.keras_version, '2.14.0');
    assert.deepStrictEqual(r.tensors['depthwise_conv2d.weight'].shape, [40, 1, 3, 1]);
    assert.deepStrictEqual(r.tensors['conv2d.weight'].shape, [128, 40, 1, 1]);
    assert.ok(!('conv2d.bias' in r.tensors), 'the 1x1 Conv2D has no bias');
    assert.deepStrictEqual(r.tensors['dense.weight'].shape, [3, r.tensors['dense.weight'].shape[1]]);
    assert.strictEqual(r.names.reduce((s, n) => s + numel(r.tensors[n].shape), 0), 47707);
    const classes = new Set(JSON.parse(r.metadata.layers).map((l) => l.className));
    for (const c of ['DepthwiseConv2D', 'Conv2D', 'BatchNormalization', 'Dropout', 'Flatten', 'Dense']) assert.ok(classes.has(c), c);
  } finally {
    tg.dispose(r.tensors);
  }
});

test('Keras files loaded concurrently (one HDF5 worker thread serves them in turn) each get their own weights', async () => {
  const [a, b, c] = await Promise.all([tg.io.load(RESNET), tg.io.load(DSCNN), tg.io.load(RESNET)]);
  try {
    assert.strictEqual(Object.keys(a).length, 48);
    assert.strictEqual(Object.keys(b).length, 26);
    assert.ok(a['dense.weight'].equal(c['dense.weight']));
  } finally {
    tg.dispose([a, b, c]);
  }
});

test('every Keras weight holds the values h5py reads (sums survive the layout change)', { skip: noH5py }, async () => {
  for (const file of [RESNET, DSCNN]) {
    const expected = ref('keras', file);
    const r = await tg.io.loadWithMetadata(file);
    try {
      const infos = JSON.parse(r.metadata.layers).flatMap((l) => l.weights);
      assert.strictEqual(infos.length, expected.length);
      for (const e of expected) {
        const info = infos.find((w) => w.keras === e.weight);
        assert.ok(info, `${e.weight} is reported`);
        assert.deepStrictEqual(info.kerasShape, e.shape);
        const s = sums(r.tensors[info.name]);
        assertClose([s.sum, s.abs], [e.sum, e.abs], { rtol: 1e-9, atol: 1e-9, what: info.name });
      }
    } finally {
      tg.dispose(r.tensors);
    }
  }
});

test('a converted Dense layer computes what Keras computes (x @ kernel + bias)', { skip: noH5py }, async () => {
  const e = ref('kerasdense', RESNET, 'dense');
  const sd = await tg.io.load(RESNET);
  const lin = new tg.nn.Linear(64, 10);
  lin.loadStateDict({ weight: sd['dense.weight'], bias: sd['dense.bias'] });
  tg.dispose(sd);
  const y = tg.noGrad(() => lin.forward(tg.tensor(Float32Array.from(e.x), { shape: e.xshape })));
  assertClose(y.dataSync(), e.y, { rtol: 1e-5, atol: 1e-5, what: 'dense output' });
});

test('a converted Conv2D kernel (HWIO -> OIHW) computes what Keras computes on NHWC input', { skip: noH5py }, async () => {
  const e = ref('kerasconv', RESNET, 'conv2d');
  const sd = await tg.io.load(RESNET);
  const conv = new tg.nn.Conv2d(3, 16, 3);
  conv.loadStateDict({ weight: sd['conv2d.weight'], bias: sd['conv2d.bias'] });
  tg.dispose(sd);
  const y = tg.tidy(() => {
    const x = tg.tensor(Float32Array.from(e.x), { shape: e.xshape }).permute([0, 3, 1, 2]);
    return tg.noGrad(() => conv.forward(x)).permute([0, 2, 3, 1]).contiguous();
  });
  assert.deepStrictEqual(y.shape, e.yshape);
  assertClose(y.dataSync(), e.y, { rtol: 1e-4, atol: 1e-5, what: 'conv output' });
});

test('a converted DepthwiseConv2D kernel computes what Keras computes as a grouped convolution', { skip: noH5py }, async () => {
  const e = ref('kerasdepthwise', DSCNN, 'depthwise_conv2d');
  const sd = await tg.io.load(DSCNN);
  const conv = new tg.nn.Conv2d(40, 40, [3, 1], { groups: 40, bias: false });
  conv.loadStateDict({ weight: sd['depthwise_conv2d.weight'] });
  tg.dispose(sd);
  const y = tg.tidy(() => {
    const x = tg.tensor(Float32Array.from(e.x), { shape: e.xshape }).permute([0, 3, 1, 2]);
    return tg.noGrad(() => conv.forward(x)).permute([0, 2, 3, 1]).contiguous();
  });
  assert.deepStrictEqual(y.shape, e.yshape);
  assertClose(y.dataSync(), e.y, { rtol: 1e-4, atol: 1e-5, what: 'depthwise output' });
});

test('a weights-only file (save_weights: layer_names at the root) converts Conv1D, SeparableConv2D and Dense, keeps LSTM', async (t) => {
  const file = path.join(tmpDir(t), 'weights.h5');
  const conv1d = seq(3 * 2 * 4);
  const dw = seq(3 * 3 * 2 * 2, 0.001);
  await writeH5(file, (f) =>
    kerasLayers(f, [
      { name: 'conv1d', weights: [{ name: 'conv1d/kernel:0', data: conv1d, shape: [3, 2, 4] }, { name: 'conv1d/bias:0', data: seq(4), shape: [4] }] },
      {
        name: 'sep',
        weights: [
          { name: 'sep/depthwise_kernel:0', data: dw, shape: [3, 3, 2, 2] },
          { name: 'sep/pointwise_kernel:0', data: seq(4 * 5), shape: [1, 1, 4, 5] },
          { name: 'sep/bias:0', data: seq(5), shape: [5] },
        ],
      },
      {
        name: 'lstm',
        weights: [
          { name: 'lstm/lstm_cell/kernel:0', data: seq(3 * 8), shape: [3, 8] },
          { name: 'lstm/lstm_cell/recurrent_kernel:0', data: seq(2 * 8), shape: [2, 8] },
          { name: 'lstm/lstm_cell/bias:0', data: seq(8), shape: [8] },
        ],
      },
      { name: 'bn', weights: ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((v) => ({ name: `bn/${v}:0`, data: seq(4), shape: [4] })) },
      { name: 'flatten', weights: [] },
    ]),
  );
  const r = await tg.io.loadWithMetadata(file);
  try {
    assert.deepStrictEqual(r.names, [
      'conv1d.weight', 'conv1d.bias', 'sep.depthwise.weight', 'sep.pointwise.weight', 'sep.pointwise.bias',
      'lstm.lstm_cell.kernel', 'lstm.lstm_cell.recurrent_kernel', 'lstm.lstm_cell.bias',
      'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var',
    ]);
    // Conv1D (K, Cin, Cout) -> (Cout, Cin, K): element [o, i, k] = kernel[k, i, o].
    const w = r.tensors['conv1d.weight'];
    assert.deepStrictEqual(w.shape, [4, 2, 3]);
    const wv = w.dataSync();
    for (let o = 0; o < 4; o++) for (let i = 0; i < 2; i++) for (let k = 0; k < 3; k++) assert.strictEqual(wv[o * 6 + i * 3 + k], conv1d[k * 8 + i * 4 + o]);
    // Depthwise (H, W, Cin, mult) -> (Cin*mult, 1, H, W): element [c*mult + m, 0, h, w] = kernel[h, w, c, m].
    assert.deepStrictEqual(r.tensors['sep.depthwise.weight'].shape, [4, 1, 3, 3]);
    const dv = r.tensors['sep.depthwise.weight'].dataSync();
    for (let c = 0; c < 2; c++)
      for (let m = 0; m < 2; m++) for (let h = 0; h < 3; h++) for (let x = 0; x < 3; x++) assert.strictEqual(dv[(c * 2 + m) * 9 + h * 3 + x], dw[h * 12 + x * 4 + c * 2 + m]);
    assert.deepStrictEqual(r.tensors['sep.pointwise.weight'].shape, [5, 4, 1, 1]);
    assert.deepStrictEqual(r.tensors['lstm.lstm_cell.kernel'].shape, [3, 8], 'recurrent layers keep the Keras layout');
    const bn = JSON.parse(r.metadata.layers).find((l) => l.name === 'bn');
    assert.strictEqual(bn.epsilon, 0.001, "without a model_config, Keras' default epsilon is reported");
    assert.strictEqual(r.metadata.optimizer_weights, undefined);
  } finally {
    tg.dispose(r.tensors);
  }
});

test("a full model file's model_config gives layer classes and BatchNormalization's own epsilon", async (t) => {
  const file = path.join(tmpDir(t), 'model.h5');
  const config = {
    class_name: 'Sequential',
    config: { name: 'seq', layers: [{ class_name: 'BatchNormalization', config: { name: 'norm', epsilon: 1e-5, momentum: 0.9 } }, { class_name: 'Dense', config: { name: 'head' } }] },
  };
  await writeH5(file, (f) => {
    f.create_attribute('model_config', JSON.stringify(config));
    f.create_attribute('keras_version', '2.15.0');
    const mw = f.create_group('model_weights');
    kerasLayers(mw, [
      { name: 'norm', weights: ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((v) => ({ name: `norm/${v}:0`, data: seq(3), shape: [3] })) },
      { name: 'head', weights: [{ name: 'head/kernel:0', data: seq(6), shape: [3, 2] }, { name: 'head/bias:0', data: seq(2), shape: [2] }] },
    ]);
    f.create_group('optimizer_weights');
  });
  const r = await tg.io.loadWithMetadata(file);
  tg.dispose(r.tensors);
  const layers = JSON.parse(r.metadata.layers);
  assert.deepStrictEqual(layers.map((l) => [l.name, l.className]), [['norm', 'BatchNormalization'], ['head', 'Dense']]);
  assert.strictEqual(layers[0].epsilon, 1e-5);
  assert.strictEqual(layers[0].momentum, 0.9);
  assert.strictEqual(r.metadata.keras_version, '2.15.0');
  assert.match(r.metadata.optimizer_weights, /ignored/);
});

test('bad Keras files are TorchErrors naming the file and the problem, and allocate no tensors', async (t) => {
  const dir = tmpDir(t);
  const before = tg.memory().tensors;
  const whole = fs.readFileSync(RESNET);
  for (const n of [0, 8, 100, 2048, 300000, whole.length - 1]) {
    const cut = path.join(dir, `cut-${n}.h5`);
    fs.writeFileSync(cut, whole.subarray(0, n));
    await rejectsWith(tg.io.load(cut), undefined, cut, /^keras: /);
  }
  const text = path.join(dir, 'text.h5');
  fs.writeFileSync(text, 'not an HDF5 file at all');
  await rejectsWith(tg.io.load(text), 'ERR_HDF5', text, /not a readable HDF5 file/);

  const plain = path.join(dir, 'plain.h5');
  await writeH5(plain, (f) => f.create_dataset({ name: 'x', data: seq(4), shape: [4], dtype: '<f' }));
  await rejectsWith(tg.io.load(plain), 'ERR_KERAS_FORMAT', plain, /layer_names/);

  const keras3 = path.join(dir, 'model.weights.h5');
  await writeH5(keras3, (f) => f.create_group('layers').create_group('dense').create_group('vars').create_dataset({ name: '0', data: seq(4), shape: [2, 2], dtype: '<f' }));
  await rejectsWith(tg.io.load(keras3), 'ERR_KERAS_UNSUPPORTED', keras3, /Keras 3 weights file/);

  const missing = path.join(dir, 'missing.h5');
  await writeH5(missing, (f) => {
    f.create_attribute('layer_names', ['a']);
    f.create_group('a').create_attribute('weight_names', ['a/kernel:0']);
  });
  await rejectsWith(tg.io.load(missing), 'ERR_KERAS_DATA', missing, /a\/kernel:0.*missing/);

  const strings = path.join(dir, 'strings.h5');
  await writeH5(strings, (f) => {
    f.create_attribute('layer_names', ['a']);
    const g = f.create_group('a');
    g.create_attribute('weight_names', ['a/kernel:0']);
    g.create_group('a').create_dataset({ name: 'kernel:0', data: ['x', 'y'] });
  });
  await rejectsWith(tg.io.load(strings), 'ERR_KERAS_DATA', strings, /not numbers/);

  const badConfig = path.join(dir, 'config.h5');
  await writeH5(badConfig, (f) => {
    f.create_attribute('model_config', '{"class_name": ');
    kerasLayers(f.create_group('model_weights'), [{ name: 'd', weights: [{ name: 'd/kernel:0', data: seq(4), shape: [2, 2] }] }]);
  });
  await rejectsWith(tg.io.load(badConfig), 'ERR_KERAS_FORMAT', badConfig, /model_config is not valid JSON/);
  assert.ok(tg.memory().tensors <= before, `live tensors went from ${before} to ${tg.memory().tensors}`);
});

test('h5py-written weights read in float64, gzip-compressed and scalar int64 datasets; float16 is refused by name', { skip: noH5py }, async (t) => {
  const dir = tmpDir(t);
  const ok = path.join(dir, 'types.h5');
  const half = path.join(dir, 'half.h5');
  execFileSync(PYTHON, ['-c', `
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], 'w') as f:
    f.attrs['layer_names'] = [b'd']
    g = f.create_group('d'); g.attrs['weight_names'] = [b'd/kernel:0', b'd/bias:0', b'd/steps:0']
    g['d/kernel:0'] = np.array([[1, -2, 3], [0.5, 0, 1e300]], dtype=np.float64)
    g.create_dataset('d/bias:0', data=np.arange(3, dtype=np.float32), compression='gzip')
    g['d/steps:0'] = np.array(7, dtype=np.int64)
with h5py.File(sys.argv[2], 'w') as f:
    f.attrs['layer_names'] = [b'd']
    g = f.create_group('d'); g.attrs['weight_names'] = [b'd/kernel:0']
    g['d/kernel:0'] = np.ones((2, 2), dtype=np.float16)
`, ok, half]);
  const r = await tg.io.loadWithMetadata(ok);
  try {
    assert.deepStrictEqual([r.tensors['d.weight'].dtype, r.tensors['d.weight'].shape, Array.from(r.tensors['d.weight'].dataSync())], ['float64', [3, 2], [1, 0.5, -2, 0, 3, 1e300]]);
    assert.deepStrictEqual(Array.from(r.tensors['d.bias'].dataSync()), [0, 1, 2]);
    assert.deepStrictEqual([r.tensors['d.steps'].dtype, r.tensors['d.steps'].shape, r.tensors['d.steps'].item()], ['int64', [], 7]);
  } finally {
    tg.dispose(r.tensors);
  }
  await rejectsWith(tg.io.load(half), 'ERR_KERAS_DATA', half, /'d\/d\/kernel:0' holds float16 data/);
});

test('a compressed dataset declaring far more data than its file holds is refused before it is read', { skip: noH5py }, async (t) => {
  const bomb = path.join(tmpDir(t), 'bomb.h5');
  execFileSync(PYTHON, ['-c', `
import h5py, numpy as np, sys
with h5py.File(sys.argv[1], 'w') as f:
    f.attrs['layer_names'] = [b'd']
    g = f.create_group('d'); g.attrs['weight_names'] = [b'd/kernel:0']
    g.create_dataset('d/kernel:0', data=np.zeros((1024, 8192), dtype=np.float32), compression='gzip', compression_opts=9, chunks=(256, 8192))
`, bomb]);
  assert.ok(fs.statSync(bomb).size < 512 * 1024);
  await rejectsWith(tg.io.load(bomb), 'ERR_KERAS_DATA', bomb, /declares 33554432 bytes of data, more than a \d+-byte file can hold \(compressed data may expand 64x at most\)/);
});

test('the worker-side relayout (permuteBytes) equals LibTorch permute().contiguous() for every rank, order and width', () => {
  const { permuteBytes } = require('../dist/io/permute-bytes.js');
  let seed = 7;
  const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  for (let trial = 0; trial < 60; trial++) {
    const rank = 1 + rand(5);
    const shape = Array.from({ length: rank }, () => 1 + rand(rank > 3 ? 7 : 70));
    const perm = [...Array(rank).keys()];
    for (let i = rank - 1; i > 0; i--) {
      const j = rand(i + 1);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    const n = shape.reduce((a, b) => a * b, 1);
    for (const [Typed, dtype] of [[Float64Array, 'float64'], [Float32Array, 'float32'], [Int16Array, 'int16'], [Uint8Array, 'uint8']]) {
      const src = Typed.from({ length: n }, (_, i) => (i * 37) % 251);
      const expected = tg.tidy(() => tg.tensor(src, { shape, dtype }).permute(perm).contiguous().dataSync());
      const got = new Typed(permuteBytes(new Uint8Array(src.buffer), Typed.BYTES_PER_ELEMENT, shape, perm).buffer);
      assert.deepStrictEqual(Array.from(got), Array.from(expected), `shape [${shape}] perm [${perm}] ${dtype}`);
    }
  }
});
