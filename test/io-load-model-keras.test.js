'use strict';
// Foreign files become models: Keras HDF5 full models and TF.js layers models built as tg.nn modules by
// loadKerasModel / loadTfjsModel, against a reference forward in Python (test/helpers/keras_ref.py: Keras' semantics
// on channels-last tensors with PyTorch functional ops, weights read with h5py / numpy, written independently of
// the builder). Synthetic models written here with h5py cover the layers the fixtures lack.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { tg, fixture, noH5py, tmpDir } = require('./helpers/foreign');
const { runTorch, assertClose, avoidOneDnnBackwardNaN } = require('./helpers/torch');

avoidOneDnnBackwardNaN();  // LibTorch 2.6's oneDNN: NaN convolution gradients under load (helpers/torch.js)
const { settleTensors } = require('./helpers/settle');

const RESNET = fixture('keras2_resnet8_cifar10.h5');
const DSCNN = fixture('keras2_dscnn_wakeword.h5');
const ABALONE = fixture(path.join('tfjs_abalone_dense', 'model.json'));
const GRU = fixture(path.join('tfjs_embedding_gru', 'model.json'));
const HELPERS = path.join(__dirname, 'helpers');

/** Runs keras_ref on a file (h5 or tfjs) with NHWC inputs T['x0'], T['x1'], ...; OUT['y0'], ... are its outputs. */
function reference(file, inputs, prelude = '', grads = []) {
  const T = {};
  inputs.forEach((x, i) => (T[`x${i}`] = x));
  const out = runTorch(
    `
import sys
sys.path.insert(0, ${JSON.stringify(HELPERS)})
import keras_ref
${prelude}
FILE = ${JSON.stringify(file)}
weights, config = (keras_ref.tfjs_weights if FILE.endswith('.json') else keras_ref.h5_weights)(FILE)
GRADS = ${JSON.stringify(grads)}
for layer, var in GRADS:
    weights[layer][var].requires_grad_()
ys = keras_ref.model_forward(config, weights, [T['x%d' % i].double() for i in range(${inputs.length})])
if GRADS:
    ys[0][:, 0].sum().backward()
    for layer, var in GRADS:
        OUT['grad_%s_%s' % (layer, var)] = weights[layer][var].grad
    ys = [y.detach() for y in ys]
for i, y in enumerate(ys):
    OUT['y%d' % i] = y
for name, y in keras_ref.PRE.items():
    OUT['pre_' + name] = y
`,
    T,
  );
  const ys = Object.keys(out).filter((k) => /^y\d+$/.test(k)).sort().map((k) => out[k]);
  ys.grad = Object.fromEntries(Object.entries(out).filter(([k]) => k.startsWith('grad_')).map(([k, v]) => [k.slice(5), v]));
  ys.pre = Object.fromEntries(Object.entries(out).filter(([k]) => k.startsWith('pre_')).map(([k, v]) => [k.slice(4), v]));
  return ys;
}

/** The logits under a Dense layer's softmax: its Linear module's output, caught by a forward hook. */
function logitsOf(model, layer, inputs, expected, what) {
  let caught;
  const h = model[layer].registerForwardHook((_m, _args, out) => {
    caught = out.detach().clone();
  });
  model.forward(...inputs);
  h.remove();
  assertClose(assert, caught, expected.pre[layer], 1e-5, `${what} logits`);
  return maxAbs(caught, expected.pre[layer]);
}

function maxAbs(actual, expected) {
  const got = actual.detach().to({ dtype: 'float64' }).dataSync();
  assert.strictEqual(got.length, expected.data.length);
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - expected.data[i]));
  return m;
}

const nchw = (t) => t.permute([0, 3, 1, 2]).contiguous();

/** Checks a built model against the reference in both layouts; returns the max abs difference. */
function checkModel(model, inputs, expected, tol, what) {
  let worst = 0;
  const got = [].concat(model.forward(...inputs));
  got.forEach((y, i) => {
    assertClose(assert, y, expected[i], tol, `${what} output ${i} (NHWC)`);
    worst = Math.max(worst, maxAbs(y, expected[i]));
  });
  return worst;
}

