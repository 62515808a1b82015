'use strict';
// findLr: the exponential sweep, its smoothed losses against a Python re-run, bitwise restore, divergence, bad options.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { runTorch, hasPyTorch } = require('./helpers/torch');

function mlp(seed = 0) {
  tg.manualSeed(seed);
  return new tg.nn.Sequential({ fc1: new tg.nn.Linear(6, 12), act: new tg.nn.ReLU(), fc2: new tg.nn.Linear(12, 3) });
}

function problem(n = 40, seed = 5) {
  tg.manualSeed(seed);
  const x = tg.keep(tg.randn([n, 6]));
  const y = tg.keep(tg.randint(0, 3, [n]));
  return [x, y];
}

function snapshotBits(net, opt) {
  const w = Object.entries(net.stateDict()).map(([k, t]) => [k, Buffer.from(t.dataSync().buffer).toString('hex')]);
  const sd = opt.stateDict();
  const state = Object.entries(sd.state).map(([k, s]) => [k, Object.fromEntries(Object.entries(s).map(([e, t]) => [e, tg.isTensor(t) ? Buffer.from(t.dataSync().buffer).toString('hex') : t]))]);
  return JSON.stringify({ w, state, groups: sd.paramGroups });
}

test('the learning rates are exactly the geometric sequence from startLr to endLr; the data is cycled', async () => {
  const [x, y] = problem(16);
  const net = mlp();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const r = await tg.train.findLr(net, [x, y], { optimizer: opt, loss: 'crossEntropy', startLr: 1e-5, endLr: 1, steps: 11, batchSize: 4, divergeFactor: Infinity });
  assert.strictEqual(r.lrs.length, 11, '16 examples in batches of 4 are cycled to 11 steps');
  assert.strictEqual(r.stopped, 'completed');
  r.lrs.forEach((lr, i) => assert.strictEqual(lr, 1e-5 * Math.pow(1 / 1e-5, i / 10)));
  assert.ok(Math.abs(r.lrs[10] - 1) < 1e-12 && r.lrs[0] === 1e-5);
  for (let i = 1; i < 11; i++) assert.ok(Math.abs(r.lrs[i] / r.lrs[i - 1] - 10 ** 0.5) < 1e-12, 'constant ratio');
  assert.strictEqual(opt.paramGroups[0].lr, 0.1, 'lr restored');
  const j = JSON.parse(JSON.stringify(r));
  assert.deepStrictEqual(Object.keys(j), ['kind', 'lrs', 'losses', 'suggestion']);
  assert.strictEqual(j.kind, 'lr-finder');
  assert.deepStrictEqual(j.lrs, r.lrs);
  tg.dispose([x, y]);
  net.dispose();
  opt.dispose();
});

test('the recorded losses match a Python re-run of the same sweep (SGD with momentum, lr set per step, same weights and batches)', { skip: !hasPyTorch() && 'no Python PyTorch' }, async () => {
  const [x, y] = problem(24);
  const net = mlp(3);
  const sd = net.stateDict();
  const init = { w1: sd['fc1.weight'].clone(), b1: sd['fc1.bias'].clone(), w2: sd['fc2.weight'].clone(), b2: sd['fc2.bias'].clone() };
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
  const steps = 30;
  const r = await tg.train.findLr(net, [x, y], { optimizer: opt, loss: 'crossEntropy', startLr: 1e-4, endLr: 5, steps, batchSize: 8, shuffle: false, divergeFactor: Infinity });
  assert.strictEqual(r.lrs.length, steps);
  const lrs = tg.tensor(r.lrs, { dtype: 'float64' });
  const py = runTorch(`
import torch.nn.functional as F
w1, b1, w2, b2 = [T[k].float().clone().requires_grad_(True) for k in ('w1', 'b1', 'w2', 'b2')]
x, y = T['x'].float(), T['y']
opt = torch.optim.SGD([w1, b1, w2, b2], lr=0.1, momentum=0.9)
raw, smooth, avg = [], [], 0.0
for i, lr in enumerate(T['lrs'].tolist()):
    for g in opt.param_groups: g['lr'] = lr
    b = i % 3
    xb, yb = x[b*8:(b+1)*8], y[b*8:(b+1)*8]
    opt.zero_grad()
    loss = F.cross_entropy(F.linear(F.relu(F.linear(xb, w1, b1)), w2, b2), yb)
    loss.backward()
    opt.step()
    avg = 0.98 * avg + 0.02 * loss.item()
    raw.append(loss.item()); smooth.append(avg / (1 - 0.98 ** (i + 1)))
OUT['raw'] = torch.tensor(raw, dtype=torch.float64)
OUT['smooth'] = torch.tensor(smooth, dtype=torch.float64)
`, { ...init, x, y, lrs });
  for (const [name, got, want] of [['raw', r.rawLosses, py.raw.data], ['smoothed', r.losses, py.smooth.data]]) {
    got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) <= 1e-5 * Math.max(1, Math.abs(want[i])), `${name} loss ${i}: ${v} vs ${want[i]}`));
  }
  tg.dispose([x, y, lrs, ...Object.values(init)]);
  net.dispose();
  opt.dispose();
});

