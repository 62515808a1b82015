'use strict';
// LayerNorm2d, MultiheadAttention and TransformerEncoderLayer against torchvision / torch.nn: same state-dict names,
// and the same outputs, attention weights and gradients (input and parameters) for the same weights and inputs.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { hasPyTorch, runTorch, assertClose } = require('./helpers/torch');
const { stateDictToPy, randomize } = require('./helpers/nn');

const skip = !hasPyTorch() && 'Python PyTorch (/usr/bin/python3) is not available';

// Runs fwd on the module and input x, backpropagates g, and returns { y, dx, grads: { name: grad } }.
function forwardBackward(module, inputs, fwd, g) {
  const xs = inputs.map((x) => x.clone().requiresGrad_(true));
  const y = fwd(module, ...xs);
  y.mul(g).sum().backward();
  const grads = {};
  for (const [n, p] of module.namedParameters()) grads[n] = p.grad;
  return { y, dx: xs.map((x) => x.grad), grads };
}

// Python side: loads T['sd.*'] strictly into `m`, runs `fwd` (Python expression of m and xs), backpropagates T['g'].
const PY_FB = (build, fwd, nIn) => `
m = ${build}
m.load_state_dict({k[3:]: v for k, v in T.items() if k.startswith('sd.')}, strict=True)
xs = [T['x%d' % i].clone().requires_grad_(True) for i in range(${nIn})]
y = ${fwd}
(y * T['g']).sum().backward()
OUT['y'] = y
for i, x in enumerate(xs): OUT['dx%d' % i] = x.grad
for n, p in m.named_parameters(): OUT['grad.' + n] = p.grad
`;

function compare(ours, py, nIn, what) {
  assertClose(assert, ours.y, py.y, 1e-5, `${what} output`);
  for (let i = 0; i < nIn; i++) assertClose(assert, ours.dx[i], py[`dx${i}`], 1e-5, `${what} input gradient ${i}`);
  for (const [n, g] of Object.entries(ours.grads)) assertClose(assert, g, py[`grad.${n}`], 1e-5, `${what} gradient of ${n}`);
}

test('LayerNorm2d matches torchvision.models.convnext.LayerNorm2d (eps 1e-6): output and gradients', { skip }, () => {
  tg.manualSeed(3);
  const m = randomize(new tg.nn.LayerNorm2d(6, { eps: 1e-6 }));
  assert.deepStrictEqual(Object.keys(m.stateDict()), ['weight', 'bias']);
  const x = tg.randn([2, 6, 5, 4]).mul(3).add(1);
  const g = tg.randn([2, 6, 5, 4]);
  const ours = forwardBackward(m, [x], (mod, a) => mod.forward(a), g);
  const py = runTorch(`
from torchvision.models.convnext import LayerNorm2d
${PY_FB('LayerNorm2d(6, eps=1e-6)', 'm(xs[0])', 1)}`, stateDictToPy(m, 'sd.', { x0: x, g }));
  compare(ours, py, 1, 'LayerNorm2d');
  assert.throws(() => m.forward(tg.randn([2, 5, 5, 4])), /LayerNorm2d\(6\): expected input of shape \(N, 6, H, W\), got \[2, 5, 5, 4\]/);
  assert.throws(() => m.forward(tg.randn([6, 5, 4])), RangeError);
});

test('MultiheadAttention has torch.nn.MultiheadAttention names and initialisation shapes', () => {
  const m = new tg.nn.MultiheadAttention(8, 2);
  assert.deepStrictEqual(Object.entries(m.stateDict()).map(([k, v]) => [k, v.shape]),
    [['in_proj_weight', [24, 8]], ['in_proj_bias', [24]], ['out_proj.weight', [8, 8]], ['out_proj.bias', [8]]]);
  assert.strictEqual(m.in_proj_bias.abs().sum().item(), 0);
  const kv = new tg.nn.MultiheadAttention(8, 4, { kdim: 5, vdim: 3, bias: false });
  assert.deepStrictEqual(Object.entries(kv.stateDict()).map(([k, v]) => [k, v.shape]),
    [['q_proj_weight', [8, 8]], ['k_proj_weight', [8, 5]], ['v_proj_weight', [8, 3]], ['out_proj.weight', [8, 8]]]);
  assert.throws(() => new tg.nn.MultiheadAttention(10, 3), /embedDim \(10\) must be divisible by numHeads \(3\)/);
  assert.throws(() => m.forward(tg.randn([3, 2, 7]), tg.randn([3, 2, 8]), tg.randn([3, 2, 8])), /expected query with last dimension 8/);
  assert.throws(() => m.forward(tg.randn([3, 2, 8]), tg.randn([4, 2, 8]), tg.randn([4, 2, 8]), { attnMask: tg.zeros([3, 3]) }), /attnMask must have shape \[3, 4\] or \[4, 3, 4\]/);
  assert.throws(() => m.forward(tg.randn([3, 2, 8]), tg.randn([4, 2, 8]), tg.randn([4, 2, 8]), { keyPaddingMask: tg.zeros([2, 3]) }), /keyPaddingMask must have shape \[2, 4\]/);
  assert.throws(() => m.forward(tg.randn([3, 2, 8]), tg.randn([4, 2, 8]), tg.randn([4, 2, 8]), { keyPaddingMask: tg.zeros([2, 4], { dtype: 'int64' }) }), /bool or floating/);
  assert.throws(() => m.forward(tg.randn([3, 2, 8]), null, tg.randn([4, 2, 8])), TypeError);
  m.dispose();
  kv.dispose();
});

