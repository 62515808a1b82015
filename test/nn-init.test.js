'use strict';
// tg.nn.init against torch.nn.init: fans and gains exactly, distributions by their statistics,
// and the default initialisation of layers value for value with the same seed.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { hasPyTorch, runTorch, assertClose } = require('./helpers/torch');

const init = tg.nn.init;
const skip = !hasPyTorch() && 'Python PyTorch (/usr/bin/python3) is not available';

const SHAPES = [[3, 4], [8, 4, 3], [16, 8, 3, 3], [5, 2, 2, 2, 2], [300, 100]];
const GAINS = [['linear'], ['conv2d'], ['sigmoid'], ['tanh'], ['relu'], ['leaky_relu'], ['leaky_relu', 0.2], ['selu']];

function stats(t) {
  const v = t.dataSync();
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const x of v) {
    s += x;
    min = Math.min(min, x);
    max = Math.max(max, x);
  }
  const mean = s / v.length;
  let q = 0;
  for (const x of v) q += (x - mean) ** 2;
  return { mean, std: Math.sqrt(q / (v.length - 1)), min, max };
}

// initialiser, the Python call, expected std for a [256, 512] weight (fanIn 512, fanOut 256), uniform bound or null
const W = [256, 512];
const DISTS = [
  ['kaimingUniform_', (t) => init.kaimingUniform_(t), 'nn.init.kaiming_uniform_(w)', Math.sqrt(2) / Math.sqrt(512), true],
  ['kaimingUniform_ fanOut relu', (t) => init.kaimingUniform_(t, { mode: 'fanOut', nonlinearity: 'relu' }), "nn.init.kaiming_uniform_(w, mode='fan_out', nonlinearity='relu')", Math.sqrt(2) / 16, true],
  ['kaimingNormal_ a=0.2', (t) => init.kaimingNormal_(t, { a: 0.2 }), 'nn.init.kaiming_normal_(w, a=0.2)', Math.sqrt(2 / 1.04) / Math.sqrt(512), false],
  ['kaimingNormal_ fanOut', (t) => init.kaimingNormal_(t, { mode: 'fanOut', nonlinearity: 'relu' }), "nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')", Math.sqrt(2) / 16, false],
  ['xavierUniform_', (t) => init.xavierUniform_(t), 'nn.init.xavier_uniform_(w)', Math.sqrt(2 / 768), true],
  ['xavierNormal_ gain 5/3', (t) => init.xavierNormal_(t, 5 / 3), 'nn.init.xavier_normal_(w, gain=5/3)', (5 / 3) * Math.sqrt(2 / 768), false],
  ['lecunNormal_', (t) => init.lecunNormal_(t), 'nn.init.normal_(w, 0, (1 / 512) ** 0.5)', Math.sqrt(1 / 512), false],
  ['lecunUniform_', (t) => init.lecunUniform_(t), 'nn.init.uniform_(w, -(3 / 512) ** 0.5, (3 / 512) ** 0.5)', Math.sqrt(1 / 512), true],
  ['normal_', (t) => init.normal_(t, 0.5, 2), 'nn.init.normal_(w, 0.5, 2)', 2, false],
  ['uniform_', (t) => init.uniform_(t, -3, 1), 'nn.init.uniform_(w, -3, 1)', 4 / Math.sqrt(12), true],
];

let py;
test.before(() => {
  if (skip) return;
  const code = [`
import torch.nn as nn
from torch.nn.init import _calculate_fan_in_and_fan_out as fans, calculate_gain
shapes = ${JSON.stringify(SHAPES)}
OUT['fans'] = torch.tensor([list(fans(torch.empty(s))) for s in shapes], dtype=torch.int64)
gains = ${JSON.stringify(GAINS)}
OUT['gains'] = torch.tensor([calculate_gain(*g) for g in gains], dtype=torch.float64)
torch.manual_seed(42)
lin = nn.Linear(20, 7); conv = nn.Conv2d(3, 5, 3); emb = nn.Embedding(6, 4, padding_idx=2)
for p, m in [('lin', lin), ('conv', conv), ('emb', emb)]:
    for n, t in m.state_dict().items(): OUT[p + '.' + n] = t
`];
  DISTS.forEach(([, , pyCall], i) => code.push(`torch.manual_seed(${i}); w = torch.empty(${W.join(', ')}); ${pyCall}; OUT['d${i}'] = torch.tensor([w.mean(), w.std(), w.min(), w.max()], dtype=torch.float64)`));
  py = runTorch(code.join('\n'));
});

