#!/usr/bin/env node
// Benchmark (not a test): fit's native engine against its JS loop and against the same loop in Python PyTorch, in one
// run: an MLP 784-300-100-10 trained with Adam on shuffled batches (epoch time per step), and the event loop's lag
// while each engine trains (gaps of a 1 ms interval, p50/p99/max). Rounds interleave the three so that load on a
// shared machine falls on all alike; ratios are taken per round.
// Usage: node bench/fit-engine.js [--rows N] [--batch B] [--epochs E] [--rounds R] [--threads K] [--json FILE]
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { performance } = require('node:perf_hooks');

const root = path.resolve(__dirname, '..');
const { arg } = require('./helpers/args');
const ROWS = Number(arg('rows', 8192));
const BATCH = Number(arg('batch', 64));
const EPOCHS = Number(arg('epochs', 3));
const ROUNDS = Number(arg('rounds', 3));
const THREADS = Number(arg('threads', 1));
const PYTHON = process.env.TG_BENCH_PYTHON || '/usr/bin/python3';
// the malloc tuning is opt-in (README, Reliability): measured with it, and Python both as shipped and given the same
process.env.TORCHGRAFT_MALLOC_TUNING ??= '1';
const PY_TUNED_ENV = { MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(256 << 20) };
const tg = require(root);
tg.setNumThreads(THREADS);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function ours(engine) {
  tg.manualSeed(0);
  const net = new tg.nn.Sequential([new tg.nn.Linear(784, 300), new tg.nn.ReLU(), new tg.nn.Linear(300, 100), new tg.nn.ReLU(), new tg.nn.Linear(100, 10)]);
  const x = tg.randn([ROWS, 784]);
  const y = tg.randint(0, 10, [ROWS]);
  const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
  const data = new tg.data.DataLoader(new tg.data.TensorDataset(x, y), { batchSize: BATCH, shuffle: true, seed: 1 });
  await tg.fit(net, data, { verbose: 0, optimizer: opt, loss: 'crossEntropy', engine }); // warm-up (and the trace)
  const gaps = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  const h = await tg.fit(net, data, { verbose: 0, epochs: EPOCHS, optimizer: opt, loss: 'crossEntropy', engine });
  const ms = performance.now() - t0;
  clearInterval(timer);
  gaps.push(performance.now() - last);
  tg.dispose([x, y]);
  opt.dispose();
  net.dispose();
  if (h.engine !== engine) throw new Error(`asked for ${engine}, ran ${h.engine}`);
  const lag = gaps.map((g) => Math.max(0, g - 1));
  return { stepMs: ms / EPOCHS / Math.ceil(ROWS / BATCH), lagP50: quantile(lag, 0.5), lagP99: quantile(lag, 0.99), lagMax: Math.max(...lag) };
}

function python(tuned) {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(THREADS), ...(tuned ? PY_TUNED_ENV : {}) };
  const r = spawnSync(PYTHON, [path.join(__dirname, 'py', 'fit_epoch.py'), ROWS, BATCH, EPOCHS, THREADS].map(String), { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  const { epochMs, steps } = JSON.parse(r.stdout);
  return { stepMs: median(epochMs) / steps };
}

(async () => {
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const js = await ours('js');
    const native = await ours('native');
    const py = python(false);
    const pyTuned = python(true);
    rounds.push({
      js, native, py, pyTuned,
      nativeVsPy: native.stepMs / py.stepMs, nativeVsPyTuned: native.stepMs / pyTuned.stepMs,
      jsVsPy: js.stepMs / py.stepMs, jsVsPyTuned: js.stepMs / pyTuned.stepMs, nativeVsJs: native.stepMs / js.stepMs,
    });
    console.error(
      `round ${r + 1}: step ms js ${js.stepMs.toFixed(3)} native ${native.stepMs.toFixed(3)} python ${py.stepMs.toFixed(3)} ` +
        `(tuned ${pyTuned.stepMs.toFixed(3)}); lag p99 js ${js.lagP99.toFixed(2)} native ${native.lagP99.toFixed(2)} ms`,
    );
  }
  const med = (f) => median(rounds.map(f));
  const out = {
    date: new Date().toISOString(),
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
    torch: tg.buildInfo().torchVersion,
    config: { rows: ROWS, batch: BATCH, epochs: EPOCHS, rounds: ROUNDS, threads: THREADS, mallocTuned: tg.buildInfo().mallocTuned },
    stepMs: { js: med((r) => r.js.stepMs), native: med((r) => r.native.stepMs), python: med((r) => r.py.stepMs), pythonTuned: med((r) => r.pyTuned.stepMs) },
    ratios: {
      nativeVsPython: med((r) => r.nativeVsPy), nativeVsPythonTuned: med((r) => r.nativeVsPyTuned),
      jsVsPython: med((r) => r.jsVsPy), jsVsPythonTuned: med((r) => r.jsVsPyTuned), nativeVsJs: med((r) => r.nativeVsJs),
    },
    lagMs: {
      js: { p50: med((r) => r.js.lagP50), p99: med((r) => r.js.lagP99), max: med((r) => r.js.lagMax) },
      native: { p50: med((r) => r.native.lagP50), p99: med((r) => r.native.lagP99), max: med((r) => r.native.lagMax) },
    },
  };
  console.log(JSON.stringify(out, null, 2));
  const file = arg('json');
  if (file) fs.writeFileSync(file, JSON.stringify({ ...out, rounds }, null, 2));
})();
