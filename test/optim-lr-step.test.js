'use strict';
// Each group's lr reaches the native optimizer: seen through the parameter's actual SGD step, p_new - p_old = -lr * grad.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

// Asserts that plain SGD (no momentum, no weight decay) moved `after` from `before` by exactly -lr * grad.
function assertStep(before, after, grad, lr, what) {
  const b = before.dataSync();
  const a = after.dataSync();
  const g = grad.dataSync();
  assert.ok(g.some((v) => v !== 0), `${what}: the gradient is not all zero`);
  for (let i = 0; i < b.length; i++) {
    const want = b[i] - lr * g[i];
    assert.ok(Math.abs(a[i] - want) <= 1e-6 + 1e-5 * Math.abs(want), `${what}[${i}]: moved to ${a[i]}, expected ${want} (lr ${lr})`);
  }
}

// One SGD step on a loss with gradient 2 * p * [1, 2, 3, ...] for every parameter; checks each against its group's lr.
function stepAndCheck(opt, params, lrs) {
  const before = params.map((p) => p.detach().clone());
  opt.zeroGrad();
  params.reduce((s, p) => s.add(p.mul(p).mul(tg.arange(1, p.shape[0] + 1)).sum()), tg.tensor(0)).backward();
  opt.step();
  params.forEach((p, i) => assertStep(before[i], p.detach(), p.grad, lrs[i], `param ${i}`));
}

const param = (vals) => tg.tensor(vals, { requiresGrad: true });

test('SGD: constructor groups step each parameter by its own group lr', () => {
  const a = param([0.5, -1.5, 2.0]);
  const b = param([1.0, 0.25, -0.75]);
  const opt = new tg.optim.SGD([{ params: [a], lr: 0.1 }, { params: [b], lr: 0.003 }], { lr: 0.5 });
  stepAndCheck(opt, [a, b], [0.1, 0.003]);
});

test('SGD: a group added with addParamGroup steps by its own lr, not the defaults or the first group', () => {
  const a = param([0.5, -1.5, 2.0]);
  const c = param([1.5, 2.0, -3.0, 0.5]);
  const opt = new tg.optim.SGD([a], { lr: 0.1 });
  opt.addParamGroup({ params: [c], lr: 0.001 });
  assert.strictEqual(opt.paramGroups[1].lr, 0.001);
  stepAndCheck(opt, [a, c], [0.1, 0.001]);
  // A group added without its own lr takes the defaults'.
  const d = param([0.3, -0.2]);
  opt.addParamGroup({ params: [d] });
  stepAndCheck(opt, [a, c, d], [0.1, 0.001, 0.1]);
});

test('SGD: setting paramGroups[i].lr changes that group\'s next step, exactly', () => {
  const a = param([0.5, -1.5, 2.0]);
  const b = param([1.0, 0.25, -0.75]);
  const opt = new tg.optim.SGD([{ params: [a] }, { params: [b] }], { lr: 0.1 });
  opt.paramGroups[1].lr = 0.02;
  stepAndCheck(opt, [a, b], [0.1, 0.02]);
});

// fineTune's phase 2 with plain SGD: every step of every parameter is -lr * grad with its layer group's rate.
test('fineTune: the discriminative rates reach the optimizer (each base layer steps at its own lr)', async (t) => {
  tg.manualSeed(5);
  const x = tg.randn([32, 6]);
  const y = tg.randint(0, 3, [32]);
  const pre = new tg.nn.Sequential({ hidden1: new tg.nn.Linear(6, 8), act1: new tg.nn.ReLU(), hidden2: new tg.nn.Linear(8, 8), act2: new tg.nn.ReLU(), outputs: new tg.nn.Linear(8, 4) });
  const m = tg.transfer.reuse(pre, { upTo: 'act2', head: { out: new tg.nn.Linear(8, 3) } });
  const checked = { 1: 0, 2: 0 };
  const rates = {};
  // The JS loop calls opt.step (the native engine steps the native optimizer directly); fineTune passes no engine.
  const engine = process.env.TORCHGRAFT_FIT_ENGINE;
  process.env.TORCHGRAFT_FIT_ENGINE = 'js';
  t.after(() => (engine === undefined ? delete process.env.TORCHGRAFT_FIT_ENGINE : (process.env.TORCHGRAFT_FIT_ENGINE = engine)));
  await tg.transfer.fineTune(m, [x, y], {
    freezeEpochs: 1, epochs: 2, baseLr: 0.08, lrMult: 4, loss: 'crossEntropy', verbose: 0, batchSize: 16, seed: 1,
    optimizer: (groups, phase) => {
      const opt = new tg.optim.SGD(groups);
      const step = opt.step.bind(opt);
      // Wraps step: every parameter with a gradient must move by exactly -lr * grad of its group.
      opt.step = () => {
        const moving = groups.flatMap((g) => g.params.map(([n, p]) => ({ n, p, lr: g.lr, before: p.detach().clone() })));
        step();
        for (const { n, p, lr, before } of moving) {
          if (!p.grad) continue;
          assertStep(before, p.detach(), p.grad, lr, `phase ${phase} ${n}`);
          rates[n] = lr;
        }
        checked[phase]++;
      };
      return opt;
    },
  });
  assert.deepStrictEqual(checked, { 1: 2, 2: 4 }, 'two batches per epoch, every step checked');
  // Phase 2: the head at baseLr / 2, spread down geometrically to lrMult times slower at the bottom (as transfer-fine-tune).
  assert.deepStrictEqual(rates, {
    'out.weight': 0.04, 'out.bias': 0.04, 'hidden1.weight': 0.01, 'hidden1.bias': 0.01, 'hidden2.weight': 0.02, 'hidden2.bias': 0.02,
  });
});
