'use strict';
// LR schedules: the learning rates (and OneCycle's momentum) of each group, step by step, against PyTorch's.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { runTorch, hasPyTorch } = require('./helpers/torch');

const skipPy = hasPyTorch() ? false : 'no PyTorch at /usr/bin/python3';
const METRICS = [1, 0.9, 0.95, 0.91, 0.92, 0.93, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.45, 0.6, 0.6, 0.6, 0.6, 0.6];

// Each case: optimizer ('sgd' | 'adam'), steps, the Python scheduler expression, and the same in torchgraft.
const CASES = {
  step: ['sgd', 12, 'lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)', (o) => new tg.optim.StepLR(o, { stepSize: 3, gamma: 0.5 })],
  exponential: ['sgd', 12, 'lr_scheduler.ExponentialLR(opt, gamma=0.9)', (o) => new tg.optim.ExponentialLR(o, { gamma: 0.9 })],
  cosine: ['sgd', 25, 'lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.001)', (o) => new tg.optim.CosineAnnealingLR(o, { tMax: 5, etaMin: 0.001 })],
  onecycle_sgd: ['sgd', 19, 'lr_scheduler.OneCycleLR(opt, max_lr=[0.5, 0.05], total_steps=20)', (o) => new tg.optim.OneCycleLR(o, { maxLr: [0.5, 0.05], totalSteps: 20 })],
  onecycle_adam: [
    'adam',
    19,
    "lr_scheduler.OneCycleLR(opt, max_lr=0.01, epochs=4, steps_per_epoch=5, pct_start=0.25, anneal_strategy='linear', three_phase=True, base_momentum=[0.8, 0.7], div_factor=10.0)",
    (o) => new tg.optim.OneCycleLR(o, { maxLr: 0.01, epochs: 4, stepsPerEpoch: 5, pctStart: 0.25, annealStrategy: 'linear', threePhase: true, baseMomentum: [0.8, 0.7], divFactor: 10 }),
  ],
  plateau_min: [
    'sgd',
    METRICS.length,
    'lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, cooldown=1, min_lr=[0.01, 0.001], threshold=0.01)',
    (o) => new tg.optim.ReduceLROnPlateau(o, { factor: 0.5, patience: 2, cooldown: 1, minLr: [0.01, 0.001], threshold: 0.01 }),
  ],
  plateau_max_abs: [
    'sgd',
    METRICS.length,
    "lr_scheduler.ReduceLROnPlateau(opt, mode='max', threshold_mode='abs', threshold=0.05, patience=1, factor=0.3)",
    (o) => new tg.optim.ReduceLROnPlateau(o, { mode: 'max', thresholdMode: 'abs', threshold: 0.05, patience: 1, factor: 0.3 }),
  ],
};

function pythonScript() {
  let code = `from torch.optim import lr_scheduler\nimport warnings\nwarnings.simplefilter('ignore')\nMETRICS = [${METRICS.join(', ')}]\n`;
  for (const [name, [kind, steps, expr]] of Object.entries(CASES)) {
    const opt =
      kind === 'sgd'
        ? 'torch.optim.SGD([dict(params=[a], lr=0.1), dict(params=[b], lr=0.01)], lr=0.1, momentum=0.9)'
        : 'torch.optim.Adam([dict(params=[a], lr=0.1), dict(params=[b], lr=0.01)])';
    const mom = kind === 'sgd' ? "g['momentum']" : "g['betas'][0]";
    const plateau = name.startsWith('plateau');
    code += `
a = torch.zeros(2, requires_grad=True); b = torch.zeros(2, requires_grad=True)
opt = ${opt}
sched = ${expr}
lrs = [[g['lr'] for g in opt.param_groups]]; moms = [[${mom} for g in opt.param_groups]]
for i in range(${steps}):
    opt.step()
    sched.step(${plateau ? 'METRICS[i]' : ''})
    lrs.append([g['lr'] for g in opt.param_groups]); moms.append([${mom} for g in opt.param_groups])
OUT['${name}_lr'] = torch.tensor(lrs, dtype=torch.float64)
OUT['${name}_mom'] = torch.tensor(moms, dtype=torch.float64)
`;
  }
  return code;
}

