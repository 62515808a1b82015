'use strict';
// resetClassifier and adaptInputChannels: a pretrained model adapted to another number of classes or input channels.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { CUDA_SKIP } = require('./helpers/cuda');

test('resetClassifier replaces fc, classifier or outputs by a fresh Linear(inFeatures, numClasses)', () => {
  const r = new tg.nn.models.ResNet([1, 1, 1, 1], { numClasses: 7 });
  const old = r.fc;
  const fc = tg.transfer.resetClassifier(r, 10);
  assert.strictEqual(r.fc, fc);
  assert.notStrictEqual(fc, old);
  assert.strictEqual(fc.inFeatures, 512);
  assert.strictEqual(fc.outFeatures, 10);
  assert.strictEqual(r.numClasses, 10);
  r.eval();
  assert.deepStrictEqual(tg.noGrad(() => r.forward(tg.randn([1, 3, 32, 32]))).shape, [1, 10]);

  const mlp = new tg.nn.Sequential({ hidden1: new tg.nn.Linear(4, 6), act: new tg.nn.ReLU(), outputs: new tg.nn.Linear(6, 5, { bias: false }) });
  const out = tg.transfer.resetClassifier(mlp, 2);
  assert.strictEqual(mlp.get('outputs'), out);
  assert.strictEqual(out.bias, null);
  assert.deepStrictEqual(out.weight.shape, [2, 6]);

  const vggLike = new tg.nn.Sequential({
    features: new tg.nn.Sequential([new tg.nn.Linear(4, 8)]),
    classifier: new tg.nn.Sequential([new tg.nn.Linear(8, 8), new tg.nn.ReLU(), new tg.nn.Linear(8, 1000)]),
    extra: new tg.nn.Linear(3, 3),
  });
  assert.strictEqual(tg.transfer.findClassifier(vggLike), 'classifier.2');
  tg.transfer.resetClassifier(vggLike, 3);
  assert.deepStrictEqual(vggLike.get('classifier.2').weight.shape, [3, 8]);
});

test('resetClassifier falls back to the last Linear found, and keeps dtype', () => {
  const net = new tg.nn.Sequential([new tg.nn.Linear(4, 6, { dtype: 'float64' }), new tg.nn.ReLU(), new tg.nn.Linear(6, 9, { dtype: 'float64' }), new tg.nn.Softmax(1)]);
  const lin = tg.transfer.resetClassifier(net, 4);
  assert.strictEqual(net.at(2), lin);
  assert.strictEqual(lin.weight.dtype, 'float64');
  assert.strictEqual(lin.weight.requiresGrad, true);
});

test('resetClassifier rejects an invalid numClasses and a model without Linear', () => {
  const net = new tg.nn.Sequential({ outputs: new tg.nn.Linear(4, 3) });
  for (const bad of [0, -1, 2.5, NaN, '3', undefined]) assert.throws(() => tg.transfer.resetClassifier(net, bad), /numClasses must be a positive integer/);
  assert.throws(() => tg.transfer.resetClassifier(new tg.nn.Sequential([new tg.nn.ReLU()]), 3), /has no Linear layer/);
  assert.throws(() => tg.transfer.resetClassifier(net, 3, { path: 'nope' }), /no submodule 'nope'/);
  assert.strictEqual(net.get('outputs').outFeatures, 3);
});

function rgbConv(options = {}) {
  tg.manualSeed(5);
  return new tg.nn.Conv2d(3, 4, 3, { stride: 2, padding: 1, ...options });
}

test('adaptInputChannels to 1 channel: a grayscale image gives what the original gives for it replicated to RGB', () => {
  const conv = rgbConv();
  const gray = tg.randn([2, 1, 9, 9]);
  const adapted = tg.transfer.adaptInputChannels(conv, 1);
  assert.ok(adapted instanceof tg.nn.Conv2d);
  assert.strictEqual(adapted.inChannels, 1);
  assert.deepStrictEqual([adapted.stride, adapted.padding, adapted.kernelSize], [conv.stride, conv.padding, conv.kernelSize]);
  assert.ok(adapted.bias.equal(conv.bias));
  tg.noGrad(() => {
    const ref = conv.forward(gray.repeat([1, 3, 1, 1]));
    const got = adapted.forward(gray);
    assert.deepStrictEqual(got.shape, ref.shape);
    assert.ok(got.allclose(ref, 1e-5, 1e-6));
  });
  assert.strictEqual(conv.inChannels, 3);
});

