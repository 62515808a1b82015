'use strict';
// tg.io.loadModel: one entry for every format that carries an architecture (Keras HDF5, TF.js, ONNX, TorchScript),
// recognised by content; it builds what the format's own loader builds. Weight-only files are refused with the way on.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { tg, fixture, tmpDir } = require('./helpers/foreign');

const same = (a, b) => assert.ok(a.equal(b), 'same outputs as the format loader');

test('each format with an architecture loads through loadModel as through its own loader (content decides, not the name)', async (t) => {
  const dir = tmpDir(t, 'tg-load-model-');
  // Keras HDF5 under a misleading name: the content is what counts
  const h5 = path.join(dir, 'resnet.bin');
  fs.copyFileSync(fixture('keras2_resnet8_cifar10.h5'), h5);
  const [viaModel, viaKeras] = [await tg.io.loadModel(h5), await tg.io.loadKerasModel(h5)];
  const x = tg.randn([2, 3, 32, 32]);
  same(tg.noGrad(() => viaModel.forward(x)), tg.noGrad(() => viaKeras.forward(x)));
  assert.ok(viaModel.parameters().length > 0 && viaModel.parameters().every((p) => p.requiresGrad), 'trainable');
  // TF.js: the model.json or its folder
  const folder = fixture('tfjs_abalone_dense');
  const tfjs = await tg.io.loadModel(folder);
  const tfjsJson = await tg.io.loadTfjsModel(path.join(folder, 'model.json'));
  const xa = tg.randn([4, 8]);
  same(tg.noGrad(() => tfjs.forward(xa)), tg.noGrad(() => tfjsJson.forward(xa)));
  // ONNX
  const onnxFile = fixture('burn_mnist_cnn.onnx');
  const onnx = await tg.io.loadModel(onnxFile);
  const xo = tg.randn([2, 1, 28, 28]);
  const onnxDirect = await tg.io.loadOnnxModel(onnxFile);
  same(tg.noGrad(() => onnx.eval().forward(xo)), tg.noGrad(() => onnxDirect.eval().forward(xo)));
  // TorchScript
  const ts = await tg.io.loadModel(fixture('torchsharp_mlp_1000_100_10_torchscript.pt'));
  assert.ok(ts instanceof tg.io.ScriptModule);
});

test('files without an architecture, unknown files, and bad arguments are refused with what to do', async (t) => {
  const dir = tmpDir(t, 'tg-load-model-bad-');
  const st = path.join(dir, 'w.safetensors');
  await tg.io.save({ w: tg.ones([2]) }, st);
  await assert.rejects(tg.io.loadModel(st), (e) => e.code === 'ERR_MODEL_FORMAT' && /loadStateDict/.test(e.message) && /proposeMapping/.test(e.message));
  await assert.rejects(tg.io.loadModel(dir), (e) => e.code === 'ERR_MODEL_FORMAT' && /model\.json/.test(e.message));
  const junk = path.join(dir, 'junk.xyz');
  fs.writeFileSync(junk, 'not a model at all');
  await assert.rejects(tg.io.loadModel(junk), (e) => e.code === 'ERR_UNKNOWN_FORMAT');
  await assert.rejects(tg.io.loadModel(path.join(dir, 'missing.onnx')), (e) => e.code !== undefined);
  await assert.rejects(tg.io.loadModel(''), TypeError);
  await assert.rejects(tg.io.loadModel(st, null), TypeError);
});