test('keras2_resnet8_cifar10.h5 builds (Add, TF-same stride-2 convs, BatchNorm) and matches the reference', { skip: noH5py }, async () => {
  tg.manualSeed(1);
  const x = tg.randn([2, 32, 32, 3]);
  const expected = reference(RESNET, [x]);
  const nhwc = await tg.io.loadKerasModel(RESNET, { inputLayout: 'NHWC' });
  const diff = checkModel(nhwc, [x], expected, 1e-5, 'resnet8');
  assert.ok(diff < 1e-5, `resnet8 max abs difference ${diff}`);
  const logits = logitsOf(nhwc, 'dense', [x], expected, 'resnet8');
  console.log(`# resnet8: ${nhwc.layerNames.length} layers, max abs difference ${diff} (softmax), ${logits} (logits)`);
  const model = await tg.io.loadKerasModel(RESNET);
  assert.strictEqual(model.inputLayout, 'NCHW');
  assertClose(assert, model.forward(nchw(x)), expected[0], 1e-5, 'resnet8 NCHW');
  // the layers carry Keras' names and classes; BatchNorm gets the file's epsilon and 1 - Keras' momentum
  assert.ok(model.conv2d_3 instanceof tg.nn.Conv2d);
  assert.deepStrictEqual([model.conv2d_3.stride, model.conv2d_3.padding], [[2, 2], 'same']);
  assert.ok(model.batch_normalization instanceof tg.nn.BatchNorm2d);
  assert.strictEqual(model.batch_normalization.eps, 0.001);
  assert.ok(Math.abs(model.batch_normalization.momentum - 0.01) < 1e-12);
  assert.ok(model.add instanceof tg.nn.Add);
  assert.deepStrictEqual(Object.keys(model.stateDict()).filter((k) => k.startsWith('dense.')), ['dense.weight', 'dense.bias']);
  // gradients of the first class's probability against torch autograd through the reference (Keras layouts there)
  const g = reference(RESNET, [x], '', [['conv2d_3', 'kernel'], ['batch_normalization_5', 'gamma'], ['dense', 'kernel']]).grad;
  model.forward(nchw(x)).select(1, 0).sum().backward();
  assertClose(assert, model.conv2d_3.weight.grad.permute([2, 3, 1, 0]), g.conv2d_3_kernel, 1e-4, 'conv2d_3 kernel grad');
  assertClose(assert, model.batch_normalization_5.weight.grad, g.batch_normalization_5_gamma, 1e-4, 'bn gamma grad');
  assertClose(assert, model.dense.weight.grad.t(), g.dense_kernel, 1e-4, 'dense kernel grad');
  console.log(`# resnet8 grads: max abs difference ${maxAbs(model.conv2d_3.weight.grad.permute([2, 3, 1, 0]), g.conv2d_3_kernel)} (conv2d_3 kernel, largest |grad| ${model.conv2d_3.weight.grad.abs().max().item()})`);
  model.zeroGrad();
  // trainable: gradients reach every parameter
  model.train();
  const loss = model.forward(nchw(x)).log().mean().neg();
  loss.backward();
  for (const [name, p] of model.namedParameters()) assert.ok(p.grad && Number.isFinite(p.grad.abs().sum().item()), `${name} has a gradient`);
});

test('keras2_dscnn_wakeword.h5 builds (DepthwiseConv2D, Dropout) and matches the reference', { skip: noH5py }, async () => {
  tg.manualSeed(2);
  const x = tg.randn([3, 30, 1, 40]);
  const expected = reference(DSCNN, [x]);
  const model = await tg.io.loadKerasModel(DSCNN, { inputLayout: 'NHWC' });
  const diff = checkModel(model, [x], expected, 1e-5, 'dscnn');
  assert.ok(diff < 1e-5);
  const logits = logitsOf(model, 'dense', [x], expected, 'dscnn');
  console.log(`# dscnn: ${model.layerNames.length} layers, max abs difference ${diff} (softmax), ${logits} (logits)`);
  assert.strictEqual(model.depthwise_conv2d.groups, 40);
  assert.strictEqual(model.depthwise_conv2d.bias, null);
  assert.ok(!model.training, 'built models are in eval mode');
  const model2 = await tg.io.loadKerasModel(DSCNN);
  assertClose(assert, model2.forward(nchw(x)), expected[0], 1e-5, 'dscnn NCHW');
});

