'use strict';
// `torchgraft inspect FILE` run as a child process on the shared fixtures of every format torchgraft reads, plus
// its errors (unknown format, corrupt file, missing argument) and the inspector hook other formats plug into.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { fixture, tmpDir } = require('./helpers/foreign');

const CLI = path.resolve(__dirname, '..', 'dist', 'cli', 'main.js');
const inspect = (...args) => spawnSync(process.execPath, [CLI, 'inspect', ...args], { encoding: 'utf8', timeout: 120000 });

test('inspect lists a safetensors file as a table of name, dtype, shape and size with totals', () => {
  const r = inspect(fixture('burn_multi_layer.safetensors'));
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /^safetensors \(header \d+ bytes\)/);
  assert.match(r.stdout, /name\s+dtype\s+shape\s+elements\s+size/);
  assert.match(r.stdout, /norm1\.running_var\s+F32\s+\[4\]\s+4\s+16 B/);
  assert.match(r.stdout, /9 tensors, 4241 elements, 16\.6 KiB/);
});

test('inspect lists a Keras file by layer: class, Keras and PyTorch names and shapes, BatchNorm epsilon', () => {
  const r = inspect(fixture('keras2_resnet8_cifar10.h5'));
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Keras HDF5 \(keras_version=2\.4\.0, backend=tensorflow\)/);
  // one heading per layer (name, class), its weights under it
  assert.match(r.stdout, /^conv2d \(Conv2D\)\n {2}kernel:0\s+\[3, 3, 3, 16\]\s+conv2d\.weight\s+\[16, 3, 3, 3\]\s+HWIO->OIHW$/m);
  assert.match(r.stdout, /^batch_normalization \(BatchNormalization, epsilon=0\.001 momentum=0\.99\)$/m);
  assert.match(r.stdout, /^ {2}moving_variance:0\s+\[16\]\s+batch_normalization\.running_var\s+\[16\]\s+same$/m);
  assert.match(r.stdout, /^add \(Add\)$/m);
  assert.match(r.stdout, /30 layers, 78666 parameters; optimizer weights present \(ignored\)/);
});

test('inspect lists an ONNX model: header, initializers with totals, and every node with inputs and outputs', () => {
  const r = inspect(fixture('burn_mnist_cnn.onnx'));
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ONNX ir_version 8, producer pytorch 2\.0\.0, opset ai\.onnx:16/);
  assert.match(r.stdout, /fc1\.weight\s+FLOAT\s+\[32, 11616\]\s+371712\s+1\.4 MiB/);
  assert.match(r.stdout, /18 tensors, /);
  assert.match(r.stdout, /nodes \(13\):/);
  // cells are cut in their middle to fit 100 columns; --json has them whole (below)
  assert.match(r.stdout, /^ 0\s+Conv\s+\/conv1\/Conv\s+input\.1, .*conv1\.bias\s+\/conv1\/Conv_output_0$/m);
  assert.match(r.stdout, /LogSoftmax/);
});

test('inspect lists a TF.js model.json with converted names and the manifest format', () => {
  const r = inspect(fixture('tfjs_embedding_gru/model.json'));
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /^tfjs \(format=layers-model, generatedBy=TensorFlow\.js tfjs-layers v0\.0\.0\)/);
  assert.match(r.stdout, /embedding_Embedding2\.weight\s+float32\s+\[100, 20\]\s+2000\s+7\.8 KiB/);
  assert.match(r.stdout, /gru_GRU1\.recurrent_kernel\s+float32\s+\[4, 12\]/);
  assert.match(r.stdout, /4 tensors, 2300 elements, 9\.0 KiB/);
});

test('inspect fails with exit code 1 and a message naming the file for unknown and corrupt files, 2 for a bad command line', (t) => {
  const dir = tmpDir(t);
  const text = path.join(dir, 'notes.txt');
  fs.writeFileSync(text, 'hello');
  let r = inspect(text);
  assert.strictEqual(r.status, 1);
  assert.match(r.stderr, /torchgraft inspect: io: '.*notes\.txt' is in no format torchgraft reads/);
  const cut = path.join(dir, 'cut.onnx');
  fs.writeFileSync(cut, fs.readFileSync(fixture('burn_mnist_cnn.onnx')).subarray(0, 5000));
  r = inspect(cut);
  assert.strictEqual(r.status, 1);
  assert.match(r.stderr, /torchgraft inspect: onnx: '.*cut\.onnx': not a well-formed ONNX model/);
  r = inspect();
  assert.strictEqual(r.status, 2);
  assert.match(r.stderr, /^torchgraft inspect: no PATH given\nusage: torchgraft inspect \[--json\] PATH\nRun 'torchgraft inspect --help' for more\.\n$/);
  r = inspect('--jsn', text);
  assert.strictEqual(r.status, 2);
  assert.match(r.stderr, /^torchgraft inspect: unknown option '--jsn'\n/);
  r = inspect(text, cut);
  assert.strictEqual(r.status, 2);
  assert.match(r.stderr, /one PATH expected, got 2/);
  r = inspect(path.join(dir, 'missing.safetensors'));
  assert.strictEqual(r.status, 1);
  assert.match(r.stderr, /^torchgraft inspect: .*missing\.safetensors/);
});