test('model weights and buffers, optimizer state and lr, mode and the CPU generator are restored bitwise', async () => {
  const [x, y] = problem(32);
  tg.manualSeed(1);
  const net = new tg.nn.Sequential({ fc1: new tg.nn.Linear(6, 8), bn: new tg.nn.BatchNorm1d(8), act: new tg.nn.ReLU(), drop: new tg.nn.Dropout(0.2), fc2: new tg.nn.Linear(8, 3) });
  const opt = new tg.optim.Adam(net.parameters(), { lr: 3e-3 });
  // Some optimizer state first, so that restoring it is not restoring nothing.
  await tg.fit(net, [x, y], { optimizer: opt, loss: 'crossEntropy', batchSize: 8, verbose: 0, seed: 2, engine: 'js' });
  net.eval();
  const before = snapshotBits(net, opt);
  const rngBefore = tg.defaultGenerator.getState();
  const r = await tg.train.findLr(net, [x, y], { optimizer: opt, loss: 'crossEntropy', steps: 20, batchSize: 8, endLr: 1 });
  assert.ok(r.lrs.length > 2);
  assert.strictEqual(snapshotBits(net, opt), before);
  assert.strictEqual(net.training, false, 'mode restored');
  const rngAfter = tg.defaultGenerator.getState();
  assert.ok(rngAfter.equal(rngBefore), 'generator state restored');
  assert.ok(net.parameters().every((p) => p.grad === undefined), 'gradients cleared');
  tg.dispose([x, y, rngBefore, rngAfter]);
  net.dispose();
  opt.dispose();
});

test('a loss that throws mid-sweep still leaves the weights and the optimizer as they were', async () => {
  const [x, y] = problem(32);
  const net = mlp(4);
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
  const before = snapshotBits(net, opt);
  let calls = 0;
  const loss = (out, t) => {
    if (++calls === 3) throw new RangeError('boom at step 3');
    return tg.nn.functional.crossEntropy(out, t);
  };
  await assert.rejects(tg.train.findLr(net, [x, y], { optimizer: opt, loss, batchSize: 8 }), /boom at step 3/);
  assert.strictEqual(snapshotBits(net, opt), before);
  tg.dispose([x, y]);
  net.dispose();
  opt.dispose();
});

test('a diverging sweep stops early; suggestions come from the curve as fastai computes them', async () => {
  const [x, y] = problem(64);
  const net = mlp(2);
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const r = await tg.train.findLr(net, [x, y], { optimizer: opt, loss: 'crossEntropy', startLr: 1e-3, endLr: 1e6, steps: 100, batchSize: 16 });
  assert.strictEqual(r.stopped, 'diverged');
  assert.ok(r.lrs.length < 100, `stopped after ${r.lrs.length} steps`);
  const last = r.losses[r.losses.length - 1];
  const best = Math.min(...r.losses.slice(0, -1));
  assert.ok(!Number.isFinite(last) || last > 4 * best, 'the last point is the divergence');
  const { steepest, minimum, valley } = r.suggestions;
  for (const s of [steepest, minimum, valley]) assert.ok(typeof s === 'number' && s > 0 && s <= 1e6, String(s));
  assert.strictEqual(r.suggestion, valley);
  tg.dispose([x, y]);
  net.dispose();
  opt.dispose();
});

