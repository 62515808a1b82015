#!/usr/bin/env node
'use strict';
// Benchmark (not a test): building a feature cache of a frozen conv part (Conv-BN-ReLU-Conv-ReLU-MaxPool-Flatten on
// 3x32x32 images, 4096 features a row) with engine 'js' (forwards on the JavaScript thread, a turn of the event loop
// between batches) and engine 'native' (traced, forwards on a worker thread), side by side with PyTorch's own loop
// (bench/py/cache_build.py) for a ratio; the event loop's worst delay during each build (perf_hooks'
// monitorEventLoopDelay, 10 ms resolution: max and p99, the dataset keyed so that no hashing counts); and the cost of the disk build's per-block flush (fdatasync + journal
// line) as the same disk build with 64-row blocks, the default 256, and a single block.
// Default: 2,000 images, batch 64, 3 runs each (the best is reported); --samples N, --batch N, --runs N, --threads N
// (default 1: the same for LibTorch and PyTorch). TG_BENCH_PYTHON picks the Python (default /usr/bin/python3).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const tg = require('..');
const { nn } = tg;
const { option, main } = require('./helpers/feature-cache');

const args = process.argv.slice(2);
const N = option(args, '--samples', 2000);
const BATCH = option(args, '--batch', 64);
const RUNS = option(args, '--runs', 3);
const THREADS = option(args, '--threads', 1);
const PYTHON = process.env.TG_BENCH_PYTHON || '/usr/bin/python3';

function model() {
  tg.manualSeed(0);
  return new nn.Sequential({
    conv1: new nn.Conv2d(3, 32, 3, { padding: 1 }), bn1: new nn.BatchNorm2d(32), act1: new nn.ReLU(),
    conv2: new nn.Conv2d(32, 64, 3, { padding: 1, stride: 2 }), act2: new nn.ReLU(), pool: new nn.MaxPool2d(2), flat: new nn.Flatten(),
    fc: new nn.Linear(64 * 8 * 8, 10),
  }).freeze(/^(conv1|bn1|conv2)\./);
}

/** Best build time (ms) and worst event-loop delay (ms) over RUNS builds, after one warm-up. */
async function measure(ds, options) {
  const times = [];
  let worst = 0;
  let p99 = 0;
  for (let r = 0; r <= RUNS; r++) {
    const dir = options.store === 'disk' ? fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-build-')) : undefined;
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    const t0 = performance.now();
    const c = await tg.transfer.cacheFeatures(model(), ds, { upTo: 'flat', batchSize: BATCH, verbose: 0, ...options, dir });
    const ms = performance.now() - t0;
    h.disable();
    c.dispose();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (r === 0) continue;
    times.push(ms);
    worst = Math.max(worst, h.max / 1e6);
    p99 = Math.max(p99, h.percentile(99) / 1e6);
  }
  return { best: Math.min(...times), times, worstDelay: worst, p99Delay: p99 };
}

function python() {
  const env = { ...process.env, OMP_NUM_THREADS: String(THREADS), OPENBLAS_NUM_THREADS: '1' };
  const r = spawnSync(PYTHON, [path.join(__dirname, 'py', 'cache_build.py'), String(N), String(BATCH), String(RUNS), String(THREADS)], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  const ms = JSON.parse(r.stdout).buildMs;
  return { best: Math.min(...ms), times: ms };
}

main(async () => {
  tg.setNumThreads(THREADS);
  console.log(`feature cache build benchmark: ${N} images 3x32x32, batch ${BATCH}, frozen Conv(3,32)-BN-ReLU-Conv(32,64,s2)-ReLU-MaxPool-Flatten ` +
    `(4096 features a row), ${THREADS} thread(s), best of ${RUNS}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}, ${new Date().toISOString()}`);
  tg.manualSeed(1);
  const tensors = new tg.data.TensorDataset(tg.randn([N, 3, 32, 32]), tg.randint(0, 10, [N]));
  // a keyed dataset: the fingerprint hashes no rows, so the delays measured are the build loop's
  const ds = { length: N, cacheKey: `bench-${N}`, getBatch: (idx) => tensors.getBatch(idx), getItem: (i) => tensors.getItem(i) };
  const js = await measure(ds, { engine: 'js' });
  const native = await measure(ds, { engine: 'native' });
  const py = python();
  const blocks = {};
  for (const rows of [BATCH, 256, Math.ceil(N / BATCH) * BATCH]) blocks[rows] = await measure(ds, { engine: 'native', store: 'disk', blockRows: rows });
  const f = (ms) => `${ms.toFixed(1).padStart(8)} ms`;
  const all = (ts) => ts.map((t) => t.toFixed(1)).join(', ');
  console.log(`memory, engine js         ${f(js.best)}   event-loop delay max ${js.worstDelay.toFixed(1)} ms, p99 ${js.p99Delay.toFixed(1)} ms   (runs: ${all(js.times)})`);
  console.log(`memory, engine native     ${f(native.best)}   event-loop delay max ${native.worstDelay.toFixed(1)} ms, p99 ${native.p99Delay.toFixed(1)} ms   (runs: ${all(native.times)})`);
  console.log(`PyTorch loop (Python)     ${f(py.best)}   (runs: ${all(py.times)})`);
  console.log(`native / js time          ${(native.best / js.best).toFixed(2)}x`);
  console.log(`js / PyTorch time         ${(js.best / py.best).toFixed(2)}x`);
  console.log(`native / PyTorch time     ${(native.best / py.best).toFixed(2)}x`);
  for (const [rows, m] of Object.entries(blocks)) {
    const count = Math.ceil(N / Number(rows));
    console.log(`disk, native, ${String(count).padStart(3)} blocks of ${String(rows).padStart(4)} rows ${f(m.best)}   ` +
      `(${(m.best / native.best).toFixed(2)}x the memory build; delay max ${m.worstDelay.toFixed(1)} ms, p99 ${m.p99Delay.toFixed(1)} ms; runs: ${all(m.times)})`);
  }
  const [many, , one] = Object.values(blocks);
  const flushes = Math.ceil(N / BATCH) - 1;
  console.log(`per-block flush cost      ${((many.best - one.best) / flushes).toFixed(2)} ms a block (${flushes} more flushes: ${(many.best - one.best).toFixed(1)} ms)`);
});
