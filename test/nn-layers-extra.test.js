'use strict';
// ReLU6, Hardtanh, ZeroPad2d, the merge modules (Add, Multiply, Concatenate), Conv2d/Conv1d padding 'same' with a
// stride > 1 (TensorFlow's asymmetric padding) and Tensor.dim() against Python PyTorch, computed at test time.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { hasPyTorch, runTorch, assertClose, avoidOneDnnBackwardNaN } = require('./helpers/torch');

avoidOneDnnBackwardNaN();  // LibTorch 2.6's oneDNN: NaN convolution gradients under load (helpers/torch.js)

const nn = tg.nn;
const skip = !hasPyTorch() && 'Python PyTorch (/usr/bin/python3) is not available';

function maxAbs(actual, expected) {
  const got = actual.detach().to({ dtype: 'float64' }).dataSync();
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - expected.data[i]));
  return m;
}

test('Tensor.dim() is ndim', () => {
  const t = tg.zeros([2, 3, 4]);
  assert.strictEqual(t.dim(), 3);
  assert.strictEqual(tg.tensor(1).dim(), 0);
  t.dispose();
});

test('ReLU6, Hardtanh, ZeroPad2d, Add, Multiply, Concatenate match torch', { skip }, () => {
  tg.manualSeed(3);
  const x = tg.randn([2, 3, 5, 4]).mul(4);
  const y = tg.randn([2, 3, 5, 4]);
  const z = tg.randn([2, 3, 1, 4]);
  const out = runTorch(
    `
import torch.nn as nn
x, y, z = T['x'], T['y'], T['z']
OUT['relu6'] = nn.ReLU6()(x)
OUT['hardtanh'] = nn.Hardtanh(-2.0, 1.5)(x)
OUT['hardtanh_default'] = nn.Hardtanh()(x)
OUT['zpad_int'] = nn.ZeroPad2d(2)(x)
OUT['zpad_list'] = nn.ZeroPad2d((1, 0, 2, 3))(x)
OUT['zpad_crop'] = nn.ZeroPad2d((-1, 2, 0, -2))(x)
OUT['add'] = x + y + z
OUT['mul'] = x * y * z
OUT['cat1'] = torch.cat([x, y], 1)
OUT['cat_last'] = torch.cat([x, y, x], -1)
`,
    { x, y, z },
  );
  const cases = [
    ['relu6', new nn.ReLU6().forward(x)],
    ['hardtanh', new nn.Hardtanh(-2, 1.5).forward(x)],
    ['hardtanh_default', new nn.Hardtanh().forward(x)],
    ['zpad_int', new nn.ZeroPad2d(2).forward(x)],
    ['zpad_list', new nn.ZeroPad2d([1, 0, 2, 3]).forward(x)],
    ['zpad_crop', new nn.ZeroPad2d([-1, 2, 0, -2]).forward(x)],
    ['add', new nn.Add().forward(x, y, z)],
    ['mul', new nn.Multiply().forward([x, y, z])],
    ['cat1', new nn.Concatenate({ dim: 1 }).forward(x, y)],
    ['cat_last', new nn.Concatenate({ dim: -1 }).forward(x, y, x)],
  ];
  for (const [name, got] of cases) {
    assertClose(assert, got, out[name], 1e-6, name);
    assert.ok(maxAbs(got, out[name]) <= 1e-6, name);
  }
  assert.strictEqual(new nn.Hardtanh({ minVal: 0, maxVal: 6 }).maxVal, 6);
});

test('ReLU6 and Hardtanh gradients match torch, at the bounds too (x exactly 0, 6, -2, 1.5)', { skip }, () => {
  const x = tg.tensor([-3, -2, -1, 0, 0.5, 1.5, 2, 6, 7]);
  const out = runTorch(
    `
import torch.nn as nn
for name, m in (('relu6', nn.ReLU6()), ('hardtanh', nn.Hardtanh(-2.0, 1.5))):
    x = T['x'].detach().clone().requires_grad_()
    y = m(x)
    (y * torch.arange(1.0, 10.0)).sum().backward()
    OUT[name] = y
    OUT[name + '_grad'] = x.grad
`,
    { x },
  );
  for (const [name, m] of [['relu6', new nn.ReLU6()], ['hardtanh', new nn.Hardtanh(-2, 1.5)]]) {
    const xi = x.clone().requiresGrad_();
    const y = m.forward(xi);
    y.mul(tg.arange(1, 10)).sum().backward();
    assertClose(assert, y, out[name], 0, name);
    assertClose(assert, xi.grad, out[`${name}_grad`], 0, `${name} grad`);
  }
});