test('MultiheadAttention self-attention (batchFirst) with a bool attention mask and key padding mask matches PyTorch: output, weights, gradients', { skip }, () => {
  tg.manualSeed(4);
  const m = randomize(new tg.nn.MultiheadAttention(8, 2, { batchFirst: true }));
  const x = tg.randn([2, 5, 8]);
  const g = tg.randn([2, 5, 8]);
  const attnMask = tg.tensor([[0, 1, 0, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 1, 0, 0]], { dtype: 'bool' });
  const kpm = tg.tensor([[0, 0, 0, 0, 1], [0, 1, 0, 0, 0]], { dtype: 'bool' });
  const ours = forwardBackward(m, [x], (mod, a) => mod.forward(a, a, a, { attnMask, keyPaddingMask: kpm })[0], g);
  const [, w] = tg.noGrad(() => m.forward(x, x, x, { attnMask, keyPaddingMask: kpm }));
  const [, wh] = tg.noGrad(() => m.forward(x, x, x, { averageAttnWeights: false }));
  const [, none] = tg.noGrad(() => m.forward(x, x, x, { needWeights: false }));
  assert.strictEqual(none, null);
  const py = runTorch(`
${PY_FB('torch.nn.MultiheadAttention(8, 2, batch_first=True)', "m(xs[0], xs[0], xs[0], attn_mask=T['am'], key_padding_mask=T['kpm'])[0]", 1)}
with torch.no_grad():
    OUT['w'] = m(T['x0'], T['x0'], T['x0'], attn_mask=T['am'], key_padding_mask=T['kpm'])[1]
    OUT['wh'] = m(T['x0'], T['x0'], T['x0'], average_attn_weights=False)[1]
`, stateDictToPy(m, 'sd.', { x0: x, g, am: attnMask, kpm }));
  compare(ours, py, 1, 'MultiheadAttention');
  assertClose(assert, w, py.w, 1e-5, 'averaged attention weights');
  assertClose(assert, wh, py.wh, 1e-5, 'per-head attention weights');
});

test('MultiheadAttention cross-attention (sequence-first, kdim/vdim, float mask) and unbatched input match PyTorch', { skip }, () => {
  tg.manualSeed(5);
  const m = randomize(new tg.nn.MultiheadAttention(12, 3, { kdim: 5, vdim: 7 }));
  const q = tg.randn([4, 2, 12]);
  const k = tg.randn([6, 2, 5]);
  const v = tg.randn([6, 2, 7]);
  const g = tg.randn([4, 2, 12]);
  const am = tg.randn([4, 6]);
  const ours = forwardBackward(m, [q, k, v], (mod, a, b, c) => mod.forward(a, b, c, { attnMask: am })[0], g);
  const packed = randomize(new tg.nn.MultiheadAttention(12, 3));
  const q1 = tg.randn([4, 12]);
  const kv1 = tg.randn([6, 12]);
  const kpm1 = tg.tensor([0, 0, 1, 0, 0, 1], { dtype: 'bool' });
  const [y1, w1] = tg.noGrad(() => packed.forward(q1, kv1, kv1, { keyPaddingMask: kpm1 }));
  const inputs = stateDictToPy(m, 'sd.', { x0: q, x1: k, x2: v, g, am, q1, kv1, kpm1 });
  stateDictToPy(packed, 'p.', inputs);
  const py = runTorch(`
${PY_FB('torch.nn.MultiheadAttention(12, 3, kdim=5, vdim=7)', "m(xs[0], xs[1], xs[2], attn_mask=T['am'])[0]", 3)}
p = torch.nn.MultiheadAttention(12, 3)
p.load_state_dict({k[2:]: v for k, v in T.items() if k.startswith('p.')}, strict=True)
with torch.no_grad():
    OUT['y1'], OUT['w1'] = p(T['q1'], T['kv1'], T['kv1'], key_padding_mask=T['kpm1'])
`, inputs);
  compare(ours, py, 3, 'MultiheadAttention (kdim, vdim)');
  assertClose(assert, y1, py.y1, 1e-5, 'unbatched output');
  assertClose(assert, w1, py.w1, 1e-5, 'unbatched weights');
});