test('tfjs_abalone_dense builds (Sequential Dense with activations) and matches the reference', { skip: noH5py }, async () => {
  tg.manualSeed(3);
  const x = tg.randn([5, 8]);
  const expected = reference(ABALONE, [x]);
  const model = await tg.io.loadTfjsModel(ABALONE);
  const diff = checkModel(model, [x], expected, 1e-5, 'abalone');
  assert.ok(diff < 1e-5);
  console.log(`# abalone: ${model.layerNames.length} layers, max abs difference ${diff}`);
  assert.deepStrictEqual(model.layerNames, ['dense_Dense1', 'dense_Dense2', 'dense_Dense3']);
  assert.ok(model.dense_Dense1 instanceof tg.nn.Linear);
});

test('tfjs_embedding_gru builds (Embedding on float indices, GRU go_backwards with hard_sigmoid) and matches the reference', { skip: noH5py }, async () => {
  const x = tg.tensor([[1, 5, 99, 0, 3, 3, 42, 7, 8, 60], [2, 2, 2, 2, 2, 17, 18, 19, 20, 21]]);
  const expected = reference(GRU, [x]);
  const model = await tg.io.loadTfjsModel(GRU);
  const diff = checkModel(model, [x], expected, 1e-5, 'gru');
  assert.ok(diff < 1e-6);
  console.log(`# embedding_gru: ${model.layerNames.length} layers, max abs difference ${diff}`);
  assert.deepStrictEqual(Object.keys(model.stateDict()), ['embedding_Embedding2.weight', 'gru_GRU1.kernel', 'gru_GRU1.recurrent_kernel', 'gru_GRU1.bias']);
  const g = reference(GRU, [x], '', [['gru_GRU1', 'kernel'], ['gru_GRU1', 'recurrent_kernel'], ['embedding_Embedding2', 'embeddings']]).grad;
  model.forward(x).select(1, 0).sum().backward();
  assertClose(assert, model.gru_GRU1.kernel.grad, g.gru_GRU1_kernel, 1e-4, 'gru kernel grad');
  assertClose(assert, model.gru_GRU1.recurrent_kernel.grad, g.gru_GRU1_recurrent_kernel, 1e-4, 'gru recurrent kernel grad');
  assertClose(assert, model.embedding_Embedding2.weight.grad, g.embedding_Embedding2_embeddings, 1e-4, 'embedding grad');
  console.log(`# embedding_gru grads: max abs difference ${maxAbs(model.gru_GRU1.recurrent_kernel.grad, g.gru_GRU1_recurrent_kernel)} (recurrent kernel)`);
  model.zeroGrad();
  // trainable through time
  model.forward(x).sum().backward();
  for (const [name, p] of model.namedParameters()) assert.ok(p.grad && p.grad.abs().sum().item() > 0, `${name} has a gradient`);
});

