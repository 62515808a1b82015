'use strict';
// torchvision's mobile architectures (mobilenet_v2, mobilenet_v3_small/large, efficientnet_b0) against torchvision
// itself: the same state-dict names and shapes in the same order, strict loading of Python's weights, the same eval
// outputs, and the same gradients and running statistics after a training-mode step.
const test = require('node:test');
const assert = require('node:assert');
const { tg, runTorch, assertClose, avoidOneDnnBackwardNaN } = require('./helpers/torch');
const { torchvisionSkip } = require('./helpers/torchvision');
const { stateDictFromPy } = require('./helpers/nn');

avoidOneDnnBackwardNaN();  // LibTorch 2.6's oneDNN: NaN convolution gradients under load (helpers/torch.js)
// One thread, as the Python side (runTorch sets OMP_NUM_THREADS=1): with two, reductions sum in another order and
// 17 training-mode BatchNorms over a batch of 2 amplify that rounding to ~2e-3 in MobileNetV2's stem gradient;
// with one the gradients agree to the last bit on LibTorch 1.13.
tg.setNumThreads(1);

const noVision = torchvisionSkip();

const shapes = (m) => Object.entries(m.stateDict()).map(([k, v]) => [k, v.shape]);

// Each model: our builder and options, torchvision's call, a few parameters whose gradients are compared, variants
// whose state-dict names and shapes are compared, and one BatchNorm whose running mean is checked after the step.
const CASES = [
  {
    name: 'mobilenet_v2', ours: { numClasses: 10 }, py: 'mobilenet_v2(weights=None, num_classes=10)', params: 3504872 - 1281000 + 12810,
    grads: ['features.0.0.weight', 'features.1.conv.0.1.weight', 'features.17.conv.2.weight', 'features.18.1.bias', 'classifier.1.weight'],
    bn: 'features.0.1', variants: [[{ widthMult: 0.5, numClasses: 7 }, 'mobilenet_v2(weights=None, width_mult=0.5, num_classes=7)']],
  },
  {
    name: 'mobilenet_v3_small', ours: { numClasses: 10 }, py: 'mobilenet_v3_small(weights=None, num_classes=10)', params: 2542856 - 1025000 + 10250,
    grads: ['features.0.0.weight', 'features.1.block.1.fc1.weight', 'features.4.block.2.fc2.bias', 'features.12.1.weight', 'classifier.0.weight', 'classifier.3.bias'],
    bn: 'features.0.1', variants: [[{ reducedTail: true, widthMult: 0.75 }, 'mobilenet_v3_small(weights=None, reduced_tail=True, width_mult=0.75)']],
  },
  {
    name: 'mobilenet_v3_large', ours: { numClasses: 10 }, py: 'mobilenet_v3_large(weights=None, num_classes=10)', params: 5483032 - 1281000 + 12810,
    grads: ['features.0.0.weight', 'features.4.block.2.fc1.weight', 'features.13.block.1.0.weight', 'features.16.0.weight', 'classifier.3.weight'],
    bn: 'features.16.1', variants: [[{ reducedTail: true, dilated: true }, 'mobilenet_v3_large(weights=None, reduced_tail=True, dilated=True)']],
  },
  {
    name: 'efficientnet_b0', ours: { numClasses: 10 }, py: 'efficientnet_b0(weights=None, num_classes=10)', params: 5288548 - 1281000 + 12810,
    grads: ['features.0.0.weight', 'features.1.0.block.1.fc1.weight', 'features.6.3.block.3.1.weight', 'features.8.1.bias', 'classifier.1.weight'],
    bn: 'features.1.0.block.0.1', variants: [[{}, 'efficientnet_b0(weights=None)'], ['b1', 'efficientnet_b1(weights=None)'], ['b3', 'efficientnet_b3(weights=None, num_classes=4)']],
  },
];

