'use strict';
// tg.amp.GradScaler on CPU tensors: PyTorch's algorithm (golden: torch.amp.GradScaler('cpu') on 2.x, a transcription of
// torch.cuda.amp.GradScaler on 1.13) with steps skipped on inf and NaN, the scale halved and grown; misuse and state dicts.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { runTorch, hasPyTorch } = require('./helpers/torch');
const { CUDA_SKIP } = require('./helpers/cuda');
// tg.amp is the namespace lib/index.ts exports (`export * as amp from './amp'`); dist/amp until it does.
const amp = tg.amp ?? require('../dist/amp');
const F = tg.nn.functional;

const STEPS = 7;
const BAD = { 3: Infinity, 5: NaN };  // an inf input at step 3, a NaN at step 5: both steps must be skipped

function problem() {
  tg.manualSeed(21);
  const w = tg.randn([3, 4]).mul_(0.5).requiresGrad_(true);
  const b = tg.zeros([3]).requiresGrad_(true);
  const xs = [];
  const ys = [];
  for (let i = 0; i < STEPS; i++) {
    const x = tg.randn([5, 4]);
    if (BAD[i] !== undefined) tg.noGrad(() => x.narrow(0, 1, 1).narrow(1, 2, 1).fill_(BAD[i]));
    xs.push(x);
    ys.push(tg.randn([5, 3]));
  }
  return { w, b, xs, ys };
}

const PY_TRANSCRIPTION = `
import numpy as np
f32 = lambda v: float(np.float32(v))
class Scaler:
    """torch.cuda.amp.GradScaler (1.13) transcribed for CPU tensors: _amp_foreach_non_finite_check_and_unscale_ and _amp_update_scale_ by hand."""
    def __init__(self, init_scale=2.**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000):
        self._scale = torch.full((1,), init_scale, dtype=torch.float32)
        self._growth_tracker = 0
        self.gf, self.bf, self.gi = growth_factor, backoff_factor, growth_interval
        self.found = None
        self.unscaled = False
    def scale(self, out): return out * self._scale
    def unscale_(self, opt):
        inv = self._scale.double().reciprocal().float()
        found = torch.zeros((1,))
        for g in opt.param_groups:
            for p in g['params']:
                if p.grad is None: continue
                if not torch.isfinite(p.grad).all(): found.fill_(1.0)
                p.grad.mul_(inv)
        self.found = found
        self.unscaled = True
    def step(self, opt):
        if not self.unscaled: self.unscale_(opt)
        if not self.found.item(): opt.step()
    def update(self):
        s = self._scale.item()
        if self.found.item():
            self._scale.fill_(f32(s * self.bf)); self._growth_tracker = 0
        else:
            ok = self._growth_tracker + 1
            if ok == self.gi:
                ns = f32(s * self.gf)
                if np.isfinite(ns): self._scale.fill_(ns)
                self._growth_tracker = 0
            else: self._growth_tracker = ok
        self.unscaled = False
    def get_scale(self): return self._scale.item()
    def _get_growth_tracker(self): return self._growth_tracker
`;