test("Conv2d/Conv1d padding 'same' with stride > 1 pads as TensorFlow (F.pad + conv2d in torch), with gradients", { skip }, () => {
  tg.manualSeed(5);
  // [kernel, stride, dilation, H, W]: odd and even sizes, even kernels, so the extra pad lands after
  const CASES = [
    [[3, 3], [2, 2], [1, 1], 7, 8],
    [[1, 1], [2, 2], [1, 1], 8, 8],
    [[4, 3], [3, 2], [1, 1], 10, 9],
    [[3, 3], [2, 1], [2, 1], 9, 6],
    [[5, 2], [2, 3], [1, 1], 5, 7],
  ];
  const tensors = {};
  const convs = [];
  CASES.forEach(([k, s, d, h, w], i) => {
    const conv = new nn.Conv2d(3, 4, k, { stride: s, padding: 'same', dilation: d });
    const x = tg.randn([2, 3, h, w]).requiresGrad_();
    tensors[`x${i}`] = x;
    tensors[`w${i}`] = conv.weight;
    tensors[`b${i}`] = conv.bias;
    convs.push([conv, x]);
  });
  const conv1 = new nn.Conv1d(2, 3, 4, { stride: 3, padding: 'same' });
  const x1 = tg.randn([2, 2, 11]).requiresGrad_();
  Object.assign(tensors, { c1x: x1, c1w: conv1.weight, c1b: conv1.bias });
  const out = runTorch(
    `
import math
import torch.nn.functional as F
CASES = ${JSON.stringify(CASES)}
def tf_pads(size, k, s, d):
    total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2
for i, (k, s, d, h, w) in enumerate(CASES):
    x = T['x%d' % i].detach().clone().requires_grad_()
    wt = T['w%d' % i].detach().clone().requires_grad_()
    b = T['b%d' % i].detach().clone().requires_grad_()
    top, bottom = tf_pads(h, k[0], s[0], d[0])
    left, right = tf_pads(w, k[1], s[1], d[1])
    y = F.conv2d(F.pad(x, (left, right, top, bottom)), wt, b, stride=s, dilation=d)
    (y * y).sum().backward()
    OUT['y%d' % i] = y
    OUT['gx%d' % i] = x.grad
    OUT['gw%d' % i] = wt.grad
    OUT['gb%d' % i] = b.grad
x = T['c1x'].detach().clone().requires_grad_()
l, r = tf_pads(11, 4, 3, 1)
y = F.conv1d(F.pad(x, (l, r)), T['c1w'], T['c1b'], stride=3)
y.sum().backward()
OUT['c1y'] = y
OUT['c1gx'] = x.grad
`,
    tensors,
  );
  convs.forEach(([conv, x], i) => {
    const [, s] = CASES[i];
    const y = conv.forward(x);
    assert.deepStrictEqual(y.shape.slice(2), [Math.ceil(x.shape[2] / s[0]), Math.ceil(x.shape[3] / s[1])]);
    y.mul(y).sum().backward();
    assertClose(assert, y, out[`y${i}`], 1e-5, `y${i}`);
    assertClose(assert, x.grad, out[`gx${i}`], 1e-5, `gx${i}`);
    assertClose(assert, conv.weight.grad, out[`gw${i}`], 1e-5, `gw${i}`);
    assertClose(assert, conv.bias.grad, out[`gb${i}`], 1e-5, `gb${i}`);
  });
  const y1 = conv1.forward(x1);
  y1.sum().backward();
  assertClose(assert, y1, out.c1y, 1e-5, 'conv1d');
  assertClose(assert, x1.grad, out.c1gx, 1e-5, 'conv1d grad');
});

test("padding 'same' with stride 1 keeps PyTorch's behaviour", { skip }, () => {
  tg.manualSeed(6);
  const conv = new nn.Conv2d(2, 3, [4, 2], { padding: 'same' });
  const x = tg.randn([1, 2, 6, 5]);
  const out = runTorch("import torch.nn.functional as F\nOUT['y'] = F.conv2d(T['x'], T['w'], T['b'], padding='same')", { x, w: conv.weight, b: conv.bias });
  assertClose(assert, conv.forward(x), out.y, 1e-5, 'same stride 1');
});

test('bad arguments are clear errors', () => {
  assert.throws(() => new nn.Hardtanh(1, 1), RangeError);
  assert.throws(() => new nn.Hardtanh(Number.NaN, 1), RangeError);
  assert.throws(() => new nn.ZeroPad2d([1, 2]), /left, right, top, bottom/);
  assert.throws(() => new nn.ZeroPad2d(1).forward(tg.zeros([2, 2])), /3-D or 4-D/);
  assert.throws(() => new nn.Add().forward(), RangeError);
  assert.throws(() => new nn.Multiply().forward(tg.zeros([2]), 3), /input 1 is not a Tensor/);
  assert.throws(() => new nn.Concatenate({ dim: 1.5 }), TypeError);
  assert.throws(() => new nn.Concatenate({ dim: 2 }).forward(tg.zeros([2, 2]), tg.zeros([2, 2])), RangeError);
  assert.throws(() => new nn.ReLU6().forward('x'), TypeError);
});

test('a grouped (depthwise) convolution of a channels-last input gives what it gives on the contiguous input (LibTorch 2.6 got it wrong)', () => {
  tg.manualSeed(0);
  const x = tg.randn([2, 9, 10, 3]).permute([0, 3, 1, 2]); // NHWC data seen as NCHW: channels-last strides
  assert.ok(!x.isContiguous());
  for (const [k, opts] of [[[3, 2], { stride: 2, groups: 3 }], [[3, 2], { groups: 3 }], [[3, 3], { stride: 2, padding: 'same', groups: 3 }]]) {
    const conv = new tg.nn.Conv2d(3, 6, k, opts);
    const got = tg.noGrad(() => conv.forward(x));
    const want = tg.noGrad(() => conv.forward(x.contiguous()));
    assert.ok(got.equal(want), `kernel ${k} ${JSON.stringify(opts)}: max difference ${got.sub(want).abs().max().item()}`);
  }
  const conv1 = new tg.nn.Conv1d(4, 8, 3, { groups: 4 });
  const s = tg.randn([2, 7, 4]).transpose(1, 2);
  assert.ok(tg.noGrad(() => conv1.forward(s)).equal(tg.noGrad(() => conv1.forward(s.contiguous()))), 'Conv1d too');
});