// A functional model with two outputs over the layers the fixtures lack, written with h5py and random weights.
const MIXED = `
import h5py, json, numpy as np
rng = np.random.default_rng(7)
def L(cls, name, inbound, **cfg):
    cfg['name'] = name
    return {'class_name': cls, 'config': cfg, 'name': name, 'inbound_nodes': [[[i, 0, 0, {}] for i in inbound]] if inbound else []}
layers = [
    L('InputLayer', 'input_1', None, batch_input_shape=[None, 9, 10, 3]),
    L('ZeroPadding2D', 'pad', ['input_1'], padding=[[1, 0], [2, 1]]),
    L('Conv2D', 'conv_a', ['pad'], filters=4, kernel_size=[3, 3], strides=[2, 2], padding='same', activation='swish', use_bias=True),
    L('SeparableConv2D', 'sep', ['pad'], filters=4, kernel_size=[3, 2], strides=[2, 2], padding='same', depth_multiplier=2, activation='relu6', use_bias=True),
    L('Multiply', 'mul', ['conv_a', 'sep']),
    L('Concatenate', 'cat', ['conv_a', 'mul'], axis=-1),
    L('BatchNormalization', 'bn', ['cat'], axis=[3], epsilon=0.01, momentum=0.9),
    L('ReLU', 'relu', ['bn'], max_value=6.0, negative_slope=0.1, threshold=0.0),
    L('DepthwiseConv2D', 'dw', ['relu'], kernel_size=[2, 2], strides=[1, 1], padding='same', depth_multiplier=1, activation='elu', use_bias=True),
    L('MaxPooling2D', 'mp', ['dw'], pool_size=[2, 2], strides=[2, 2], padding='same'),
    L('AveragePooling2D', 'ap', ['relu'], pool_size=[3, 3], strides=[2, 2], padding='same'),
    L('Add', 'add', ['mp', 'ap']),
    L('Flatten', 'flat', ['add']),
    L('GlobalAveragePooling2D', 'gap', ['add']),
    L('Dense', 'dense1', ['flat'], units=5, activation='tanh', use_bias=True),
    L('Dense', 'dense2', ['gap'], units=5, activation='hard_sigmoid', use_bias=True),
    L('Concatenate', 'cat2', ['dense1', 'dense2'], axis=1),
    L('Rescaling', 'resc', ['cat2'], scale=0.5, offset=0.25),
    L('Dense', 'out_a', ['resc'], units=3, activation='softmax', use_bias=True),
    L('Reshape', 'resh', ['add'], target_shape=[4, 3, 8]),
    L('Conv2D', 'out_b', ['resh'], filters=2, kernel_size=[1, 1], strides=[1, 1], padding='valid', activation='linear', use_bias=True),
]
config = {'class_name': 'Functional', 'config': {'name': 'mixed', 'layers': layers,
          'input_layers': [['input_1', 0, 0]], 'output_layers': [['out_a', 0, 0], ['out_b', 0, 0]]}}
W = {
    'conv_a': {'kernel': [3, 3, 3, 4], 'bias': [4]},
    'sep': {'depthwise_kernel': [3, 2, 3, 2], 'pointwise_kernel': [1, 1, 6, 4], 'bias': [4]},
    'bn': {'gamma': [8], 'beta': [8], 'moving_mean': [8], 'moving_variance': [8]},
    'dw': {'depthwise_kernel': [2, 2, 8, 1], 'bias': [8]},
    'dense1': {'kernel': [96, 5], 'bias': [5]},
    'dense2': {'kernel': [8, 5], 'bias': [5]},
    'out_a': {'kernel': [10, 3], 'bias': [3]},
    'out_b': {'kernel': [1, 1, 8, 2], 'bias': [2]},
}
def value(n, v, shape):
    a = rng.standard_normal(shape).astype('float32') * 0.5
    return np.abs(a) + 0.5 if v == 'moving_variance' else a
keras_ref.write_h5(MIXED_FILE, config, W, value, attrs={'keras_version': '2.4.0'})
`;