test('computeFans and calculateGain give exactly what torch.nn.init computes', { skip }, () => {
  const fans = SHAPES.map((s) => {
    const { fanIn, fanOut } = init.computeFans(s);
    return [fanIn, fanOut];
  });
  assert.deepStrictEqual(fans.flat(), Array.from(py.fans.data, Number));
  assert.deepStrictEqual(GAINS.map(([n, p]) => init.calculateGain(n, p)), Array.from(py.gains.data));
  assert.strictEqual(init.calculateGain('leakyRelu', 0.2), init.calculateGain('leaky_relu', 0.2));
});

test('each initialiser draws the distribution torch.nn.init draws (mean, std, bounds), from the global seed', { skip }, () => {
  DISTS.forEach(([name, fn, , std, uniform], i) => {
    tg.manualSeed(i);
    const w = tg.empty(W);
    assert.strictEqual(fn(w), w, `${name} returns its tensor`);
    const s = stats(w);
    const [pm, ps, pmin, pmax] = py[`d${i}`].data;
    const mean = name === 'normal_' ? 0.5 : name === 'uniform_' ? -1 : 0;
    assert.ok(Math.abs(s.mean - mean) < 4 * std / Math.sqrt(w.numel), `${name}: mean ${s.mean}`);
    assert.ok(Math.abs(s.std / std - 1) < 0.01, `${name}: std ${s.std} vs theory ${std}`);
    assert.ok(Math.abs(s.std / ps - 1) < 0.01, `${name}: std ${s.std} vs PyTorch ${ps}`);
    assert.ok(Math.abs(s.mean - pm) < 8 * std / Math.sqrt(w.numel), `${name}: mean ${s.mean} vs PyTorch ${pm}`);
    if (uniform) {
      const bound = name === 'uniform_' ? [-3, 1] : [-Math.sqrt(3) * std, Math.sqrt(3) * std];
      assert.ok(s.min >= bound[0] - 1e-6 && s.max <= bound[1] + 1e-6, `${name}: values within [${bound}]`);
      assert.ok(Math.abs(s.min - pmin) < 0.01 * (bound[1] - bound[0]) && Math.abs(s.max - pmax) < 0.01 * (bound[1] - bound[0]), `${name}: same range as PyTorch`);
    }
  });
});

test('default initialisation of Linear, Conv2d and Embedding equals PyTorch value for value with the same seed', { skip }, () => {
  tg.manualSeed(42);
  const lin = new tg.nn.Linear(20, 7);
  const conv = new tg.nn.Conv2d(3, 5, 3, { groups: 1 });
  const emb = new tg.nn.Embedding(6, 4, { paddingIdx: 2 });
  for (const [p, m] of [['lin', lin], ['conv', conv], ['emb', emb]]) {
    for (const [n, t] of Object.entries(m.stateDict())) assertClose(assert, t, py[`${p}.${n}`], 0, `${p}.${n}`);
  }
  assert.deepStrictEqual(emb.weight.select(0, 2).toArray(), [0, 0, 0, 0]);
});

test('initialisers reject what PyTorch rejects, with clear messages', () => {
  assert.throws(() => init.computeFans(tg.zeros([5])), /fewer than 2 dimensions \(shape \[5\]\)/);
  assert.throws(() => init.kaimingNormal_(tg.zeros([5])), /fewer than 2 dimensions/);
  assert.throws(() => init.kaimingUniform_(tg.zeros([2, 2]), { mode: 'fanSideways' }), /mode must be 'fanIn' or 'fanOut'/);
  assert.throws(() => init.calculateGain('swish'), /unsupported nonlinearity 'swish'/);
  assert.throws(() => init.zeros_([1, 2]), /expected a Tensor/);
});

test('initialisers work in place on parameters without recording autograd history', () => {
  const lin = new tg.nn.Linear(4, 3);
  init.constant_(lin.weight, 0.5);
  init.zeros_(lin.bias);
  assert.ok(lin.weight.isLeaf && lin.weight.requiresGrad);
  assert.deepStrictEqual(lin.weight.toArray()[0], [0.5, 0.5, 0.5, 0.5]);
  assert.deepStrictEqual(lin.bias.toArray(), [0, 0, 0]);
  init.ones_(lin.bias);
  assert.deepStrictEqual(lin.bias.toArray(), [1, 1, 1]);
});
