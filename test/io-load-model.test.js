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

test('a Keras model takes a new head with replace, and caches features when its graph is a chain (DS-CNN), refusing when not (ResNet-8)', async () => {
  const resnet = await tg.io.loadModel(fixture('keras2_resnet8_cifar10.h5'));
  assert.throws(() => resnet.chainLayers(), (e) => e.code === 'ERR_CACHE_CUT' && /layer 'add' takes/.test(e.message));
  resnet.freeze(/^(?!dense)/);
  await assert.rejects(tg.transfer.cacheFeatures(resnet, [tg.randn([4, 3, 32, 32]), tg.randint(0, 10, [4])]), (e) => e.code === 'ERR_CACHE_CUT');
  const onnx = await tg.io.loadModel(fixture('burn_mnist_cnn.onnx'));
  assert.throws(() => onnx.chainLayers(), (e) => e.code === 'ERR_CACHE_CUT');

  const dscnn = await tg.io.loadModel(fixture('keras2_dscnn_wakeword.h5'));
  tg.manualSeed(5);
  const head = new tg.nn.Linear(dscnn.dense.inFeatures, 3);
  dscnn.replace('dense', head);
  dscnn.eval();
  const x = tg.randn([12, 40, 30, 1]);
  const y = tg.randint(0, 3, [12]);
  assert.deepStrictEqual(tg.noGrad(() => dscnn.forward(x)).shape, [12, 3], 'the new head runs in the graph');
  dscnn.freeze(/^(?!dense)/);
  // a frozen base runs without dropout (Keras calls it with training=False): its Dropouts become Identity
  for (const name of ['dropout', 'dropout_1', 'dropout_2', 'dropout_3']) dscnn.replace(name, new tg.nn.Identity());
  const cache = await tg.transfer.cacheFeatures(dscnn, [x, y]);
  const cached = cache.examples.getBatch([0, 1, 2])[0];
  const direct = tg.noGrad(() => {
    let h = x.narrow(0, 0, 3);
    for (const [name, m] of dscnn.chainLayers()) if (name !== 'dense') h = m.forward(h);
    return h;
  });
  assert.ok(cached.equal(direct), 'the cached features are what the chain computes below the head');
  cache.dispose();
});
