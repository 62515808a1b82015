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
  assert.match(r.stdout, /conv2d\s+Conv2D\s+conv2d\/kernel:0\s+\[3, 3, 3, 16\]\s+conv2d\.weight\s+\[16, 3, 3, 3\]\s+HWIO->OIHW/);
  assert.match(r.stdout, /batch_normalization\s+BatchNormalization\s+batch_normalization\/moving_variance:0\s+\[16\]\s+batch_normalization\.running_var\s+\[16\]\s+same; epsilon=0\.001 momentum=0\.99/);
  assert.match(r.stdout, /add\s+Add/);
  assert.match(r.stdout, /30 layers, 78666 parameters; optimizer weights present \(ignored\)/);
});

test('inspect lists an ONNX model: header, initializers with totals, and every node with inputs and outputs', () => {
  const r = inspect(fixture('burn_mnist_cnn.onnx'));
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ONNX ir_version 8, producer pytorch 2\.0\.0, opset ai\.onnx:16/);
  assert.match(r.stdout, /fc1\.weight\s+FLOAT\s+\[32, 11616\]\s+371712\s+1\.4 MiB/);
  assert.match(r.stdout, /18 tensors, /);
  assert.match(r.stdout, /nodes \(13\):/);
  assert.match(r.stdout, /0\s+Conv\s+\/conv1\/Conv\s+input\.1, conv1\.weight, conv1\.bias -> \/conv1\/Conv_output_0/);
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

test('inspect fails with exit code 1 and a message naming the file for unknown and corrupt files, 2 without a file', (t) => {
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
  assert.match(r.stderr, /usage: torchgraft inspect FILE/);
});

test('a format can register its own inspector (the hook TorchScript module trees use)', async () => {
  const { registerInspector, inspectFile } = require('../dist/cli/inspect');
  registerInspector('tfjs', async (file) => `custom view of ${path.basename(file)}`);
  assert.strictEqual(await inspectFile(fixture('tfjs_abalone_dense/model.json')), 'custom view of model.json');
});
