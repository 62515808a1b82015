#!/usr/bin/env node
// Benchmark (not a test): one training step (forward, cross-entropy, backward, Adam step) of an MLP 784-300-100-10
// at batch 512, in torchgraft and in Python PyTorch in the same run, with all layers trainable and with the first
// two frozen. Rounds interleave the two sides so load on a shared machine falls on both alike.
// Usage: node bench/train-step.js [--steps N] [--trials T] [--rounds R] [--threads K] [--device cpu|cuda]
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const os = require('node:os');

const root = path.resolve(__dirname, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const STEPS = Number(arg('steps', 30));
const TRIALS = Number(arg('trials', 3));
const ROUNDS = Number(arg('rounds', 2));
const THREADS = Number(arg('threads', Math.min(os.cpus().length, 4)));
const DEVICE = arg('device', 'cpu');
const PYTHON = process.env.TG_BENCH_PYTHON || '/usr/bin/python3';

const tg = require(root);
tg.setNumThreads(THREADS);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// ---- torchgraft
function jsSetup(frozen) {
  tg.manualSeed(0);
  const net = new tg.nn.Sequential([
    new tg.nn.Linear(784, 300), new tg.nn.ReLU(), new tg.nn.Linear(300, 100), new tg.nn.ReLU(), new tg.nn.Linear(100, 10),
  ]).to(DEVICE);
  if (frozen) net.freeze(['0', '2']);
  const x = tg.keep(tg.randn([512, 784], { device: DEVICE }));
  const y = tg.keep(tg.randint(0, 10, [512], { device: DEVICE }));
  const opt = new tg.optim.Adam(net.trainableParameters(), { lr: 1e-3 });
  const step = () =>
    tg.tidy(() => {
      opt.zeroGrad();
      const loss = tg.nn.functional.crossEntropy(net.forward(x), y);
      loss.backward();
      opt.step();
    });
  return { step, dispose: () => (net.dispose(), x.dispose(), y.dispose(), opt.dispose()) };
}
function jsTrials(frozen) {
  const { step, dispose } = jsSetup(frozen);
  for (let i = 0; i < 5; i++) step();
  if (DEVICE !== 'cpu') tg.cuda.synchronize();
  const out = [];
  for (let t = 0; t < TRIALS; t++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < STEPS; i++) step();
    if (DEVICE !== 'cpu') tg.cuda.synchronize();
    out.push(Number(process.hrtime.bigint() - t0) / 1e6 / STEPS);
  }
  dispose();
  return out;
}

// ---- Python PyTorch: the same network, data shapes and optimizer, timed inside Python
const PY = `
import sys, time, json, torch
torch.set_num_threads(${THREADS})
dev = '${DEVICE}'
out = {}
for frozen in (False, True):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10)).to(dev)
    if frozen:
        for p in list(net[0].parameters()) + list(net[2].parameters()): p.requires_grad_(False)
    x = torch.randn(512, 784, device=dev); y = torch.randint(0, 10, (512,), device=dev)
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
    for _ in range(5): step()
    if dev != 'cpu': torch.cuda.synchronize()
    trials = []
    for _ in range(${TRIALS}):
        t0 = time.perf_counter()
        for _ in range(${STEPS}): step()
        if dev != 'cpu': torch.cuda.synchronize()
        trials.append((time.perf_counter() - t0) * 1000 / ${STEPS})
    out['frozen' if frozen else 'all'] = trials
print(json.dumps(out))
`;
function pyTrials() {
  const r = spawnSync(PYTHON, ['-c', PY], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const res = { js: { all: [], frozen: [] }, py: { all: [], frozen: [] } };
for (let round = 0; round < ROUNDS; round++) {
  const py = pyTrials();
  res.py.all.push(...py.all);
  res.py.frozen.push(...py.frozen);
  res.js.all.push(...jsTrials(false));
  res.js.frozen.push(...jsTrials(true));
}
console.log(`MLP 784-300-100-10, batch 512, Adam; ${DEVICE}, ${THREADS} thread(s); ${ROUNDS} rounds x ${TRIALS} trials x ${STEPS} steps; ms/step, median (min)`);
console.log('case                 torchgraft        Python           torchgraft/Python');
for (const k of ['all', 'frozen']) {
  const j = median(res.js[k]);
  const p = median(res.py[k]);
  const label = k === 'all' ? 'all trainable' : 'first two frozen';
  console.log(
    `${label.padEnd(20)} ${j.toFixed(3).padStart(7)} (${Math.min(...res.js[k]).toFixed(3)})  ${p.toFixed(3).padStart(7)} (${Math.min(...res.py[k]).toFixed(3)})  ${(j / p).toFixed(2)}  ${j / p <= 1 ? 'target met (<= 1.0)' : 'target missed (<= 1.0)'}`,
  );
}
