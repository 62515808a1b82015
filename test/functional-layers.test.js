'use strict';
// tg.nn.functional layers and activations against torch.nn.functional; dropout by its statistics.
const test = require('node:test');
const assert = require('node:assert');
const { goldenSuite, make, tg } = require('./helpers/golden');

const F = tg.nn.functional;
const x = (shape, maker = make.randn) => () => ({ x: maker(shape) });
const img = () => ({ x: make.randn([2, 3, 7, 6]) });

const layers = [
  { name: 'linear with bias', inputs: () => ({ x: make.randn([4, 5]), w: make.randn([3, 5]), b: make.randn([3]) }), js: (t) => F.linear(t.x, t.w, t.b), py: 'F.linear(x, w, b)' },
  { name: 'linear without bias on 3-D input', inputs: () => ({ x: make.randn([2, 4, 5]), w: make.randn([3, 5]) }), js: (t) => F.linear(t.x, t.w), py: 'F.linear(x, w)' },
  { name: 'conv1d', inputs: () => ({ x: make.randn([2, 3, 10]), w: make.randn([4, 3, 3]), b: make.randn([4]) }), js: (t) => F.conv1d(t.x, t.w, t.b), py: 'F.conv1d(x, w, b)', cudaTol: 5e-3 },
  { name: 'conv1d with stride, padding, dilation', inputs: () => ({ x: make.randn([2, 3, 12]), w: make.randn([4, 3, 3]) }), js: (t) => F.conv1d(t.x, t.w, null, { stride: 2, padding: 2, dilation: 2 }), py: 'F.conv1d(x, w, None, stride=2, padding=2, dilation=2)', cudaTol: 5e-3 },
  { name: 'conv1d with groups and same padding', inputs: () => ({ x: make.randn([1, 4, 9]), w: make.randn([4, 2, 3]) }), js: (t) => F.conv1d(t.x, t.w, null, { padding: 'same', groups: 2 }), py: "F.conv1d(x, w, None, padding='same', groups=2)", cudaTol: 5e-3 },
  { name: 'conv2d', inputs: () => ({ x: make.randn([2, 3, 7, 6]), w: make.randn([5, 3, 3, 3]), b: make.randn([5]) }), js: (t) => F.conv2d(t.x, t.w, t.b), py: 'F.conv2d(x, w, b)', cudaTol: 5e-3 },
  { name: 'conv2d with stride and padding pairs', inputs: () => ({ x: make.randn([1, 2, 8, 7]), w: make.randn([3, 2, 3, 2]) }), js: (t) => F.conv2d(t.x, t.w, null, { stride: [2, 1], padding: [1, 0], dilation: [1, 2] }), py: 'F.conv2d(x, w, None, stride=(2, 1), padding=(1, 0), dilation=(1, 2))', cudaTol: 5e-3 },
  { name: 'conv2d depthwise with valid padding', inputs: () => ({ x: make.randn([1, 4, 6, 6]), w: make.randn([4, 1, 3, 3]), b: make.randn([4]) }), js: (t) => F.conv2d(t.x, t.w, t.b, { padding: 'valid', groups: 4 }), py: "F.conv2d(x, w, b, padding='valid', groups=4)", cudaTol: 5e-3 },
  { name: 'conv2d on unbatched input', inputs: () => ({ x: make.randn([3, 5, 5]), w: make.randn([2, 3, 3, 3]) }), js: (t) => F.conv2d(t.x, t.w), py: 'F.conv2d(x, w)', cudaTol: 5e-3 },
  { name: 'maxPool2d', inputs: img, js: (t) => F.maxPool2d(t.x, 2), py: 'F.max_pool2d(x, 2)' },
  { name: 'maxPool2d with stride, padding, ceil mode', inputs: img, js: (t) => F.maxPool2d(t.x, [3, 2], { stride: [2, 1], padding: [1, 0], ceilMode: true }), py: 'F.max_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True)' },
  { name: 'maxPool2d with dilation', inputs: img, js: (t) => F.maxPool2d(t.x, 2, { stride: 1, dilation: 2 }), py: 'F.max_pool2d(x, 2, stride=1, dilation=2)' },
  { name: 'avgPool2d', inputs: img, js: (t) => F.avgPool2d(t.x, 2), py: 'F.avg_pool2d(x, 2)' },
  { name: 'avgPool2d with padding excluding pads', inputs: img, js: (t) => F.avgPool2d(t.x, 3, { stride: 2, padding: 1, countIncludePad: false }), py: 'F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)' },
  { name: 'avgPool2d with ceil mode', inputs: img, js: (t) => F.avgPool2d(t.x, [2, 3], { ceilMode: true }), py: 'F.avg_pool2d(x, (2, 3), ceil_mode=True)' },
  { name: 'adaptiveAvgPool2d to 1', inputs: img, js: (t) => F.adaptiveAvgPool2d(t.x, 1), py: 'F.adaptive_avg_pool2d(x, 1)' },
  { name: 'adaptiveAvgPool2d to uneven sizes', inputs: img, js: (t) => F.adaptiveAvgPool2d(t.x, [3, 4]), py: 'F.adaptive_avg_pool2d(x, (3, 4))' },
  {
    name: 'batchNorm in training mode',
    inputs: () => ({ x: make.randn([4, 3, 2, 2]), w: make.randn([3]), b: make.randn([3]) }),
    js: (t) => F.batchNorm(t.x, null, null, { weight: t.w, bias: t.b, training: true }),
    py: 'F.batch_norm(x, None, None, w, b, training=True)',
  },
  {
    name: 'batchNorm in eval mode with running statistics',
    inputs: () => ({ x: make.randn([4, 3]), rm: make.randn([3]), rv: make.positive([3]), w: make.randn([3]), b: make.randn([3]) }),
    grad: ['x', 'w', 'b'],
    js: (t) => F.batchNorm(t.x, t.rm, t.rv, { weight: t.w, bias: t.b, eps: 1e-3 }),
    py: 'F.batch_norm(x, rm, rv, w, b, training=False, eps=1e-3)',
  },
  {
    name: 'batchNorm training updates the running statistics',
    inputs: () => ({ x: make.randn([5, 3, 4]), rm: make.randn([3]), rv: make.positive([3]) }),
    grad: false,
    js: (t) => {
      F.batchNorm(t.x, t.rm, t.rv, { training: true, momentum: 0.3 });
      return tg.stack([t.rm, t.rv]);
    },
    py: '(F.batch_norm(x, rm, rv, training=True, momentum=0.3), torch.stack([rm, rv]))[1]',
  },
  { name: 'layerNorm', inputs: () => ({ x: make.randn([2, 3, 4]), w: make.randn([3, 4]), b: make.randn([3, 4]) }), js: (t) => F.layerNorm(t.x, [3, 4], t.w, t.b), py: 'F.layer_norm(x, [3, 4], w, b)' },
  { name: 'layerNorm without affine, custom eps', inputs: x([3, 5]), js: (t) => F.layerNorm(t.x, [5], null, null, 1e-2), py: 'F.layer_norm(x, [5], eps=1e-2)' },
  { name: 'embedding', inputs: () => ({ i: make.ints([2, 3], 0, 6), w: make.randn([6, 4]) }), js: (t) => F.embedding(t.i, t.w), py: 'F.embedding(i, w)' },
  { name: 'embedding with paddingIdx gets no gradient there', inputs: () => ({ i: tg.tensor([[0, 2, 0], [1, 2, 3]]), w: make.randn([4, 3]) }), js: (t) => F.embedding(t.i, t.w, 0), py: 'F.embedding(i, w, padding_idx=0)' },
  { name: 'dropout in eval mode is the identity', inputs: x([3, 4]), js: (t) => F.dropout(t.x, 0.5, false), py: 'F.dropout(x, 0.5, training=False)' },
  { name: 'interpolate nearest by scale factor', inputs: img, js: (t) => F.interpolate(t.x, { scaleFactor: 2 }), py: "F.interpolate(x, scale_factor=2, mode='nearest')" },
  { name: 'interpolate nearest to a size', inputs: img, js: (t) => F.interpolate(t.x, { size: [5, 9] }), py: "F.interpolate(x, size=(5, 9))" },
  { name: 'interpolate bilinear', inputs: img, js: (t) => F.interpolate(t.x, { size: [10, 4], mode: 'bilinear' }), py: "F.interpolate(x, size=(10, 4), mode='bilinear')" },
  { name: 'interpolate bilinear with alignCorners', inputs: img, js: (t) => F.interpolate(t.x, { scaleFactor: 1.5, mode: 'bilinear', alignCorners: true }), py: "F.interpolate(x, scale_factor=1.5, mode='bilinear', align_corners=True)" },
  { name: 'interpolate bilinear by a fractional scale', inputs: img, js: (t) => F.interpolate(t.x, { scaleFactor: 0.6, mode: 'bilinear' }), py: "F.interpolate(x, scale_factor=0.6, mode='bilinear')" },
  { name: 'interpolate bicubic', inputs: img, js: (t) => F.interpolate(t.x, { size: 9, mode: 'bicubic' }), py: "F.interpolate(x, size=9, mode='bicubic')" },
  { name: 'interpolate linear on 3-D input', inputs: x([2, 3, 5]), js: (t) => F.interpolate(t.x, { size: 8, mode: 'linear' }), py: "F.interpolate(x, size=8, mode='linear')" },
  { name: 'interpolate nearest on 3-D input by scale', inputs: x([2, 3, 5]), js: (t) => F.interpolate(t.x, { scaleFactor: 3 }), py: 'F.interpolate(x, scale_factor=3)' },
];

