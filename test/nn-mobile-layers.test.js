'use strict';
// The layers of torchvision's mobile architectures against torch.nn and torchvision.ops, forward and backward:
// Hardswish, Hardsigmoid, SiLU, SqueezeExcitation and Conv2dNormActivation.
const test = require('node:test');
const assert = require('node:assert');
const { tg, hasPyTorch, runTorch, assertClose, avoidOneDnnBackwardNaN } = require('./helpers/torch');
const { torchvisionSkip } = require('./helpers/torchvision');
const { stateDictToPy, randomize } = require('./helpers/nn');

avoidOneDnnBackwardNaN();  // LibTorch 2.6's oneDNN: NaN convolution gradients under load (helpers/torch.js)

const noTorch = !hasPyTorch() && 'needs /usr/bin/python3 with torch';
const noVision = torchvisionSkip();

// Wide enough to cover every piece of the piecewise activations; the exact bounds ±3 are in `bounds`.
let golden;
// One Python run for all three activations (its start dominates these tests), made by the first test that needs it.
function activationGolden() {
  if (golden) return golden;
  tg.manualSeed(5);
  const x = tg.randn([4, 3, 5]).mul(4);
  const g = tg.randn(x.shape);
  const bounds = tg.tensor([-5, -3, -1, 0, 1, 3, 5], { shape: [7], dtype: 'float32' });
  const py = runTorch(`
for name in ['Hardswish', 'Hardsigmoid', 'SiLU']:
    x = T['x'].clone().requires_grad_(True)
    y = getattr(torch.nn, name)()(x)
    (y * T['g']).sum().backward()
    OUT[name + '.y'] = y; OUT[name + '.dx'] = x.grad
b = T['bounds'].clone().requires_grad_(True)
torch.nn.Hardsigmoid()(b).sum().backward()
OUT['bounds.dx'] = b.grad`, { x, g, bounds });
  golden = { x, g, bounds, py };
  return golden;
}

for (const name of ['Hardswish', 'Hardsigmoid', 'SiLU']) {
  test(`${name} matches torch.nn.${name} forward and backward`, { skip: noTorch }, () => {
    const { x: x0, g, py } = activationGolden();
    const x = x0.clone().requiresGrad_(true);
    const layer = new tg.nn[name]();
    const y = layer.call(x);
    y.mul(g).sum().backward();
    assertClose(assert, y, py[`${name}.y`], 1e-6, `${name} output`);
    assertClose(assert, x.grad, py[`${name}.dx`], 1e-6, `${name} input gradient`);
    // The functional form, and the in-place path taken without autograd, compute the same.
    const fy = tg.nn.functional[name.toLowerCase()](x0);
    assertClose(assert, fy, py[`${name}.y`], 1e-6, `functional.${name.toLowerCase()}`);
  });
}

test('Hardsigmoid: zero gradient at the bounds -3 and 3, as PyTorch; Hardswish saturates to 0 and x', { skip: noTorch }, () => {
  const { bounds, py } = activationGolden();
  const x = bounds.clone().requiresGrad_(true);
  new tg.nn.Hardsigmoid().call(x).sum().backward();
  assertClose(assert, x.grad, py['bounds.dx'], 0, 'Hardsigmoid gradient at the bounds');
  const hs = new tg.nn.Hardswish().call(tg.tensor([-10, 10], { shape: [2], dtype: 'float32' }));
  assert.deepStrictEqual(Array.from(hs.dataSync()), [-0, 10]);
});

