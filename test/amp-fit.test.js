'use strict';
// fit's precision option: bf16 autocast steps (golden against one torch.autocast('cpu') SGD step), fp16 refused on CPU before any step, the native engine refusing.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { runTorch, hasPyTorch, assertClose } = require('./helpers/torch');
const { CUDA_SKIP } = require('./helpers/cuda');

const quiet = { verbose: 0 };

function mlp(seed, device = 'cpu') {
  tg.manualSeed(seed);
  return new tg.nn.Sequential({ fc1: new tg.nn.Linear(6, 16), act: new tg.nn.ReLU(), fc2: new tg.nn.Linear(16, 3) }).to(device);
}

function data(n, seed) {
  tg.manualSeed(seed);
  return [tg.randn([n, 6]), tg.randint(0, 3, [n])];
}

test("golden: fit with precision 'bf16' takes the step PyTorch takes under torch.autocast('cpu', bfloat16)", { skip: !hasPyTorch() && 'no Python PyTorch' }, async () => {
  const net = mlp(31);
  const [x, y] = data(12, 32);
  const sd = net.stateDict();
  const init = { w1: sd['fc1.weight'].clone(), b1: sd['fc1.bias'].clone(), w2: sd['fc2.weight'].clone(), b2: sd['fc2.bias'].clone() };
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.5 });
  const h = await tg.fit(net, [x, y], { ...quiet, optimizer: opt, loss: 'crossEntropy', batchSize: 12, shuffle: false, precision: 'bf16' });
  assert.strictEqual(h.engine, 'js', "'auto' falls back to the JS loop for bf16");
  const py = runTorch(`
import torch.nn.functional as F
P = {k: T[k].float().requires_grad_(True) for k in ('w1', 'b1', 'w2', 'b2')}
opt = torch.optim.SGD(list(P.values()), lr=0.5)
with torch.autocast('cpu', dtype=torch.bfloat16):
    loss = F.cross_entropy(F.linear(F.relu(F.linear(T['x'].float(), P['w1'], P['b1'])), P['w2'], P['b2']), T['y'])
loss.backward()
opt.step()
OUT['loss'] = loss
for k in P: OUT[k] = P[k]
`, { ...init, x, y });
  assert.ok(Math.abs(h.last().loss - py.loss.data[0]) <= 1e-2 * Math.abs(py.loss.data[0]), `loss ${h.last().loss} vs ${py.loss.data[0]}`);
  const after = net.stateDict();
  const names = { w1: 'fc1.weight', b1: 'fc1.bias', w2: 'fc2.weight', b2: 'fc2.bias' };
  for (const [k, n] of Object.entries(names)) {
    assert.strictEqual(after[n].dtype, 'float32', 'weights stay float32');
    assertClose(assert, after[n], py[k], 2e-3, n);
  }
  // And not the float32 step: the bf16 forward changes the update.
  const fp = mlp(31);
  const opt2 = new tg.optim.SGD(fp.parameters(), { lr: 0.5 });
  await tg.fit(fp, [x, y], { ...quiet, optimizer: opt2, loss: 'crossEntropy', batchSize: 12, shuffle: false });
  assert.ok(!fp.stateDict()['fc1.weight'].equal(after['fc1.weight']), 'bf16 and fp32 steps differ');
  tg.dispose([x, y, ...Object.values(init)]);
  net.dispose();
  fp.dispose();
});

test("precision 'fp16' on CPU, an unknown precision, and bf16 with engine 'native' are errors before any step", async () => {
  const net = mlp(1);
  const [x, y] = data(8, 2);
  const before = net.stateDict()['fc1.weight'].clone();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  let began = 0;
  const callbacks = [{ onTrainBegin: () => { began++; } }];
  const base = { ...quiet, optimizer: opt, loss: 'crossEntropy', callbacks };
  await assert.rejects(tg.fit(net, [x, y], { ...base, precision: 'fp16' }), (e) => e instanceof RangeError && /'fp16' needs a CUDA device.*use 'bf16'/.test(e.message));
  await assert.rejects(tg.fit(net, [x, y], { ...base, precision: 'fp64' }), (e) => e instanceof TypeError && /precision must be 'fp32', 'bf16' or 'fp16'/.test(e.message));
  await assert.rejects(tg.fit(net, [x, y], { ...base, precision: 'bf16', engine: 'native' }), (e) => e.code === 'ERR_NATIVE_ENGINE' && /precision 'bf16'/.test(e.message));
  assert.strictEqual(began, 0, 'no callback ran');
  assert.ok(net.stateDict()['fc1.weight'].equal(before), 'no step ran');
  const h = await tg.fit(net, [x, y], { ...base, precision: 'fp32', engine: 'native' });
  assert.strictEqual(h.engine, 'native', "'fp32' is the default and runs natively");
  tg.dispose([x, y, before]);
  net.dispose();
  opt.dispose();
});

test("bf16 training with clipping and a metric learns, and leaves autocast off", async () => {
  const net = mlp(5);
  const [x, y] = data(64, 6);
  const opt = new tg.optim.Adam(net.parameters(), { lr: 0.02 });
  const h = await tg.fit(net, [x, y], { ...quiet, epochs: 8, optimizer: opt, loss: 'crossEntropy', metrics: ['accuracy'], batchSize: 16, seed: 1, precision: 'bf16', clipGradNorm: 5 });
  assert.ok(h.last().loss < h.epochs[0].loss, `loss ${h.epochs[0].loss} -> ${h.last().loss}`);
  const amp = tg.amp ?? require('../dist/amp');
  assert.strictEqual(amp.autocastState('cpu').enabled, false);
  tg.dispose([x, y]);
  net.dispose();
  opt.dispose();
});

test("CUDA: fit with precision 'fp16' (autocast and GradScaler) and 'bf16' trains", { skip: CUDA_SKIP }, async () => {
  for (const precision of ['fp16', 'bf16']) {
    const net = mlp(7, 'cuda');
    const [x, y] = data(64, 8);
    const opt = new tg.optim.SGD(net.parameters(), { lr: 0.2, momentum: 0.9 });
    const h = await tg.fit(net, [x, y], { ...quiet, epochs: 5, optimizer: opt, loss: 'crossEntropy', batchSize: 16, seed: 1, device: 'cuda', precision });
    assert.ok(Number.isFinite(h.last().loss) && h.last().loss < h.epochs[0].loss, `${precision}: ${h.epochs[0].loss} -> ${h.last().loss}`);
    tg.dispose([x, y]);
    net.dispose();
    opt.dispose();
  }
});