const X = x([4, 6]);
const activations = [
  { name: 'relu', inputs: X, js: (t) => F.relu(t.x), py: 'F.relu(x)' },
  { name: 'elu', inputs: X, js: (t) => F.elu(t.x), py: 'F.elu(x)' },
  { name: 'elu with alpha', inputs: X, js: (t) => F.elu(t.x, 0.7), py: 'F.elu(x, 0.7)' },
  { name: 'selu', inputs: X, js: (t) => F.selu(t.x), py: 'F.selu(x)' },
  { name: 'leakyRelu', inputs: X, js: (t) => F.leakyRelu(t.x), py: 'F.leaky_relu(x)' },
  { name: 'leakyRelu with slope', inputs: X, js: (t) => F.leakyRelu(t.x, 0.2), py: 'F.leaky_relu(x, 0.2)' },
  { name: 'gelu', inputs: X, js: (t) => F.gelu(t.x), py: 'F.gelu(x)' },
  { name: 'gelu tanh approximation', inputs: X, js: (t) => F.gelu(t.x, 'tanh'), py: "F.gelu(x, approximate='tanh')" },
  { name: 'softplus', inputs: X, js: (t) => F.softplus(t.x), py: 'F.softplus(x)' },
  { name: 'softplus with beta and threshold', inputs: () => ({ x: make.uniform([4, 6], -8, 8) }), js: (t) => F.softplus(t.x, 2, 5), py: 'F.softplus(x, beta=2, threshold=5)' },
  { name: 'tanh', inputs: X, js: (t) => F.tanh(t.x), py: 'torch.tanh(x)' },
  { name: 'sigmoid', inputs: X, js: (t) => F.sigmoid(t.x), py: 'torch.sigmoid(x)' },
  { name: 'softmax', inputs: X, js: (t) => F.softmax(t.x, 1), py: 'F.softmax(x, 1)' },
  { name: 'softmax over dim 0', inputs: X, js: (t) => F.softmax(t.x, 0), py: 'F.softmax(x, 0)' },
  { name: 'logSoftmax', inputs: X, js: (t) => F.logSoftmax(t.x, -1), py: 'F.log_softmax(x, -1)' },
];

