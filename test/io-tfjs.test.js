'use strict';
// TF.js layers models: the two shared models load with the README's names and shapes, values straight from the
// shard, Dense layouts checked by computing the model both ways; manifests written here cover shards split in
// several files, quantization, and every refusal (paths outside the folder, missing or mis-sized shards, dtypes).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { tg, fixture, noNumpy, ref, tmpDir, assertClose, sums, rejectsWith } = require('./helpers/foreign');

const ABALONE = fixture('tfjs_abalone_dense/model.json');
const GRU = fixture('tfjs_embedding_gru/model.json');

/** The float32 values of a shard, in manifest order, without torchgraft. */
function shardFloats(json) {
  const doc = JSON.parse(fs.readFileSync(json, 'utf8'));
  const buf = fs.readFileSync(path.join(path.dirname(json), doc.weightsManifest[0].paths[0]));
  const out = {};
  let at = 0;
  for (const w of doc.weightsManifest[0].weights) {
    const n = w.shape.reduce((p, d) => p * d, 1);
    out[w.name] = { shape: w.shape, values: Array.from({ length: n }, (_, i) => buf.readFloatLE(at + 4 * i)) };
    at += 4 * n;
  }
  return out;
}

test('the abalone Dense model loads transposed kernels, and a Linear stack computes what Keras Dense layers compute', async () => {
  const r = await tg.io.loadWithMetadata(ABALONE);
  try {
    assert.strictEqual(r.format, 'tfjs');
    assert.strictEqual(r.metadata.format, 'layers-model');
    assert.strictEqual(r.metadata.generatedBy, 'TensorFlow.js tfjs-layers v1.3.2');
    assert.deepStrictEqual(r.names, ['dense_Dense1.weight', 'dense_Dense1.bias', 'dense_Dense2.weight', 'dense_Dense2.bias', 'dense_Dense3.weight', 'dense_Dense3.bias']);
    assert.deepStrictEqual(r.tensors['dense_Dense1.weight'].shape, [50, 8]);
    assert.deepStrictEqual(r.tensors['dense_Dense3.weight'].shape, [1, 50]);
    const raw = shardFloats(ABALONE);
    // weight[o, i] = kernel[i, o]
    const k = raw['dense_Dense1/kernel'].values;
    const w = r.tensors['dense_Dense1.weight'].dataSync();
    for (let o = 0; o < 50; o++) for (let i = 0; i < 8; i++) assert.strictEqual(w[o * 8 + i], k[i * 50 + o]);
    assert.deepStrictEqual(Array.from(r.tensors['dense_Dense3.bias'].dataSync()), raw['dense_Dense3/bias'].values);

    // Keras' Dense is sigmoid(x @ kernel + bias) here; compute it in plain JS from the shard and with tg.nn.Linear.
    const x = [0.5, 0.4, 0.3, 0.1, 0.6, 0.2, 0.15, 0.2];
    const dense = (v, name, act) => {
      const { shape, values } = raw[`${name}/kernel`];
      const b = raw[`${name}/bias`].values;
      return Array.from({ length: shape[1] }, (_, o) => act(b[o] + v.reduce((s, vi, i) => s + vi * values[i * shape[1] + o], 0)));
    };
    const sigmoid = (z) => 1 / (1 + Math.exp(-z));
    const expected = dense(dense(dense(x, 'dense_Dense1', sigmoid), 'dense_Dense2', sigmoid), 'dense_Dense3', (z) => z);
    const net = new tg.nn.Sequential({
      dense_Dense1: new tg.nn.Linear(8, 50), s1: new tg.nn.Sigmoid(), dense_Dense2: new tg.nn.Linear(50, 50), s2: new tg.nn.Sigmoid(), dense_Dense3: new tg.nn.Linear(50, 1),
    });
    const report = net.loadStateDict(r.tensors);
    assert.strictEqual(report.loaded.length, 6);
    const y = tg.noGrad(() => net.forward(tg.tensor([x])));
    assertClose(y.dataSync(), expected, { rtol: 1e-5, atol: 1e-6, what: 'abalone output' });
  } finally {
    tg.dispose(r.tensors);
  }
});