test('MultiheadAttention with addBiasKv and addZeroAttn matches PyTorch: names, output, weights and gradients, with both masks', { skip }, () => {
  tg.manualSeed(7);
  const m = randomize(new tg.nn.MultiheadAttention(8, 2, { addBiasKv: true, addZeroAttn: true }));
  assert.deepStrictEqual(Object.keys(m.stateDict()), ['in_proj_weight', 'in_proj_bias', 'bias_k', 'bias_v', 'out_proj.weight', 'out_proj.bias']);
  const q = tg.randn([3, 2, 8]);
  const kv = tg.randn([4, 2, 8]);
  const g = tg.randn([3, 2, 8]);
  const am = tg.tensor([[0, 1, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]], { dtype: 'bool' });
  const kpm = tg.tensor([[0, 0, 0, 1], [0, 0, 0, 0]], { dtype: 'bool' });
  const ours = forwardBackward(m, [q, kv], (mod, a, b) => mod.forward(a, b, b, { attnMask: am, keyPaddingMask: kpm })[0], g);
  const [, w] = tg.noGrad(() => m.forward(q, kv, kv, { attnMask: am, keyPaddingMask: kpm }));
  const py = runTorch(`
${PY_FB('torch.nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True)', "m(xs[0], xs[1], xs[1], attn_mask=T['am'], key_padding_mask=T['kpm'])[0]", 2)}
with torch.no_grad(): OUT['w'] = m(T['x0'], T['x1'], T['x1'], attn_mask=T['am'], key_padding_mask=T['kpm'])[1]
`, stateDictToPy(m, 'sd.', { x0: q, x1: kv, g, am, kpm }));
  compare(ours, py, 2, 'MultiheadAttention (addBiasKv, addZeroAttn)');
  assertClose(assert, w, py.w, 1e-5, 'attention weights over S + 2 positions');
});

for (const [label, opts, pyOpts] of [
  ['post-LN, relu, sequence-first', {}, ''],
  ['pre-LN (normFirst), gelu, batchFirst', { normFirst: true, activation: 'gelu', batchFirst: true, layerNormEps: 1e-6 }, ", norm_first=True, activation='gelu', batch_first=True, layer_norm_eps=1e-6"],
]) {
  test(`TransformerEncoderLayer (${label}) matches torch.nn.TransformerEncoderLayer: names, output and gradients, with masks`, { skip }, () => {
    tg.manualSeed(6);
    const m = randomize(new tg.nn.TransformerEncoderLayer(8, 2, { dimFeedforward: 16, ...opts }));
    m.eval();  // dropout off, as Python's eval(): the same numbers without sharing a random stream
    const shape = opts.batchFirst ? [3, 5, 8] : [5, 3, 8];  // S = 5 positions, N = 3 sequences
    const x = tg.randn(shape);
    const g = tg.randn(shape);
    const mask = tg.tensor([[0, 1, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]], { dtype: 'bool' });
    const kpm = tg.tensor([[0, 0, 0, 0, 1], [0, 0, 0, 0, 0], [0, 1, 0, 0, 0]], { dtype: 'bool' });
    const ours = forwardBackward(m, [x], (mod, a) => mod.forward(a, { srcMask: mask, srcKeyPaddingMask: kpm }), g);
    const py = runTorch(`
${PY_FB(`torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16${pyOpts}).eval()`, "m(xs[0], src_mask=T['mask'], src_key_padding_mask=T['kpm'])", 1)}
`, stateDictToPy(m, 'sd.', { x0: x, g, mask, kpm }));
    assert.deepStrictEqual(Object.keys(m.stateDict()), [
      'self_attn.in_proj_weight', 'self_attn.in_proj_bias', 'self_attn.out_proj.weight', 'self_attn.out_proj.bias',
      'linear1.weight', 'linear1.bias', 'linear2.weight', 'linear2.bias', 'norm1.weight', 'norm1.bias', 'norm2.weight', 'norm2.bias',
    ]);
    compare(ours, py, 1, 'TransformerEncoderLayer');
    m.train();
    const yTrain = m.forward(x);
    assert.deepStrictEqual(yTrain.shape, shape);
    assert.throws(() => new tg.nn.TransformerEncoderLayer(8, 2, { activation: 'tanh' }), /activation must be 'relu' or 'gelu'/);
  });
}