test('a format can register its own inspector (the hook TorchScript module trees use)', async () => {
  const { registerInspector, inspectFile } = require('../dist/cli/inspect');
  registerInspector('tfjs', async (file) => `custom view of ${path.basename(file)}`);
  assert.strictEqual(await inspectFile(fixture('tfjs_abalone_dense/model.json')), 'custom view of model.json');
});

/** The widest line of a text, in characters (the ellipsis is one). */
const widest = (text) => Math.max(...text.split('\n').map((l) => [...l].length));

test('every table fits 100 columns: long names lose their middle to an ellipsis', () => {
  for (const f of ['keras2_resnet8_cifar10.h5', 'keras2_dscnn_wakeword.h5', 'burn_mnist_cnn.onnx', 'burn_linear_gemm_matmul.onnx', 'burn_multi_layer.safetensors',
    'tfjs_embedding_gru', 'npy_art_mnist_cnn', 'whisper_mel_filters.npz', 'burn_mnist_cnn_state_dict.pt']) {
    const r = inspect(fixture(f));
    assert.strictEqual(r.status, 0, `${f}: ${r.stderr}`);
    assert.ok(widest(r.stdout) <= 100, `${f}: a line of ${widest(r.stdout)} columns`);
  }
  // the dscnn model's BatchNorm names are longer than their column: cut in the middle, both ends kept
  assert.match(inspect(fixture('keras2_dscnn_wakeword.h5')).stdout, /batch_normal\S*…\S*running_mean/);
  const { table, ellipsize } = require('../dist/cli/table');
  assert.strictEqual(ellipsize('layer4.1.bn2.running_mean', 12), 'layer…g_mean');
  assert.strictEqual(ellipsize('short', 12), 'short');
  const t = table(['name', 'n'], [['x'.repeat(150), '1']], [false, true]);
  assert.ok(widest(t) <= 100 && t.includes('…'), t);
});

test('inspect --help prints the usage with the --json fields, and is not taken as a file name', () => {
  for (const args of [['--help'], ['-h'], ['--help', 'model.safetensors']]) {
    const r = inspect(...args);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: torchgraft inspect \[--json\] PATH/);
    for (const field of ['schema', 'path', 'kind', 'format', 'summary', 'metadata', 'tensors', 'totals', 'files', 'onnx', 'keras']) {
      assert.match(r.stdout, new RegExp(`^ {16}${field} `, 'm'), `--help documents ${field}`);
    }
  }
});