for (const c of CASES) {
  test(`${c.name} loads torchvision's state dict strictly by name and gives the same eval outputs and training gradients`, { skip: noVision }, () => {
    tg.manualSeed(11);
    const x = tg.randn([2, 3, 128, 128]);
    const g = tg.randn([2, 10]);
    const ours = tg.nn.models[c.name]({ ...c.ours, dropout: 0, ...(c.name.startsWith('efficientnet') ? { stochasticDepthProb: 0 } : {}) });
    // A string names another builder of the family (efficientnet_b1 ...), with the options torchvision's call gives.
    const variants = c.variants.map(([o, p]) => shapes(typeof o === 'string' ? tg.nn.models[`efficientnet_${o}`]({ numClasses: /num_classes=(\d+)/.exec(p)?.[1] * 1 || 1000 }) : tg.nn.models[c.name](o)));
    const py = runTorch(
      `
import json
import torch.nn as nn
from torchvision import models
torch.manual_seed(0)
net = models.${c.py}
# Non-trivial statistics and affine parameters, as a trained network has.
with torch.no_grad():
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2); m.running_var.uniform_(0.5, 1.5)
            m.weight.uniform_(0.5, 1.5); m.bias.uniform_(-0.2, 0.2); m.num_batches_tracked.fill_(3)
for k, v in net.state_dict().items(): OUT['sd.' + k] = v.clone()
OUT['params'] = torch.tensor(sum(p.numel() for p in net.parameters()))
net.eval()
with torch.no_grad(): OUT['y'] = net(T['x'])
# Training mode without its randomness (dropout, stochastic depth), so that both sides compute the same thing.
for m in net.modules():
    if hasattr(m, 'p') and isinstance(m.p, float): m.p = 0.0
net.train()
(net(T['x']) * T['g']).sum().backward()
for n in ${JSON.stringify(c.grads)}: OUT['grad.' + n] = net.get_parameter(n).grad
OUT['running_mean'] = net.get_submodule('${c.bn}').running_mean
ours = json.loads(${JSON.stringify(JSON.stringify(variants))})
theirs = [[[k, list(v.shape)] for k, v in eval('models.' + call).state_dict().items()] for call in ${JSON.stringify(c.variants.map(([, p]) => p))}]
OUT['variants_equal'] = torch.tensor([int(a == b) for a, b in zip(ours, theirs)])
`,
      { x, g },
    );
    const sd = stateDictFromPy(py, 'sd.');
    assert.deepStrictEqual(shapes(ours), Object.entries(sd).map(([k, v]) => [k, v.shape]), 'same names and shapes in the same order');
    const nParams = ours.parameters().reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
    assert.strictEqual(nParams, Number(py.params.data[0]), 'parameter count');
    assert.strictEqual(nParams, c.params);
    const report = ours.loadStateDict(sd);
    assert.deepStrictEqual([report.missing, report.unexpected, report.mismatched], [[], [], []]);
    assert.strictEqual(report.loaded.length, Object.keys(sd).length);
    assert.deepStrictEqual(Array.from(py.variants_equal.data, Number), c.variants.map(() => 1), 'variants: same names and shapes');
    ours.eval();
    const y = tg.noGrad(() => ours.forward(x));
    assertClose(assert, y, py.y, 1e-5, `${c.name} eval output`);
    ours.train();
    ours.forward(x).mul(g).sum().backward();
    for (const n of c.grads) assertClose(assert, ours.getParameter(n).grad, py[`grad.${n}`], 1e-4, `gradient of ${n}`);
    const bn = ours.get(c.bn);
    assertClose(assert, bn.running_mean, py.running_mean, 1e-5, `${c.bn}.running_mean after a training step (momentum ${bn.momentum})`);
    assert.strictEqual(bn.num_batches_tracked.item(), 4);
  });
}