test('golden: seven SGD steps under loss scaling, an inf and a NaN step skipped with the scale halved, growth every 2 good steps', { skip: !hasPyTorch() && 'no Python PyTorch' }, () => {
  const { w, b, xs, ys } = problem();
  const init = { w0: w.detach().clone(), b0: b.detach().clone() };
  const opt = new tg.optim.SGD([['w', w], ['b', b]], { lr: 0.05, momentum: 0.9 });
  const scaler = new amp.GradScaler({ initScale: 2 ** 10, growthInterval: 2 });
  const record = [];
  let firstGrad;
  let scaledShape;
  for (let i = 0; i < STEPS; i++) {
    opt.zeroGrad();
    const loss = F.mseLoss(F.linear(xs[i], w, b), ys[i]);
    const scaled = scaler.scale(loss);
    scaledShape ??= scaled.shape;
    scaled.backward();
    scaler.unscale_(opt);
    if (i === 0) firstGrad = w.grad;
    const stepped = scaler.step(opt);
    scaler.update();
    record.push(stepped ? 1 : 0, scaler.getScale(), scaler.getGrowthTracker());
    tg.dispose([loss, scaled]);
  }
  const xsT = tg.stack(xs);
  const ysT = tg.stack(ys);
  const py = runTorch(`${PY_TRANSCRIPTION}
import torch.nn.functional as F
w = T['w0'].float().requires_grad_(True); b = T['b0'].float().requires_grad_(True)
opt = torch.optim.SGD([w, b], lr=0.05, momentum=0.9)
real = hasattr(torch, 'amp') and hasattr(torch.amp, 'GradScaler')
scaler = torch.amp.GradScaler('cpu', init_scale=2.**10, growth_interval=2) if real else Scaler(init_scale=2.**10, growth_interval=2)
rec = []
for i in range(${STEPS}):
    opt.zero_grad()
    loss = F.mse_loss(F.linear(T['xs'][i].float(), w, b), T['ys'][i].float())
    scaled = scaler.scale(loss)
    if i == 0: OUT['scaled_shape'] = torch.tensor(list(scaled.shape))
    scaled.backward()
    scaler.unscale_(opt)
    if i == 0: OUT['g0'] = w.grad.clone()
    before = w.detach().clone()
    scaler.step(opt)
    scaler.update()
    rec += [0 if torch.equal(before, w.detach()) else 1, scaler.get_scale(), scaler._get_growth_tracker()]
OUT['rec'] = torch.tensor(rec, dtype=torch.float64)
OUT['w'] = w; OUT['b'] = b
OUT['real'] = torch.tensor([1 if real else 0])
`, { ...init, xs: xsT, ys: ysT });
  assert.deepStrictEqual(scaledShape, [...py.scaled_shape.data].map(Number), 'the scaled loss has the scale tensor\'s shape [1]');
  assert.deepStrictEqual(record, [...py.rec.data], 'stepped?, scale, growth tracker after each update');
  // The expected run: good, good (grow to 2048), good, inf (skip, 1024), good, NaN (skip, 512), good.
  assert.deepStrictEqual(record.filter((_, k) => k % 3 === 0), [1, 1, 1, 0, 1, 0, 1]);
  assert.deepStrictEqual(record.filter((_, k) => k % 3 === 1), [1024, 2048, 2048, 1024, 1024, 512, 512]);
  assert.ok(firstGrad.equal(tg.tensor([...py.g0.data], { dtype: 'float32' }).reshape([3, 4])), 'unscaled gradients bitwise');
  for (const [name, t] of [['w', w], ['b', b]]) {
    const got = t.detach().toArray().flat();
    got.forEach((v, k) => assert.ok(Math.abs(v - py[name].data[k]) <= 1e-6 * Math.max(1, Math.abs(py[name].data[k])), `${name}[${k}] ${v} vs ${py[name].data[k]}`));
  }
  tg.dispose([w, b, ...xs, ...ys, xsT, ysT, firstGrad, ...Object.values(init)]);
  opt.dispose();
});

test('a skipped step leaves weights and optimizer state untouched; a scale that would overflow float32 does not grow', () => {
  const w = tg.ones([2]).requiresGrad_(true);
  const opt = new tg.optim.Adam([w], { lr: 0.1 });
  const scaler = new amp.GradScaler({ initScale: 3e38, growthInterval: 1 });
  scaler.scale(w.mul(tg.tensor([1, Infinity])).sum()).backward();
  assert.strictEqual(scaler.step(opt), false);
  assert.deepStrictEqual(w.detach().toArray(), [1, 1]);
  assert.deepStrictEqual(Object.keys(opt.stateDict().state), [], 'no Adam state: the step never ran');
  scaler.update();
  assert.strictEqual(scaler.getScale(), Math.fround(1.5e38));
  opt.zeroGrad();
  scaler.scale(w.sum()).backward();
  assert.strictEqual(scaler.step(opt), true);
  scaler.update();
  assert.strictEqual(scaler.getScale(), Math.fround(3e38), 'grown once: 1.5e38 * 2 is still finite in float32');
  opt.zeroGrad();
  scaler.scale(w.sum()).backward();
  scaler.step(opt);
  scaler.update();
  assert.strictEqual(scaler.getScale(), Math.fround(3e38), 'not grown past float32');
  assert.strictEqual(scaler.getGrowthTracker(), 0);
  w.dispose();
  opt.dispose();
});