test('a synthetic functional model (ZeroPadding2D, SeparableConv2D, Multiply, Concatenate, ReLU, TF-same pools, Flatten in NHWC order, Reshape, Rescaling, two outputs) matches', { skip: noH5py }, async (t) => {
  const file = path.join(tmpDir(t), 'mixed.h5');
  tg.manualSeed(4);
  const x = tg.randn([2, 9, 10, 3]);
  const expected = reference(file, [x], `MIXED_FILE = ${JSON.stringify(file)}\n${MIXED}`);
  const model = await tg.io.loadKerasModel(file, { inputLayout: 'NHWC' });
  const diff = checkModel(model, [x], expected, 1e-5, 'mixed');
  assert.ok(diff < 1e-5);
  const logits = logitsOf(model, 'dense1', [x], expected, 'mixed');
  console.log(`# mixed: ${model.layerNames.length} layers, max abs difference ${diff}, ${logits} (dense1 before tanh)`);
  assert.ok(model.resh && model.flat && model.sep.depthwise instanceof tg.nn.Conv2d);
  assert.strictEqual(model.bn.eps, 0.01);
  assert.ok(Math.abs(model.bn.momentum - 0.1) < 1e-9);
  // NCHW layout: 4-D output comes back NCHW too
  const [a, b] = await tg.io.loadKerasModel(file).then((m) => m.forward(nchw(x)));
  assertClose(assert, a, expected[0], 1e-5, 'mixed NCHW out_a');
  assertClose(assert, b.permute([0, 2, 3, 1]), expected[1], 1e-5, 'mixed NCHW out_b');
});

const SEQ = `
import h5py, json, numpy as np
rng = np.random.default_rng(8)
layers = [
    {'class_name': 'Embedding', 'config': {'name': 'emb', 'input_dim': 10, 'output_dim': 4, 'batch_input_shape': [None, 5]}},
    {'class_name': 'Flatten', 'config': {'name': 'flat'}},
    {'class_name': 'BatchNormalization', 'config': {'name': 'bn', 'axis': -1, 'epsilon': 0.001, 'momentum': 0.99, 'center': True, 'scale': False}},
    {'class_name': 'Dense', 'config': {'name': 'head', 'units': 2, 'activation': 'softsign', 'use_bias': False}},
]
W = {'emb': {'embeddings': [10, 4]}, 'bn': {'beta': [20], 'moving_mean': [20], 'moving_variance': [20]}, 'head': {'kernel': [20, 2]}}
def value(n, v, shape):
    a = rng.standard_normal(shape).astype('float32')
    return np.abs(a) + 0.5 if v == 'moving_variance' else a
keras_ref.write_h5(SEQ_FILE, {'class_name': 'Sequential', 'config': {'name': 's', 'layers': layers}}, W, value)
`;

test('a synthetic Sequential model (Embedding on float indices, BatchNormalization over features without gamma, Dense) matches', { skip: noH5py }, async (t) => {
  const file = path.join(tmpDir(t), 'seq.h5');
  const x = tg.tensor([[1, 2, 3, 4, 9], [0, 0, 7, 5, 2]]);
  const expected = reference(file, [x], `SEQ_FILE = ${JSON.stringify(file)}\n${SEQ}`);
  const model = await tg.io.loadKerasModel(file);
  const diff = checkModel(model, [x], expected, 1e-5, 'sequential');
  assert.ok(diff < 1e-5);
  console.log(`# sequential: ${model.layerNames.length} layers, max abs difference ${diff}`);
  assert.ok(model.bn instanceof tg.nn.BatchNorm1d);
  assert.strictEqual(model.bn.weight.requiresGrad, false, 'scale=False: gamma stays 1, untrained');
  assert.deepStrictEqual(Array.from(model.bn.weight.dataSync()), new Array(20).fill(1));
  assert.ok(model.emb instanceof tg.nn.Embedding);
});