function runJs(name) {
  const [kind, steps, , make] = CASES[name];
  const a = tg.zeros([2], { requiresGrad: true });
  const b = tg.zeros([2], { requiresGrad: true });
  const groups = [{ params: [a], lr: 0.1 }, { params: [b], lr: 0.01 }];
  const opt = kind === 'sgd' ? new tg.optim.SGD(groups, { lr: 0.1, momentum: 0.9 }) : new tg.optim.Adam(groups);
  const sched = make(opt);
  const mom = (g) => (kind === 'sgd' ? g.momentum : g.betas[0]);
  const lrs = [opt.paramGroups.map((g) => g.lr)];
  const moms = [opt.paramGroups.map(mom)];
  for (let i = 0; i < steps; i++) {
    opt.step();
    if (name.startsWith('plateau')) sched.step(METRICS[i]);
    else sched.step();
    lrs.push(opt.paramGroups.map((g) => g.lr));
    moms.push(opt.paramGroups.map(mom));
  }
  assert.deepStrictEqual(sched.getLastLr(), lrs[lrs.length - 1]);
  return { lrs: lrs.flat(), moms: moms.flat() };
}

function close(got, want, what) {
  assert.strictEqual(got.length, want.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    const err = Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), 1e-300);
    assert.ok(err < 1e-12, `${what}[${i}]: ${got[i]} vs PyTorch ${want[i]}`);
  }
}

let expected;
for (const name of Object.keys(CASES)) {
  test(`${name}: each group's learning rate follows PyTorch's sequence`, { skip: skipPy }, () => {
    expected ??= runTorch(pythonScript());
    const { lrs, moms } = runJs(name);
    close(lrs, Array.from(expected[`${name}_lr`].data), `${name} lr`);
    close(moms, Array.from(expected[`${name}_mom`].data), `${name} momentum`);
  });
}

test('a scheduler resumed from its state dict continues the same sequence', () => {
  // PyTorch's resume order: build optimizer and scheduler, then load the optimizer's and the scheduler's state.
  const make = () => new tg.optim.SGD([tg.zeros([1], { requiresGrad: true })], { lr: 0.1, momentum: 0.9 });
  const ref = make();
  const refSched = new tg.optim.CosineAnnealingLR(ref, { tMax: 3, etaMin: 0.01 });
  const want = [];
  for (let i = 0; i < 10; i++) {
    refSched.step();
    if (i >= 4) want.push(ref.paramGroups[0].lr);
  }
  const a = make();
  const schedA = new tg.optim.CosineAnnealingLR(a, { tMax: 3, etaMin: 0.01 });
  for (let i = 0; i < 4; i++) schedA.step();
  const saved = JSON.parse(JSON.stringify({ opt: a.stateDict(), sched: schedA.stateDict() }));
  const b = make();
  const schedB = new tg.optim.CosineAnnealingLR(b, { tMax: 3 });
  b.loadStateDict(saved.opt);
  schedB.loadStateDict(saved.sched);
  const got = [];
  for (let i = 0; i < 6; i++) {
    schedB.step();
    got.push(b.paramGroups[0].lr);
  }
  assert.deepStrictEqual(got, want);
});

test('schedulers reject bad settings with clear errors', () => {
  const opt = new tg.optim.SGD([tg.zeros([1], { requiresGrad: true })], { lr: 0.1 });
  assert.throws(() => new tg.optim.StepLR(opt, { stepSize: 0 }), /StepLR: stepSize: expected a positive integer/);
  assert.throws(() => new tg.optim.StepLR({}, { stepSize: 1 }), /expected a tg.optim optimizer/);
  assert.throws(() => new tg.optim.ReduceLROnPlateau(opt, { factor: 1.5 }), /factor: expected a factor < 1/);
  assert.throws(() => new tg.optim.OneCycleLR(opt, { maxLr: 0.1 }), /give totalSteps, or epochs and stepsPerEpoch/);
  assert.throws(() => new tg.optim.OneCycleLR(opt, { maxLr: [0.1, 0.2], totalSteps: 5 }), /expected 1 values for maxLr, got 2/);
  const ada = new tg.optim.Adagrad([tg.zeros([1], { requiresGrad: true })]);
  assert.throws(() => new tg.optim.OneCycleLR(ada, { maxLr: 0.1, totalSteps: 5 }), /no momentum or betas to cycle/);
  const s = new tg.optim.OneCycleLR(opt, { maxLr: 0.1, totalSteps: 2, cycleMomentum: false });
  s.step();
  s.step();
  assert.throws(() => s.step(), /tried to step 4 times; the specified number of total steps is 2/);
});
