#!/usr/bin/env node
// Benchmark (not a test): one training step (forward and cross-entropy under bfloat16 autocast, backward, SGD step) of
// an MLP 784-300-100-10 at batch 256 and of a small conv net on 1x28x28 at batch 64, beside the same float32 step,
// in torchgraft and in Python PyTorch (/usr/bin/python3) in the same run.
// Python runs with the malloc thresholds torchgraft sets (bench/train-step.js: without them its large buffers go back
// to the system every step and cost page faults), so both sides allocate alike.
// Usage: node bench/amp.js [--steps N] [--threads K] [--rounds R]. Prints a Markdown table (ms per step, median (min)).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { arg } = require('./helpers/args');
const STEPS = Number(arg('steps', 40));
const THREADS = Number(arg('threads', 1));
const ROUNDS = Number(arg('rounds', 2));
const PYTHON = process.env.TG_BENCH_PYTHON || '/usr/bin/python3';
process.env.TORCHGRAFT_MALLOC_TUNING ??= '1';
const tg = require(root);
const amp = tg.amp ?? require(path.join(root, 'dist/amp'));
tg.setNumThreads(THREADS);
const F = tg.nn.functional;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function model(kind) {
  tg.manualSeed(0);
  if (kind === 'mlp') {
    const net = new tg.nn.Sequential([new tg.nn.Linear(784, 300), new tg.nn.ReLU(), new tg.nn.Linear(300, 100), new tg.nn.ReLU(), new tg.nn.Linear(100, 10)]);
    return { net, x: tg.keep(tg.randn([256, 784])), y: tg.keep(tg.randint(0, 10, [256])) };
  }
  const net = new tg.nn.Sequential([
    new tg.nn.Conv2d(1, 16, 3, { padding: 1 }), new tg.nn.ReLU(), new tg.nn.MaxPool2d(2),
    new tg.nn.Conv2d(16, 32, 3, { padding: 1 }), new tg.nn.ReLU(), new tg.nn.MaxPool2d(2),
    new tg.nn.Flatten(), new tg.nn.Linear(32 * 7 * 7, 10),
  ]);
  return { net, x: tg.keep(tg.randn([64, 1, 28, 28])), y: tg.keep(tg.randint(0, 10, [64])) };
}

function jsTimes(kind, bf16) {
  const { net, x, y } = model(kind);
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const step = () => tg.tidy(() => {
    opt.zeroGrad();
    const loss = bf16 ? amp.autocast(() => F.crossEntropy(net.forward(x), y), { deviceType: 'cpu' }) : F.crossEntropy(net.forward(x), y);
    loss.backward();
    opt.step();
  });
  for (let i = 0; i < 5; i++) step();
  const ms = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = process.hrtime.bigint();
    step();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  net.dispose();
  opt.dispose();
  tg.dispose([x, y]);
  return ms;
}

const PY = `
import json, time, torch, contextlib
torch.set_num_threads(${THREADS})
nn = torch.nn
def model(kind):
    torch.manual_seed(0)
    if kind == 'mlp':
        return nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10)), torch.randn(256, 784), torch.randint(0, 10, (256,))
    net = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    return net, torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
out = {}
for kind in ('mlp', 'conv'):
    for bf16 in (False, True):
        net, x, y = model(kind)
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
        def step():
            opt.zero_grad(set_to_none=True)
            with (torch.autocast('cpu', dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()):
                loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
        for _ in range(5): step()
        ms = []
        for _ in range(${STEPS}):
            t0 = time.perf_counter(); step(); ms.append((time.perf_counter() - t0) * 1000)
        out[kind + ('_bf16' if bf16 else '_fp32')] = ms
print(json.dumps(out))
`;

const res = {};
const add = (k, ms) => (res[k] ??= []).push(...ms);
for (let r = 0; r < ROUNDS; r++) {
  const p = spawnSync(PYTHON, ['-c', PY], { encoding: 'utf8', env: { ...process.env, MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(256 << 20), OMP_NUM_THREADS: String(THREADS), OPENBLAS_NUM_THREADS: String(THREADS) } });
  if (p.status !== 0) throw new Error(`python failed: ${p.stderr}`);
  for (const [k, ms] of Object.entries(JSON.parse(p.stdout.trim().split('\n').pop()))) add(`py_${k}`, ms);
  for (const kind of ['mlp', 'conv']) for (const bf16 of [false, true]) add(`tg_${kind}_${bf16 ? 'bf16' : 'fp32'}`, jsTimes(kind, bf16));
}
const cell = (k) => `${median(res[k]).toFixed(2)} (${Math.min(...res[k]).toFixed(2)})`;
const ratio = (a, b) => (median(res[a]) / median(res[b])).toFixed(2);
console.log(`threads ${THREADS}, ${STEPS} steps x ${ROUNDS} rounds per case; ms per step, median (min)\n`);
console.log('| model | torchgraft fp32 | torchgraft bf16 | bf16/fp32 | Python fp32 | Python bf16 | bf16/fp32 | tg/Python bf16 |');
console.log('|---|---|---|---|---|---|---|---|');
for (const kind of ['mlp', 'conv']) {
  console.log(`| ${kind} | ${cell(`tg_${kind}_fp32`)} | ${cell(`tg_${kind}_bf16`)} | ${ratio(`tg_${kind}_bf16`, `tg_${kind}_fp32`)} | ${cell(`py_${kind}_fp32`)} | ${cell(`py_${kind}_bf16`)} | ${ratio(`py_${kind}_bf16`, `py_${kind}_fp32`)} | ${ratio(`tg_${kind}_bf16`, `py_${kind}_bf16`)} |`);
}