test('every unsupported layer is listed in one ERR_UNSUPPORTED_LAYERS; bad options and weights-only files are clear errors', { skip: noH5py }, async (t) => {
  const file = path.join(tmpDir(t), 'bad.h5');
  const weightsOnly = path.join(tmpDir(t), 'weights.h5');
  runTorch(`
import h5py, json
layers = [
    {'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [None, 4, 4, 2]}},
    {'class_name': 'Conv2D', 'config': {'name': 'c', 'filters': 2, 'kernel_size': [1, 1], 'padding': 'valid', 'data_format': 'channels_first'}},
    {'class_name': 'Lambda', 'config': {'name': 'lam'}},
    {'class_name': 'SimpleRNN', 'config': {'name': 'rnn', 'units': 3}},
    {'class_name': 'Activation', 'config': {'name': 'act', 'activation': 'mish'}},
]
for path, cfg in ((${JSON.stringify(file)}, True), (${JSON.stringify(weightsOnly)}, False)):
    with h5py.File(path, 'w') as f:
        if cfg:
            f.attrs['model_config'] = json.dumps({'class_name': 'Sequential', 'config': {'name': 's', 'layers': layers}})
        mw = f.create_group('model_weights') if cfg else f
        mw.attrs['layer_names'] = [b'c']
        g = mw.create_group('c')
        g.attrs['weight_names'] = [b'c/kernel:0']
        g.create_dataset('c/kernel:0', data=[[[[1.0, 2.0], [3.0, 4.0]]]])
`);
  await settleTensors();
  const before = tg.memory().tensors;
  await assert.rejects(tg.io.loadKerasModel(file), (e) => {
    assert.strictEqual(e.code, 'ERR_UNSUPPORTED_LAYERS');
    assert.match(e.message, /4 unsupported layer\(s\)/);
    for (const re of [/c \(Conv2D\): data_format "channels_first"/, /lam \(Lambda\)/, /rnn \(SimpleRNN\)/, /act \(Activation\): activation "mish"/]) assert.match(e.message, re);
    return true;
  });
  assert.strictEqual(tg.memory().tensors, before, 'the weights and the layers built so far are disposed');
  await assert.rejects(tg.io.loadKerasModel(weightsOnly), { code: 'ERR_KERAS_MODEL', message: /no model_config/ });
  await assert.rejects(tg.io.loadKerasModel(RESNET, { inputLayout: 'HWC' }), TypeError);
  await assert.rejects(tg.io.loadTfjsModel(ABALONE, null), TypeError);
  const model = await tg.io.loadTfjsModel(ABALONE);
  assert.throws(() => model.forward(), /expected 1 input/);
  assert.throws(() => model.forward('x'), /input 0 is not a Tensor/);
});

const RNN = `
import h5py, json, numpy as np
rng = np.random.default_rng(9)
layers = [
    {'class_name': 'InputLayer', 'config': {'name': 'seq_in', 'batch_input_shape': [None, 6, 3]}},
    {'class_name': 'LSTM', 'config': {'name': 'lstm', 'units': 4, 'activation': 'tanh', 'recurrent_activation': 'sigmoid', 'return_sequences': True, 'go_backwards': False}},
    {'class_name': 'GRU', 'config': {'name': 'gru', 'units': 5, 'activation': 'tanh', 'recurrent_activation': 'sigmoid', 'reset_after': True, 'return_sequences': False, 'go_backwards': True}},
    {'class_name': 'Dense', 'config': {'name': 'head', 'units': 2, 'activation': 'linear'}},
]
W = {'lstm': {'lstm_cell/kernel': [3, 16], 'lstm_cell/recurrent_kernel': [4, 16], 'lstm_cell/bias': [16]},
     'gru': {'gru_cell/kernel': [4, 15], 'gru_cell/recurrent_kernel': [5, 15], 'gru_cell/bias': [2, 15]},
     'head': {'kernel': [5, 2], 'bias': [2]}}
keras_ref.write_h5(RNN_FILE, {'class_name': 'Sequential', 'config': {'name': 's', 'layers': layers}}, W,
                   lambda n, v, shape: rng.standard_normal(shape).astype('float32') * 0.5)
`;

test('a synthetic Keras HDF5 model with LSTM (return_sequences) and GRU (reset_after, go_backwards) cells matches', { skip: noH5py }, async (t) => {
  const file = path.join(tmpDir(t), 'rnn.h5');
  tg.manualSeed(10);
  const x = tg.randn([3, 6, 3]);
  const expected = reference(file, [x], `RNN_FILE = ${JSON.stringify(file)}\n${RNN}`);
  const model = await tg.io.loadKerasModel(file);
  const diff = checkModel(model, [x], expected, 1e-5, 'rnn');
  assert.ok(diff < 1e-5);
  console.log(`# lstm_gru: ${model.layerNames.length} layers, max abs difference ${diff}`);
  assert.ok(Object.keys(model.stateDict()).includes('gru.gru_cell.bias'));
  assert.deepStrictEqual(model.gru.gru_cell.bias.shape, [2, 15]);
});