test('inspect --json: one object with stable fields, whole names, ONNX nodes and Keras layers', () => {
  const json = (...args) => {
    const r = inspect('--json', ...args);
    assert.strictEqual(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const st = json(fixture('burn_multi_layer.safetensors'));
  assert.deepStrictEqual(Object.keys(st), ['schema', 'path', 'kind', 'format', 'summary', 'metadata', 'tensors', 'totals']);
  assert.strictEqual(st.schema, 1);
  assert.strictEqual(st.kind, 'file');
  assert.strictEqual(st.format, 'safetensors');
  assert.strictEqual(st.path, fixture('burn_multi_layer.safetensors'));
  assert.deepStrictEqual(st.tensors.find((t) => t.name === 'fc1.weight'), { name: 'fc1.weight', dtype: 'F32', shape: [16, 256], elements: 4096, bytes: 16384 });
  assert.deepStrictEqual(st.totals, { tensors: 9, elements: 4241, bytes: 4240 * 4 + 8 });

  const onnx = json(fixture('burn_mnist_cnn.onnx'));
  assert.strictEqual(onnx.format, 'onnx');
  assert.strictEqual(onnx.tensors.length, 18);
  assert.strictEqual(onnx.onnx.nodes.length, 13);
  assert.deepStrictEqual(onnx.onnx.nodes[0], { opType: 'Conv', name: '/conv1/Conv', domain: '', inputs: ['input.1', 'conv1.weight', 'conv1.bias'], outputs: ['/conv1/Conv_output_0'] });

  const keras = json(fixture('keras2_resnet8_cifar10.h5'));
  assert.strictEqual(keras.format, 'keras-h5');
  assert.strictEqual(keras.totals.elements, 78666);
  assert.deepStrictEqual(keras.tensors[0], { name: 'conv2d.weight', dtype: null, shape: [16, 3, 3, 3], elements: 432, bytes: null });
  const bn = keras.keras.layers.find((l) => l.name === 'batch_normalization');
  assert.strictEqual(bn.className, 'BatchNormalization');
  assert.strictEqual(bn.epsilon, 0.001);
  assert.strictEqual(keras.keras.optimizerWeights, true);

  const pt = json(fixture('burn_mnist_cnn_state_dict.pt'));
  assert.strictEqual(pt.format, 'pytorch');
  assert.ok(pt.tensors.length > 0 && pt.tensors.every((t) => typeof t.bytes === 'number' && typeof t.dtype === 'string'), JSON.stringify(pt.tensors));
});

test('inspect on a TF.js model folder says what it is, lists its tensors and its files', () => {
  const r = inspect(fixture('tfjs_embedding_gru'));
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /^TF\.js model folder: model\.json, 1 weight file\ntfjs \(format=layers-model/);
  assert.match(r.stdout, /gru_GRU1\.recurrent_kernel\s+float32\s+\[4, 12\]/);
  assert.match(r.stdout, /^files \(2\):$/m);
  assert.match(r.stdout, /^weights\.bin\s+tfjs-weights\s+9\.0 KiB$/m);
  const j = JSON.parse(inspect('--json', fixture('tfjs_embedding_gru')).stdout);
  assert.strictEqual(j.kind, 'folder');
  assert.strictEqual(j.format, 'tfjs-folder');
  assert.strictEqual(j.totals.tensors, 4);
  assert.deepStrictEqual(j.files.map((f) => [f.name, f.format]), [['model.json', 'tfjs'], ['weights.bin', 'tfjs-weights']]);
});

test('inspect on a sharded safetensors folder reads the shards\' headers and names each tensor\'s shard', async (t) => {
  const tg = require('..');
  const dir = tmpDir(t);
  const a = tg.ones([2, 3]);
  const b = tg.zeros([4], { dtype: 'int64' });
  await tg.io.save({ 'layer1.weight': a }, path.join(dir, 'model-00001-of-00002.safetensors'));
  await tg.io.save({ 'layer2.steps': b }, path.join(dir, 'model-00002-of-00002.safetensors'));
  tg.dispose([a, b]);
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({
    metadata: { total_size: 56 },
    weight_map: { 'layer1.weight': 'model-00001-of-00002.safetensors', 'layer2.steps': 'model-00002-of-00002.safetensors' },
  }));
  const r = inspect(dir);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /^sharded safetensors folder: model\.safetensors\.index\.json maps 2 tensors to 2 shards/);
  assert.match(r.stdout, /layer1\.weight\s+F32\s+\[2, 3\]\s+6\s+24 B\s+model-00001-of-00002\.safetensors/);
  assert.match(r.stdout, /2 tensors, 10 elements, 56 B/);
  const j = JSON.parse(inspect('--json', dir).stdout);
  assert.strictEqual(j.format, 'safetensors-sharded-folder');
  assert.deepStrictEqual(j.tensors[1], { name: 'layer2.steps', dtype: 'I64', shape: [4], elements: 4, bytes: 32, shard: 'model-00002-of-00002.safetensors' });
  assert.deepStrictEqual(j.metadata, { total_size: '56' });
  // a shard name that leaves the folder is refused, as io.load refuses it
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: '../elsewhere.safetensors' } }));
  const bad = inspect(dir);
  assert.strictEqual(bad.status, 1);
  assert.match(bad.stderr, /shard name '\.\.\/elsewhere\.safetensors' must be a file name relative to the index's folder/);
});

test('inspect on a SavedModel folder says torchgraft does not read it and how to convert; any other folder is listed', (t) => {
  const dir = tmpDir(t);
  fs.mkdirSync(path.join(dir, 'variables'));
  fs.writeFileSync(path.join(dir, 'saved_model.pb'), Buffer.alloc(10));
  fs.writeFileSync(path.join(dir, 'variables', 'variables.index'), Buffer.alloc(3));
  let r = inspect(dir);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /^TensorFlow SavedModel folder: torchgraft does not read SavedModel graphs\nconvert it first: tensorflowjs_converter/);
  assert.match(r.stdout, /^variables\/variables\.index\s+-\s+3 B$/m);
  assert.strictEqual(JSON.parse(inspect('--json', dir).stdout).format, 'savedmodel-folder');
  r = inspect(fixture('npy_art_mnist_cnn'));
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /^folder of 4 files, 4 in a format torchgraft reads\nfiles \(4\):/);
  assert.match(r.stdout, /^W_DENSE_NO_MPOOL_MNIST\.npy\s+numpy\s+50\.8 KiB$/m);
});