test("suggestions match fastai's steep, minimum and valley (a Python transcription) on a known curve", { skip: !hasPyTorch() && 'no Python PyTorch' }, () => {
  const { lrSuggestions } = require('../dist/train/lr-suggestions');
  const lrs = Array.from({ length: 20 }, (_, i) => 10 ** (i / 4 - 4));
  const losses = [3, 3, 2.9, 2.8, 2.5, 2.0, 1.2, 1.0, 0.9, 0.85, 0.8, 0.82, 0.9, 1.5, 3, 6, 9, 12, 15, 20];
  const s = lrSuggestions(lrs, losses, 20);
  const py = runTorch(`
n_iter = 20
lrs, losses = T['lrs'][n_iter//10:-5], T['losses'][n_iter//10:-5]
lr_min = lrs[losses.argmin()].item()
grads = (losses[1:]-losses[:-1]) / (lrs[1:].log()-lrs[:-1].log())
n = len(losses)
max_start, max_end = 0, 0
lds = [1]*n
for i in range(1, n):
    for j in range(0, i):
        if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
            lds[i] = lds[j] + 1
        if lds[max_end] < lds[i]:
            max_end = i
            max_start = max_end - lds[max_end]
sections = (max_end - max_start) / 3
idx = max_start + int(sections) + int(sections/2)
OUT['s'] = torch.tensor([lrs[grads.argmin()].item(), lr_min / 10, float(lrs[idx])], dtype=torch.float64)
`, { lrs: tg.tensor(lrs, { dtype: 'float64' }), losses: tg.tensor(losses, { dtype: 'float64' }) });
  const [steepest, minimum, valley] = py.s.data;
  assert.deepStrictEqual(s, { steepest, minimum, valley });
  assert.strictEqual(s.steepest, lrs[5], 'the steepest fall is 2.0 -> 1.2');
  assert.deepStrictEqual(lrSuggestions([1e-3], [Infinity], 100), { steepest: undefined, minimum: undefined, valley: undefined });
});

test('bad options are clear errors, and nothing runs', async () => {
  const [x, y] = problem(8);
  const net = mlp();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const base = { optimizer: opt, loss: 'crossEntropy' };
  const cases = [
    [{ ...base, startLr: 0 }, RangeError, /startLr must be a finite number > 0/],
    [{ ...base, startLr: 1, endLr: 0.1 }, RangeError, /endLr \(0.1\) must be greater than startLr/],
    [{ ...base, steps: 1 }, RangeError, /steps must be an integer >= 2/],
    [{ ...base, steps: 2.5 }, RangeError, /steps/],
    [{ ...base, smoothing: 1 }, RangeError, /smoothing must be a number in \[0, 1\)/],
    [{ ...base, divergeFactor: 0.5 }, RangeError, /divergeFactor must be a number > 1/],
    [{ ...base, batchSize: 0 }, RangeError, /batchSize/],
    [{ ...base, stepz: 3 }, TypeError, /unknown option 'stepz'/],
    [{ ...base, optimizer: { zeroGrad() {}, step() {} } }, TypeError, /tg.optim optimizer/],
    [{ optimizer: opt }, TypeError, /loss is required/],
    [{ ...base, loss: 'nope' }, TypeError, /nope/],
  ];
  for (const [o, cls, re] of cases) await assert.rejects(tg.train.findLr(net, [x, y], o), (e) => e instanceof cls && re.test(e.message), JSON.stringify(Object.keys(o)));
  await assert.rejects(tg.train.findLr({ forward() {} }, [x, y], base), TypeError);
  await assert.rejects(tg.train.findLr(net, [], base), TypeError);
  await assert.rejects(tg.train.findLr(net, () => [], base), (e) => e.code === 'ERR_EMPTY_DATA');
  assert.strictEqual(opt.paramGroups[0].lr, 0.1);
  tg.dispose([x, y]);
  net.dispose();
  opt.dispose();
});
