#!/usr/bin/env node
// Benchmark (not a test): one training step (forward, cross-entropy, backward, Adam step) of an MLP 784-300-100-10
// at batch 512, in torchgraft and in Python PyTorch in the same run, with all layers trainable and with the first
// two frozen. Rounds interleave the two sides so load on a shared machine falls on both alike.
// Usage: node bench/train-step.js [--steps N] [--trials T] [--rounds R] [--threads K] [--device cpu|cuda] [--json FILE]
// Each step is timed on its own: the median, minimum, p90 and median/minimum (the spread) and page faults per step.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const os = require('node:os');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const { arg } = require('./helpers/args');
const STEPS = Number(arg('steps', 30));
const TRIALS = Number(arg('trials', 3));
const ROUNDS = Number(arg('rounds', 2));
const THREADS = Number(arg('threads', Math.min(os.cpus().length, 4)));
const DEVICE = arg('device', 'cpu');
const PYTHON = process.env.TG_BENCH_PYTHON || '/usr/bin/python3';

// the malloc tuning is opt-in (README, Reliability): measure with it, as the results say
process.env.TORCHGRAFT_MALLOC_TUNING ??= '1';
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
  const steps = [];
  const f0 = process.resourceUsage().minorPageFault;
  for (let i = 0; i < STEPS * TRIALS; i++) {
    const t0 = process.hrtime.bigint();
    step();
    if (DEVICE !== 'cpu') tg.cuda.synchronize();
    steps.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const faults = (process.resourceUsage().minorPageFault - f0) / steps.length;
  dispose();
  return { steps, faults };
}

// ---- Python PyTorch: the same network, data shapes and optimizer, timed inside Python
const PY = `
import sys, time, json, resource, torch
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
    steps = []
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(${STEPS * TRIALS}):
        t0 = time.perf_counter()
        step()
        if dev != 'cpu': torch.cuda.synchronize()
        steps.append((time.perf_counter() - t0) * 1000)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / len(steps)
    out['frozen' if frozen else 'all'] = {'steps': steps, 'faults': faults}
print(json.dumps(out))
`;
// Python as its users run it (glibc's malloc defaults), and with the malloc thresholds torchgraft sets (the same
// tuning through glibc's environment variables), so the comparison shows what the tuning buys on each side.
const PY_MALLOC = { MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(256 << 20) };
function pyTrials(tuned) {
  // torch.set_num_threads leaves OpenBLAS's own pool alone; tg.setNumThreads sizes it: give Python the same threads
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(THREADS), OMP_NUM_THREADS: String(THREADS), ...(tuned ? PY_MALLOC : {}) };
  const r = spawnSync(PYTHON, ['-c', PY], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const SIDES = ['js', 'py', 'pyTuned'];
const res = Object.fromEntries(SIDES.map((s) => [s, { all: { steps: [], faults: [] }, frozen: { steps: [], faults: [] } }]));
const add = (side, k, r) => (res[side][k].steps.push(...r.steps), res[side][k].faults.push(r.faults));
for (let round = 0; round < ROUNDS; round++) {
  for (const [side, tuned] of [['py', false], ['pyTuned', true]]) {
    const py = pyTrials(tuned);
    for (const k of ['all', 'frozen']) add(side, k, py[k]);
  }
  add('js', 'all', jsTrials(false));
  add('js', 'frozen', jsTrials(true));
}
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const stats = (r) => ({ median: median(r.steps), min: Math.min(...r.steps), p90: quantile(r.steps, 0.9), faults: mean(r.faults) });
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))];
}
const machine = `${os.cpus()[0].model.trim()}, ${os.cpus().length} cores, Node ${process.version}, LibTorch ${tg.buildInfo().torchVersion}, load ${os.loadavg()[0].toFixed(1)}`;
console.log(`MLP 784-300-100-10, batch 512, Adam; ${DEVICE}, ${THREADS} thread(s); ${ROUNDS} rounds x ${STEPS * TRIALS} steps, each step timed`);
console.log(machine);
console.log('case              side                        median     min     p90  median/min  faults/step   median tg/side');
const summary = {};
for (const k of ['all', 'frozen']) {
  const label = k === 'all' ? 'all trainable' : 'first two frozen';
  const js = stats(res.js[k]);
  summary[k] = {};
  for (const [side, name] of [['js', 'torchgraft'], ['py', 'Python (glibc defaults)'], ['pyTuned', 'Python (same malloc tuning)']]) {
    const st = stats(res[side][k]);
    summary[k][side] = { ...st, ratio: js.median / st.median };
    console.log(
      `${label.padEnd(17)} ${name.padEnd(27)} ${st.median.toFixed(3).padStart(7)} ${st.min.toFixed(3).padStart(7)} ${st.p90.toFixed(3).padStart(7)} ${(st.median / st.min).toFixed(2).padStart(11)} ${st.faults.toFixed(1).padStart(12)} ${side === 'js' ? '' : (js.median / st.median).toFixed(2).padStart(16)}`,
    );
  }
}
const out = arg('json');
if (out) fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), machine, device: DEVICE, threads: THREADS, steps: STEPS * TRIALS, rounds: ROUNDS, summary }, null, 1));