test('adaptInputChannels to n > 1 repeats the filters cyclically scaled by 3/n, keeping the scale of activations', () => {
  const conv = rgbConv({ bias: false });
  const x = tg.randn([1, 3, 8, 8]);
  for (const n of [2, 4, 6]) {
    const adapted = tg.transfer.adaptInputChannels(conv, n);
    assert.strictEqual(adapted.bias, null);
    const idx = tg.tensor(Array.from({ length: n }, (_, i) => i % 3), { dtype: 'int64' });
    tg.noGrad(() => {
      const expected = conv.weight.indexSelect(1, idx).mul(3 / n);
      assert.ok(adapted.weight.allclose(expected, 1e-6, 0));
    });
  }
  // An input whose 6 channels repeat the RGB image twice gives the original's output.
  const six = tg.transfer.adaptInputChannels(conv, 6);
  tg.noGrad(() => assert.ok(six.forward(x.repeat([1, 2, 1, 1])).allclose(conv.forward(x), 1e-5, 1e-6)));
});

test('adaptInputChannels rejects n < 1, a non-integer n, a grouped convolution and a non-Conv2d', () => {
  const conv = rgbConv();
  for (const n of [0, -2, 1.5, '1']) assert.throws(() => tg.transfer.adaptInputChannels(conv, n), /positive integer/);
  const grouped = new tg.nn.Conv2d(3, 6, 3, { groups: 3 });
  assert.throws(() => tg.transfer.adaptInputChannels(grouped, 1), /groups=3/);
  assert.throws(() => tg.transfer.adaptInputChannels(new tg.nn.Linear(3, 3), 1), (e) => e.code === 'ERR_MODULE_EDIT' && /Linear has no Conv2d/.test(e.message));
});

test('adaptInputChannels drops into a ResNet for grayscale input', () => {
  const r = new tg.nn.models.ResNet([1, 1, 1, 1], { numClasses: 2 }).eval();
  const gray = tg.randn([1, 1, 32, 32]);
  const ref = tg.noGrad(() => r.forward(gray.repeat([1, 3, 1, 1])));
  r.replace('conv1', tg.transfer.adaptInputChannels(r.conv1, 1));
  tg.noGrad(() => assert.ok(r.forward(gray).allclose(ref, 1e-4, 1e-5)));
  assert.throws(() => r.forward(tg.randn([1, 3, 32, 32])), /expected input of shape \(N, 1, H, W\)/);
});

test('adaptInputChannels and resetClassifier keep a CUDA model on CUDA', { skip: CUDA_SKIP }, () => {
  const conv = rgbConv({ device: 'cuda' });
  const one = tg.transfer.adaptInputChannels(conv, 1);
  const five = tg.transfer.adaptInputChannels(conv, 5);
  assert.strictEqual(one.weight.device, conv.weight.device);
  assert.strictEqual(five.weight.device, conv.weight.device);
  const net = new tg.nn.Sequential({ outputs: new tg.nn.Linear(4, 3, { device: 'cuda' }) });
  assert.strictEqual(tg.transfer.resetClassifier(net, 2).weight.device, net.get('outputs').weight.device);
});

test('adaptInputChannels given a model adapts its first Conv2d in place and returns it; a model without one is ERR_MODULE_EDIT', () => {
  const r = tg.nn.models.resnet18({ numClasses: 4 });
  const old = r.get('conv1');
  const conv = tg.transfer.adaptInputChannels(r, 1);
  assert.strictEqual(tg.transfer.findStem(r), 'conv1');
  assert.strictEqual(r.get('conv1'), conv);
  assert.notStrictEqual(conv, old);
  assert.strictEqual(conv.inChannels, 1);
  assert.ok(conv.weight.allclose(old.weight.sum(1, true)));
  assert.deepStrictEqual(r.eval().call(tg.rand([1, 1, 32, 32])).shape, [1, 4]);
  const nested = new tg.nn.Sequential({ body: new tg.nn.Sequential([new tg.nn.Conv2d(3, 2, 3), new tg.nn.ReLU()]) });
  tg.transfer.adaptInputChannels(nested, 2);
  assert.strictEqual(nested.get('body.0').inChannels, 2);
  assert.throws(() => tg.transfer.adaptInputChannels(new tg.nn.Sequential([new tg.nn.Linear(2, 2)]), 1), (e) => e.code === 'ERR_MODULE_EDIT' && /no Conv2d/.test(e.message));
  assert.throws(() => tg.transfer.adaptInputChannels({}, 1), /expected a tg.nn.Conv2d or a model/);
});

test('resetClassifier updates the model\'s numClasses for its own head only, and finds a ViT-style heads.head', () => {
  const r = tg.nn.models.resnet18({ numClasses: 4 });
  tg.transfer.resetClassifier(r, 7);
  assert.strictEqual(r.numClasses, 7);
  const heads = new tg.nn.Sequential({ body: new tg.nn.Linear(4, 8), heads: new tg.nn.Sequential({ head: new tg.nn.Linear(8, 10) }) });
  tg.transfer.resetClassifier(heads, 3);
  assert.strictEqual(tg.transfer.findClassifier(heads), 'heads.head');
  assert.strictEqual(heads.get('heads.head').outFeatures, 3);
});