test('the mobile models are chains for reuse and feature caching: features, pool, flatten, classifier; their layer groups cover every parameter once', async () => {
  tg.manualSeed(12);
  const x = tg.randn([4, 3, 64, 64]);
  const y = tg.randint(0, 3, [4]);
  for (const [name, cut, groups] of [['mobilenet_v2', 'features.14', 10], ['mobilenet_v3_small', 'flatten', 8], ['efficientnet_b0', 'flatten', 10]]) {
    const m = tg.nn.models[name]({ numClasses: 3 }).eval();
    assert.deepStrictEqual(m.chainLayers().map(([n]) => n), ['features', 'avgpool', 'flatten', 'classifier'], `${name} chain`);
    const feats = tg.noGrad(() => m.forwardFeatures(x));
    // reuse up to 'flatten' with a new head computes forwardFeatures, then the head.
    const head = new tg.nn.Linear(feats.shape[1], 5);
    const reused = tg.transfer.reuse(m, { upTo: 'flatten', freeze: true, head: { fc: head } }).eval();
    assert.ok(tg.noGrad(() => reused.forward(x)).allclose(tg.noGrad(() => head.forward(feats)), 1e-5, 1e-6), `${name}: reuse`);
    // Layer groups: every parameter in exactly one; freezeTo(-1) trains the classifier only.
    assert.strictEqual(m.layerGroups.length, groups, `${name}: layer groups`);
    const grouped = m.layerGroupParameters().flat();
    assert.strictEqual(grouped.length, m.parameters().length);
    assert.strictEqual(new Set(grouped).size, grouped.length);
    m.freezeTo(-1);
    assert.deepStrictEqual([...new Set(m.namedParameters().filter(([, p]) => p.requiresGrad).map(([n]) => n.split('.')[0]))], ['classifier']);
    // A feature cache cut inside `features` or after the pooling holds what the layers below compute. EfficientNet's
    // stochastic depth makes its frozen part random in training mode: the cache refuses it unless told to keep one draw.
    if (name === 'efficientnet_b0') {
      await assert.rejects(tg.transfer.cacheFeatures(m, [x, y], { upTo: cut, verbose: 0 }), (e) => e.code === 'ERR_CACHE_RANDOM' && /stochastic_depth' is StochasticDepth/.test(e.message));
    }
    const cache = await tg.transfer.cacheFeatures(m, [x, y], { upTo: cut, verbose: 0, allowRandom: name === 'efficientnet_b0' });
    const cached = cache.examples.getBatch([0, 1, 2, 3])[0];
    const direct = cut === 'flatten' ? feats : tg.noGrad(() => {
      let h = x;
      for (let i = 0; i <= 14; i++) h = m.features.at(i).forward(h);
      return h;
    });
    assert.ok(cached.allclose(direct, 1e-5, 1e-6), `${name}: cached features at '${cut}'`);
    cache.dispose();
  }
});

test('MobileNetV3 and EfficientNet-B5 use BatchNorm eps 0.001 and momentum 0.01, MobileNetV2 and EfficientNet-B0 PyTorch\'s defaults, as torchvision', () => {
  const bn = (m) => m.modules().find((l) => l instanceof tg.nn.BatchNorm2d);
  const v3 = bn(tg.nn.models.mobilenet_v3_small());
  assert.deepStrictEqual([v3.eps, v3.momentum], [0.001, 0.01]);
  const b5 = bn(tg.nn.models.efficientnet_b5({ numClasses: 2 }));
  assert.deepStrictEqual([b5.eps, b5.momentum], [0.001, 0.01], 'efficientnet_b5');
  for (const f of ['mobilenet_v2', 'efficientnet_b0']) {
    const b = bn(tg.nn.models[f]());
    assert.deepStrictEqual([b.eps, b.momentum], [1e-5, 0.1], f);
  }
  const custom = tg.nn.models.mobilenet_v2({ normLayer: (c) => new tg.nn.BatchNorm2d(c, { eps: 1e-3 }) });
  assert.strictEqual(bn(custom).eps, 1e-3);
});

test('bad options and inputs of the mobile models are clear JavaScript errors', () => {
  const { models } = tg.nn;
  assert.throws(() => models.mobilenet_v2({ widthMult: 0 }), /MobileNetV2: widthMult must be greater than 0/);
  assert.throws(() => models.mobilenet_v2({ numClasses: 1.5 }), TypeError);
  assert.throws(() => models.mobilenet_v2({ invertedResidualSetting: [[1, 16]] }), /invertedResidualSetting must be a non-empty list of \[t, c, n, s\] rows/);
  assert.throws(() => models.mobilenet_v3_large({ dropout: 2 }), /MobileNetV3: dropout must be a number in \[0, 1\]/);
  assert.throws(() => models.mobilenet_v3_small({ widthMult: 'wide' }), RangeError);
  assert.throws(() => models.efficientnet_b0({ stochasticDepthProb: -0.1 }), /EfficientNet: stochasticDepthProb/);
  const m = models.mobilenet_v3_small({ numClasses: 2 });
  assert.throws(() => m.forward(tg.randn([1, 1, 32, 32])), /MobileNetV3: expected input of shape \(N, 3, H, W\), got \[1, 1, 32, 32\]/);
  assert.throws(() => m.forward('image'), /MobileNetV3: expected a Tensor of images/);
  // Surgery on the stem (grayscale input): the check follows the new convolution.
  m.replace('features.0.0', tg.transfer.adaptInputChannels(m.get('features.0.0'), 1));
  assert.deepStrictEqual(tg.noGrad(() => m.eval().forward(tg.randn([1, 1, 32, 32]))).shape, [1, 2]);
  assert.throws(() => m.forward(tg.randn([1, 3, 32, 32])), /expected input of shape \(N, 1, H, W\)/);
  // resetClassifier finds the last Linear of `classifier`.
  const fresh = tg.transfer.resetClassifier(m, 5);
  assert.strictEqual(m.get('classifier.3'), fresh);
});