test('the Embedding + GRU model names its weights; the GRU keeps the Keras layout (documented), untrained bias zero', async () => {
  const r = await tg.io.loadWithMetadata(GRU);
  try {
    assert.deepStrictEqual(r.names, ['embedding_Embedding2.weight', 'gru_GRU1.kernel', 'gru_GRU1.recurrent_kernel', 'gru_GRU1.bias']);
    assert.deepStrictEqual(r.tensors['embedding_Embedding2.weight'].shape, [100, 20]);
    assert.deepStrictEqual(r.tensors['gru_GRU1.kernel'].shape, [20, 12]);
    assert.deepStrictEqual(r.tensors['gru_GRU1.recurrent_kernel'].shape, [4, 12]);
    assert.deepStrictEqual(Array.from(r.tensors['gru_GRU1.bias'].dataSync()), new Array(12).fill(0));
    const raw = shardFloats(GRU);
    assert.deepStrictEqual(Array.from(r.tensors['gru_GRU1.kernel'].dataSync()), raw['gru_GRU1/kernel'].values);
    assert.deepStrictEqual(Array.from(r.tensors['embedding_Embedding2.weight'].dataSync()), raw['embedding_Embedding2/embeddings'].values);
    const layers = JSON.parse(r.metadata.layers);
    assert.deepStrictEqual(layers.map((l) => [l.name, l.className]), [['embedding_Embedding2', 'Embedding'], ['gru_GRU1', 'GRU']]);
    assert.ok(layers[1].weights.every((w) => w.layout === 'kept'));
  } finally {
    tg.dispose(r.tensors);
  }
});

test('TF.js weights match numpy decoding of the shards', { skip: noNumpy }, async () => {
  for (const file of [ABALONE, GRU]) {
    const e = ref('tfjs', file);
    const r = await tg.io.loadWithMetadata(file);
    try {
      const infos = JSON.parse(r.metadata.layers).flatMap((l) => l.weights);
      for (const w of e) {
        const info = infos.find((i) => i.keras === w.name);
        assert.deepStrictEqual(info.kerasShape, w.shape);
        const s = sums(r.tensors[info.name]);
        assertClose([s.sum, s.abs], [w.sum, w.abs], { rtol: 1e-9, atol: 1e-9, what: info.name });
      }
    } finally {
      tg.dispose(r.tensors);
    }
  }
});

/** Writes model.json (with `manifest`) and shards into a fresh folder; returns the json path. */
function writeModel(dir, name, manifest, shards, topology) {
  const folder = path.join(dir, name);
  fs.mkdirSync(folder, { recursive: true });
  for (const [f, bytes] of Object.entries(shards)) {
    fs.mkdirSync(path.dirname(path.join(folder, f)), { recursive: true });
    fs.writeFileSync(path.join(folder, f), bytes);
  }
  const json = path.join(folder, 'model.json');
  fs.writeFileSync(json, JSON.stringify({ format: 'layers-model', modelTopology: topology ?? {}, weightsManifest: manifest }));
  return json;
}
const f32 = (...v) => Buffer.from(new Float32Array(v).buffer);