test('misuse is a clear error: unscale_ twice, step twice, update before any step, float16 gradients, no gradients', () => {
  const w = tg.ones([2]).requiresGrad_(true);
  const opt = new tg.optim.SGD([w], { lr: 0.1 });
  const s = new amp.GradScaler();
  assert.throws(() => s.update(), /call scale\(\) first/);
  s.scale(w.sum()).backward();
  assert.throws(() => s.update(), /no inf checks were recorded prior to update/);
  s.unscale_(opt);
  assert.throws(() => s.unscale_(opt), /already been called on this optimizer since the last update/);
  s.step(opt);
  assert.throws(() => s.step(opt), /step\(\) has already been called since the last update/);
  assert.throws(() => s.unscale_(opt), /called after step/);
  s.update();
  opt.zeroGrad();
  assert.throws(() => s.step(opt), /no inf checks were recorded for this optimizer/);
  s.update(7);
  assert.strictEqual(s.getScale(), 7);
  assert.throws(() => s.update(-1), RangeError);
  const h = tg.ones([2], { dtype: 'float16' }).requiresGrad_(true);
  const opt16 = new tg.optim.SGD([h], { lr: 0.1 });
  s.scale(h.sum()).backward();
  assert.throws(() => s.unscale_(opt16), (e) => e instanceof TypeError && /float16 gradients/.test(e.message));
  assert.throws(() => s.step({}), /tg.optim optimizer/);
  assert.throws(() => s.scale('loss'), TypeError);
  for (const bad of [{ initScale: 0 }, { growthFactor: 1 }, { backoffFactor: 1 }, { growthInterval: 1.5 }, { enabled: 1 }, { growth: 2 }])
    assert.throws(() => new amp.GradScaler(bad), (e) => e instanceof RangeError || e instanceof TypeError, JSON.stringify(bad));
  tg.dispose([w, h]);
  opt.dispose();
  opt16.dispose();
});

test('stateDict is plain JSON and loads back, also from PyTorch\'s keys; a disabled scaler passes everything through', () => {
  const w = tg.ones([2]).requiresGrad_(true);
  const opt = new tg.optim.SGD([w], { lr: 0.1 });
  const s = new amp.GradScaler({ initScale: 256, growthInterval: 3 });
  assert.deepStrictEqual(s.stateDict(), { scale: 256, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3, growthTracker: 0 });
  s.scale(w.sum()).backward();
  s.step(opt);
  s.update();
  const sd = JSON.parse(JSON.stringify(s.stateDict()));
  assert.deepStrictEqual(sd, { scale: 256, growthFactor: 2, backoffFactor: 0.5, growthInterval: 3, growthTracker: 1 });
  const t = new amp.GradScaler();
  t.loadStateDict(sd);
  assert.deepStrictEqual(t.stateDict(), sd);
  const u = new amp.GradScaler();
  u.loadStateDict({ scale: 512, growth_factor: 4, backoff_factor: 0.25, growth_interval: 10, _growth_tracker: 2 });
  assert.deepStrictEqual(u.stateDict(), { scale: 512, growthFactor: 4, backoffFactor: 0.25, growthInterval: 10, growthTracker: 2 });
  assert.throws(() => u.loadStateDict({}), /saved from a disabled GradScaler/);
  assert.throws(() => u.loadStateDict({ ...sd, growthTracker: -1 }), RangeError);
  const off = new amp.GradScaler({ enabled: false });
  const loss = w.sum();
  assert.strictEqual(off.scale(loss), loss);
  assert.strictEqual(off.getScale(), 1);
  assert.deepStrictEqual(off.stateDict(), {});
  opt.zeroGrad();
  loss.backward();
  assert.strictEqual(off.step(opt), true);
  assert.deepStrictEqual(w.detach().toArray().map((v) => Math.round(v * 1e6) / 1e6), [0.8, 0.8]);
  tg.dispose([w, loss]);
  opt.dispose();
});

test('CUDA: a float16 autocast step with the scaler, an inf gradient skipped', { skip: CUDA_SKIP }, () => {
  const w = tg.ones([4, 3], { device: 'cuda' }).requiresGrad_(true);
  const opt = new tg.optim.SGD([w], { lr: 0.1 });
  const s = new amp.GradScaler();
  const x = tg.tensor([[1, 2, 3], [4, 5, Infinity]]).to('cuda');
  const loss = amp.autocast(() => F.linear(x, w).float().sum(), { deviceType: 'cuda' });
  s.scale(loss).backward();
  assert.strictEqual(s.step(opt), false);
  s.update();
  assert.strictEqual(s.getScale(), 2 ** 15);
  tg.dispose([w, x, loss]);
  opt.dispose();
});