const SHARED = `
import h5py, json, numpy as np
rng = np.random.default_rng(11)
def L(cls, name, calls, **cfg):
    cfg['name'] = name
    return {'class_name': cls, 'config': cfg, 'name': name, 'inbound_nodes': [[[i, n, 0, {}] for i, n in call] for call in calls]}
layers = [
    L('InputLayer', 'a', [], batch_input_shape=[None, 4]),
    L('InputLayer', 'b', [], batch_input_shape=[None, 4]),
    L('Dense', 'shared', [[('a', 0)], [('b', 0)]], units=3, activation='selu'),
    L('Multiply', 'prod', [[('shared', 0), ('shared', 1)]]),
    L('Concatenate', 'both', [[('shared', 1), ('prod', 0), ('shared', 0)]], axis=-1),
    L('Activation', 'out', [[('both', 0)]], activation='softplus'),
]
config = {'class_name': 'Model', 'config': {'name': 'm', 'layers': layers, 'input_layers': [['a', 0, 0], ['b', 0, 0]], 'output_layers': [['out', 0, 0]]}}
with h5py.File(SHARED_FILE, 'w') as f:
    f.attrs['model_config'] = json.dumps(config)
    mw = f.create_group('model_weights')
    mw.attrs['layer_names'] = [b'shared']
    g = mw.create_group('shared')
    g.attrs['weight_names'] = [b'shared/kernel:0', b'shared/bias:0']
    g.create_dataset('shared/kernel:0', data=rng.standard_normal([4, 3]).astype('float32'))
    g.create_dataset('shared/bias:0', data=rng.standard_normal([3]).astype('float32'))
`;

test('a layer called twice shares its weights; two inputs are taken in Keras order; forward leaks no tensors', { skip: noH5py }, async (t) => {
  const file = path.join(tmpDir(t), 'shared.h5');
  tg.manualSeed(12);
  const a = tg.randn([2, 4]);
  const b = tg.randn([2, 4]);
  const expected = reference(file, [a, b], `SHARED_FILE = ${JSON.stringify(file)}\n${SHARED}`);
  const model = await tg.io.loadKerasModel(file);
  const diff = checkModel(model, [a, b], expected, 1e-5, 'shared');
  assert.ok(diff < 1e-5);
  assert.deepStrictEqual(Object.keys(model.stateDict()), ['shared.weight', 'shared.bias']);
  await settleTensors();
  const before = tg.memory().tensors;
  const y = model.forward(a, b);
  assert.strictEqual(tg.memory().tensors, before + 1, 'only the output stays');
  y.dispose();
});