test('a group of several shards is read as one concatenated buffer, and int32 and bool weights keep their dtype', async (t) => {
  const dir = tmpDir(t);
  const all = Buffer.concat([f32(1, 2, 3, 4, 5, 6), Buffer.from(new Int32Array([-3, 9]).buffer), Buffer.from([1, 0, 1])]);
  const json = writeModel(
    dir,
    'split',
    [{ paths: ['group1-shard1of2.bin', 'sub/group1-shard2of2.bin'], weights: [
      { name: 'd/kernel', shape: [2, 3], dtype: 'float32' }, { name: 'steps', shape: [2], dtype: 'int32' }, { name: 'mask', shape: [3], dtype: 'bool' },
    ] }],
    { 'group1-shard1of2.bin': all.subarray(0, 10), 'sub/group1-shard2of2.bin': all.subarray(10) },
    { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd' } }] } },
  );
  const r = await tg.io.loadWithMetadata(json);
  try {
    assert.deepStrictEqual(r.names, ['d.weight', 'steps', 'mask']);
    assert.deepStrictEqual(Array.from(r.tensors['d.weight'].dataSync()), [1, 4, 2, 5, 3, 6]);
    assert.deepStrictEqual([r.tensors.steps.dtype, ...r.tensors.steps.dataSync()], ['int32', -3, 9]);
    assert.deepStrictEqual([r.tensors.mask.dtype, ...Array.from(r.tensors.mask.dataSync(), Boolean)], ['bool', true, false, true]);
  } finally {
    tg.dispose(r.tensors);
  }
});

test('quantized TF.js weights (uint8 and uint16 with scale and min, float16) are dequantized', async (t) => {
  const dir = tmpDir(t);
  const half = Buffer.alloc(4);
  half.writeUInt16LE(0x3c00, 0);
  half.writeUInt16LE(0xc100, 2);
  const json = writeModel(
    dir,
    'quant',
    [{ paths: ['w.bin'], weights: [
      { name: 'a', shape: [3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
      { name: 'b', shape: [2], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.25, min: 2 } },
      { name: 'c', shape: [2], dtype: 'float32', quantization: { dtype: 'float16' } },
      { name: 'n', shape: [1], dtype: 'int32', quantization: { dtype: 'uint8', scale: 1, min: -100 } },
    ] }],
    { 'w.bin': Buffer.concat([Buffer.from([0, 2, 255]), Buffer.from(new Uint16Array([4, 65535]).buffer), half, Buffer.from([7])]) },
  );
  const r = await tg.io.loadWithMetadata(json);
  try {
    assert.deepStrictEqual(Array.from(r.tensors.a.dataSync()), [-1, 0, 126.5]);
    assert.deepStrictEqual(Array.from(r.tensors.b.dataSync()), [3, 65535 * 0.25 + 2]);
    assert.deepStrictEqual(Array.from(r.tensors.c.dataSync()), [1, -2.5]);
    assert.deepStrictEqual([r.tensors.n.dtype, ...r.tensors.n.dataSync()], ['int32', -93]);
  } finally {
    tg.dispose(r.tensors);
  }
});

test('bad TF.js models are TorchErrors naming the model.json and the problem, with nothing allocated', async (t) => {
  const dir = tmpDir(t);
  const before = tg.memory().tensors;
  let n = 0;
  const w = (shape = [2], extra = {}) => [{ paths: ['w.bin'], weights: [{ name: 'x', shape, dtype: 'float32', ...extra }] }];
  const refuse = async (manifest, shards, code, pattern) => {
    const json = writeModel(dir, `m${n++}`, manifest, shards);
    await rejectsWith(tg.io.load(json), code, json, pattern);
  };
  const ok = { 'w.bin': f32(1, 2) };
  fs.writeFileSync(path.join(dir, 'outside.bin'), f32(1, 2));
  await refuse([{ paths: ['../outside.bin'], weights: w()[0].weights }], ok, 'ERR_TFJS_PATH', /'\.\.\/outside\.bin' must be relative to the model's folder/);
  await refuse([{ paths: [path.join(dir, 'outside.bin')], weights: w()[0].weights }], ok, 'ERR_TFJS_PATH', /must be relative/);
  await refuse([{ paths: ['https://example.com/w.bin'], weights: w()[0].weights }], ok, 'ERR_TFJS_PATH', /URL/);
  await refuse([{ paths: ['gone.bin'], weights: w()[0].weights }], ok, 'ERR_TFJS_SHARD', /shard 'gone\.bin' cannot be opened/);
  await refuse(w([3]), ok, 'ERR_TFJS_SHARD', /describes 12 bytes of weights but its shards \(w\.bin\) hold 8/);
  await refuse(w([1]), ok, 'ERR_TFJS_SHARD', /describes 4 bytes/);
  await refuse(w([1e6, 1e6, 1e3]), ok, 'ERR_TFJS_SHARD', /describes 4000000000000000 bytes/);
  await refuse(w([-2]), ok, 'ERR_TFJS_FORMAT', /not a non-negative integer/);
  await refuse(w([2], { dtype: 'string' }), ok, 'ERR_TFJS_DTYPE', /dtype 'string'/);
  await refuse(w([2], { quantization: { dtype: 'int4' } }), ok, 'ERR_TFJS_DTYPE', /quantization 'int4'/);
  await refuse(w([2], { quantization: { dtype: 'uint8', scale: 'big' } }), ok, 'ERR_TFJS_FORMAT', /finite numbers 'scale' and 'min'/);
  await refuse([{ paths: ['w.bin'], weights: [{ name: 'x', shape: [1] }, { name: 'x', shape: [1] }] }], ok, 'ERR_TFJS_FORMAT', /'x' appears twice/);
  await refuse({ not: 'an array' }, ok, 'ERR_TFJS_FORMAT', /'weightsManifest' is missing or not an array/);
  // A shard that is a link to a file outside the folder.
  const linked = writeModel(dir, 'linked', w(), {});
  fs.symlinkSync(path.join(dir, 'outside.bin'), path.join(dir, 'linked', 'w.bin'));
  await rejectsWith(tg.io.load(linked), 'ERR_TFJS_PATH', linked, /resolves outside the model's folder/);
  const broken = path.join(dir, 'broken', 'model.json');
  fs.mkdirSync(path.dirname(broken));
  fs.writeFileSync(broken, '{"modelTopology": {}, "weightsManifest": [');
  await rejectsWith(tg.io.load(broken), 'ERR_TFJS_FORMAT', broken, /not valid JSON/);
  assert.ok(tg.memory().tensors <= before, `live tensors went from ${before} to ${tg.memory().tensors}`);
});

test('a TF.js BatchNormalization reports its epsilon and momentum (Keras defaults when omitted), and the built model uses them', async (t) => {
  const fsm = require('node:fs');
  const os = require('node:os');
  const pathm = require('node:path');
  const dir = fsm.mkdtempSync(pathm.join(os.tmpdir(), 'tg-tfjs-bn-'));
  t.after(() => fsm.rmSync(dir, { recursive: true, force: true }));
  const bn = (name, extra) => ({ class_name: 'BatchNormalization', config: { name, axis: -1, ...extra } });
  const topology = {
    class_name: 'Sequential',
    config: { name: 'seq', layers: [
      { class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, 2] } },
      bn('bn_a', { epsilon: 0.01, momentum: 0.9 }),
      bn('bn_b', {}),
    ] },
  };
  const names = ['gamma', 'beta', 'moving_mean', 'moving_variance'];
  const weights = ['bn_a', 'bn_b'].flatMap((l) => names.map((n) => ({ name: `${l}/${n}`, shape: [2], dtype: 'float32' })));
  const values = new Float32Array([1, 2, 0, 1, 0.5, -0.5, 4, 9, 1, 1, 0, 0, 0, 0, 1, 1]);
  fsm.writeFileSync(pathm.join(dir, 'w.bin'), Buffer.from(values.buffer));
  fsm.writeFileSync(pathm.join(dir, 'model.json'), JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: [{ paths: ['w.bin'], weights }] }));
  const meta = (await require('../dist/io/tfjs.js').loadTfjs(pathm.join(dir, 'model.json'))).metadata;
  const layers = JSON.parse(meta.layers);
  assert.deepStrictEqual(layers.map((l) => [l.name, l.epsilon, l.momentum]), [['bn_a', 0.01, 0.9], ['bn_b', 1e-3, 0.99]]);
  const model = await tg.io.loadModel(pathm.join(dir, 'model.json'));
  const x = tg.tensor([[1, 2], [3, 5]], { dtype: 'float32' });
  // eval-mode batch norm with the file's epsilon: (x - mean) / sqrt(var + eps) * gamma + beta
  const expectA = [[1, 2], [3, 5]].map((r) => r.map((v, j) => ((v - [0.5, -0.5][j]) / Math.sqrt([4, 9][j] + 0.01)) * [1, 2][j] + [0, 1][j]));
  const expected = expectA.map((r) => r.map((v) => v / Math.sqrt(1 + 1e-3)));
  const got = tg.noGrad(() => model.forward(x)).toArray();
  got.flat().forEach((v, i) => assert.ok(Math.abs(v - expected.flat()[i]) < 1e-5, `${v} vs ${expected.flat()[i]}`));
});