test('SqueezeExcitation matches torchvision.ops.SqueezeExcitation (Sigmoid and Hardsigmoid gates): names, output, gradients', { skip: noVision }, () => {
  tg.manualSeed(6);
  const gates = [['Sigmoid', 'torch.nn.Sigmoid'], ['Hardsigmoid', 'torch.nn.Hardsigmoid']];
  const x = tg.randn([2, 8, 5, 5]);
  const g = tg.randn([2, 8, 5, 5]);
  const inputs = { x, g };
  const ses = gates.map(([gate], i) => {
    const se = randomize(new tg.nn.SqueezeExcitation(8, 4, { scaleActivation: tg.nn[gate] }));
    stateDictToPy(se, `sd${i}.`, inputs);
    return se;
  });
  const py = runTorch(`
from torchvision.ops import SqueezeExcitation
for i, gate in enumerate([${gates.map(([, p]) => p).join(', ')}]):
    se = SqueezeExcitation(8, 4, scale_activation=gate)
    se.load_state_dict({k[4:]: v.float() for k, v in T.items() if k.startswith(f'sd{i}.')}, strict=True)
    x = T['x'].clone().requires_grad_(True)
    y = se(x)
    (y * T['g']).sum().backward()
    OUT[f'{i}.y'] = y; OUT[f'{i}.dx'] = x.grad; OUT[f'{i}.dfc1'] = se.fc1.weight.grad; OUT[f'{i}.dfc2b'] = se.fc2.bias.grad`, inputs);
  ses.forEach((se, i) => {
    const gate = gates[i][0];
    assert.deepStrictEqual(Object.keys(se.stateDict()), ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']);
    assert.deepStrictEqual(se.namedChildren().map(([n]) => n), ['avgpool', 'fc1', 'fc2', 'activation', 'scale_activation']);
    const xi = x.clone().requiresGrad_(true);
    const y = se.call(xi);
    y.mul(g).sum().backward();
    assertClose(assert, y, py[`${i}.y`], 1e-5, `${gate} SE output`);
    assertClose(assert, xi.grad, py[`${i}.dx`], 1e-5, `${gate} SE input gradient`);
    assertClose(assert, se.fc1.weight.grad, py[`${i}.dfc1`], 1e-5, `${gate} SE fc1.weight gradient`);
    assertClose(assert, se.fc2.bias.grad, py[`${i}.dfc2b`], 1e-5, `${gate} SE fc2.bias gradient`);
  });
});

test('Conv2dNormActivation matches torchvision.ops.misc.Conv2dNormActivation: children 0, 1, 2, padding, training forward and backward', { skip: noVision }, () => {
  tg.manualSeed(7);
  const block = randomize(new tg.nn.Conv2dNormActivation(4, 6, { kernelSize: 3, stride: 2, groups: 2, activationLayer: tg.nn.ReLU6 }));
  assert.deepStrictEqual(block.namedChildren().map(([n, m]) => [n, m.constructor.name]), [['0', 'Conv2d'], ['1', 'BatchNorm2d'], ['2', 'ReLU6']]);
  const bare = new tg.nn.Conv2dNormActivation(4, 6, { kernelSize: 5, dilation: 2, normLayer: null, activationLayer: null });
  const x = tg.randn([2, 4, 9, 9]).requiresGrad_(true);
  const g = tg.randn([2, 6, 5, 5]);
  const inputs = stateDictToPy(block, 'sd.', { x: x.detach(), g });  // before the step updates the running statistics
  block.train();
  const y = block.call(x);
  y.mul(g).sum().backward();
  const py = runTorch(`
from torchvision.ops.misc import Conv2dNormActivation
b = Conv2dNormActivation(4, 6, kernel_size=3, stride=2, groups=2, activation_layer=torch.nn.ReLU6)
b.load_state_dict({k[3:]: (v if v.dtype == torch.int64 else v.float()) for k, v in T.items() if k.startswith('sd.')}, strict=True)
b.train()
x = T['x'].clone().requires_grad_(True)
y = b(x)
(y * T['g']).sum().backward()
OUT['y'] = y; OUT['dx'] = x.grad; OUT['dw'] = b[0].weight.grad; OUT['db'] = b[1].bias.grad; OUT['rm'] = b[1].running_mean
bare = Conv2dNormActivation(4, 6, kernel_size=5, dilation=2, norm_layer=None, activation_layer=None)
OUT['bare'] = torch.tensor([float(bare[0].padding[0]), float(len(bare))] + [float(p.numel()) for p in bare.parameters()])`,
    inputs);
  assertClose(assert, y, py.y, 1e-5, 'output');
  assertClose(assert, x.grad, py.dx, 1e-5, 'input gradient');
  assertClose(assert, block.get('0').weight.grad, py.dw, 1e-5, 'conv weight gradient');
  assertClose(assert, block.get('1').bias.grad, py.db, 1e-5, 'norm bias gradient');
  assertClose(assert, block.get('1').running_mean, py.rm, 1e-5, 'running mean after the step');
  // Without a norm layer the conv has a bias; padding (k - 1) / 2 · dilation.
  const bareFacts = [bare.get('0').padding[0], bare.length, ...bare.parameters().map((p) => p.shape.reduce((a, b) => a * b, 1))];
  assert.deepStrictEqual(bareFacts, Array.from(py.bare.data));
});

test('bad arguments of the mobile layers are clear JavaScript errors', () => {
  assert.throws(() => new tg.nn.Hardswish().call([1, 2]), /Hardswish: expected a Tensor/);
  assert.throws(() => new tg.nn.SiLU().call(null), /SiLU: expected a Tensor/);
  assert.throws(() => new tg.nn.SqueezeExcitation(0, 4), /SqueezeExcitation: inputChannels must be an integer >= 1/);
  assert.throws(() => new tg.nn.SqueezeExcitation(8, 4, { activation: 'relu' }), /SqueezeExcitation: activation must be a Module class/);
  assert.throws(() => new tg.nn.SqueezeExcitation(8, 4).call(tg.zeros([8])), /SqueezeExcitation: expected 3-D or 4-D input/);
  assert.throws(() => new tg.nn.Conv2dNormActivation(3, 8, { normLayer: () => 42 }), /Conv2dNormActivation: normLayer must return a tg.nn.Module/);
  assert.throws(() => new tg.nn.Conv2dNormActivation(3, 8, { kernelSize: [3] }), /Conv2dNormActivation: kernelSize must be/);
  assert.throws(() => new tg.nn.Conv2dNormActivation(3, 8, null), /Conv2dNormActivation: options must be an object/);
});