test('graphs the builder cannot follow are ERR_KERAS_MODEL naming the problem', { skip: noH5py }, async (t) => {
  const dir = tmpDir(t);
  const write = (name, config) => {
    const file = path.join(dir, name);
    runTorch(`
import h5py
with h5py.File(${JSON.stringify(file)}, 'w') as f:
    f.attrs['model_config'] = ${JSON.stringify(JSON.stringify(config))}
    f.create_group('model_weights').attrs['layer_names'] = [b'x']
    g = f['model_weights'].create_group('x')
    g.attrs['weight_names'] = [b'x/kernel:0']
    g.create_dataset('x/kernel:0', data=[[1.0]])
`);
    return file;
  };
  const inp = { class_name: 'InputLayer', config: { name: 'i', batch_input_shape: [null, 1] }, inbound_nodes: [] };
  const dense = (inbound) => ({ class_name: 'Dense', config: { name: 'x', units: 1, use_bias: false }, inbound_nodes: inbound });
  const cases = [
    [{ class_name: 'Functional', config: { name: 'm', layers: [inp, dense([[['nope', 0, 0, {}]]])], input_layers: [['i', 0, 0]], output_layers: [['x', 0, 0]] } }, /takes 'nope@0', which no layer makes/],
    [{ class_name: 'Functional', config: { name: 'm', layers: [inp, dense([[['x', 0, 0, {}]]])], input_layers: [['i', 0, 0]], output_layers: [['x', 0, 0]] } }, /cycle/],
    [{ class_name: 'Functional', config: { name: 'm', layers: [inp, dense([{ args: [] }])], input_layers: [['i', 0, 0]], output_layers: [['x', 0, 0]] } }, /Keras 3/],
    [{ class_name: 'Sequential', config: { name: 's', layers: [dense([]), dense([])] } }, /two layers are named 'x'/],
    [{ class_name: 'Dense', config: { name: 'x' } }, /not Sequential or a functional Model/],
  ];
  for (const [i, [config, re]] of cases.entries()) {
    const file = write(`bad${i}.h5`, config);
    await settleTensors();
    const before = tg.memory().tensors;
    await assert.rejects(tg.io.loadKerasModel(file), (e) => {
      assert.strictEqual(e.code, 'ERR_KERAS_MODEL', e.message);
      assert.match(e.message, re);
      assert.ok(e.message.includes(file));
      return true;
    });
    assert.strictEqual(tg.memory().tensors, before, `case ${i} disposes what it loaded`);
  }
});

const CONV1D = `
import h5py, json, numpy as np
rng = np.random.default_rng(13)
layers = [
    {'class_name': 'InputLayer', 'config': {'name': 'in', 'batch_input_shape': [None, 13, 4]}},
    {'class_name': 'Conv1D', 'config': {'name': 'c1', 'filters': 6, 'kernel_size': [3], 'strides': [2], 'padding': 'same', 'activation': 'relu', 'groups': 2}},
    {'class_name': 'BatchNormalization', 'config': {'name': 'bn', 'axis': [2], 'epsilon': 0.001}},
    {'class_name': 'Conv1D', 'config': {'name': 'c2', 'filters': 3, 'kernel_size': [2], 'strides': [1], 'dilation_rate': [2], 'padding': 'valid', 'activation': 'gelu'}},
    {'class_name': 'GlobalMaxPooling1D', 'config': {'name': 'gmp'}},
    {'class_name': 'Dense', 'config': {'name': 'head', 'units': 2, 'activation': 'sigmoid'}},
]
W = {'c1': {'kernel': [3, 2, 6], 'bias': [6]}, 'bn': {'gamma': [6], 'beta': [6], 'moving_mean': [6], 'moving_variance': [6]},
     'c2': {'kernel': [2, 6, 3], 'bias': [3]}, 'head': {'kernel': [3, 2], 'bias': [2]}}
def value(n, v, shape):
    a = rng.standard_normal(shape).astype('float32')
    return np.abs(a) + 0.5 if v == 'moving_variance' else a
keras_ref.write_h5(CONV1D_FILE, {'class_name': 'Sequential', 'config': {'name': 's', 'layers': layers}}, W, value)
`;

test('a synthetic model of Conv1D (grouped, TF-same stride 2, dilated), BatchNormalization over (N, L, C), GlobalMaxPooling1D matches', { skip: noH5py }, async (t) => {
  const file = path.join(tmpDir(t), 'conv1d.h5');
  tg.manualSeed(14);
  const x = tg.randn([3, 13, 4]);
  const expected = reference(file, [x], `CONV1D_FILE = ${JSON.stringify(file)}\n${CONV1D}`);
  const model = await tg.io.loadKerasModel(file);
  const diff = checkModel(model, [x], expected, 1e-5, 'conv1d');
  assert.ok(diff < 1e-5);
  console.log(`# conv1d: ${model.layerNames.length} layers, max abs difference ${diff}`);
  assert.ok(model.c1 instanceof tg.nn.Conv1d);
  assert.strictEqual(model.c1.groups, 2);
  assert.ok(model.bn instanceof tg.nn.BatchNorm1d);
});