// In-place activations overwrite a clone (autograd flows back to the leaf) and return that same object.
const inPlace = (fn) => (t) => {
  const c = t.x.clone();
  const r = fn(c);
  if (r !== c) throw new Error('the in-place functional did not return its input');
  return c;
};
activations.push(
  { name: 'relu_ in place', inputs: X, js: inPlace((c) => F.relu_(c)), py: 'F.relu_(x.clone())' },
  { name: 'elu_ in place', inputs: X, js: inPlace((c) => F.elu_(c, 0.5)), py: 'F.elu_(x.clone(), 0.5)' },
  { name: 'selu_ in place', inputs: X, js: inPlace((c) => F.selu_(c)), py: 'F.selu_(x.clone())' },
  { name: 'leakyRelu_ in place', inputs: X, js: inPlace((c) => F.leakyRelu_(c, 0.1)), py: 'F.leaky_relu_(x.clone(), 0.1)' },
);

goldenSuite('functional layers', layers);
goldenSuite('functional activations', activations);

test('dropout zeroes about p of the elements and scales the rest by 1/(1-p)', () => {
  tg.tidy(() => {
    tg.manualSeed(7);
    const x = tg.ones([200, 100]);
    const y = F.dropout(x, 0.3, true);
    const zeros = y.eq(0).sum().item();
    const frac = zeros / x.numel;
    // 20,000 Bernoulli draws: the fraction is within 0.3 ± 0.015 with overwhelming probability
    assert.ok(Math.abs(frac - 0.3) < 0.015, `fraction of zeros ${frac}`);
    const kept = y.maskedSelect(y.ne(0));
    assert.ok(kept.sub(1 / 0.7).abs().max().item() < 1e-6, 'kept values are scaled by 1/(1-p)');
  });
});

test('dropout gradient uses the same mask as the forward pass', () => {
  tg.tidy(() => {
    const x = tg.randn([50, 40], { requiresGrad: true });
    const y = F.dropout(x, 0.5, true);
    y.sum().backward();
    const forwardMask = y.ne(0).logicalOr(x.detach().eq(0));
    const gradMask = x.grad.ne(0);
    assert.ok(forwardMask.equal(gradMask), 'zeroed positions have zero gradient and the others 1/(1-p)');
    assert.ok(x.grad.maskedSelect(gradMask).sub(2).abs().max().item() < 1e-6);
  });
});

test('dropout with p = 0 is the identity and p = 1 zeroes everything', () => {
  tg.tidy(() => {
    const x = tg.randn([10, 10]);
    assert.ok(F.dropout(x, 0, true).equal(x));
    assert.strictEqual(F.dropout(x, 1, true).abs().sum().item(), 0);
  });
});

test('dropout is reproducible under manualSeed', () => {
  tg.tidy(() => {
    tg.manualSeed(3);
    const a = F.dropout(tg.ones([64]), 0.5);
    tg.manualSeed(3);
    const b = F.dropout(tg.ones([64]), 0.5);
    assert.ok(a.equal(b));
  });
});
