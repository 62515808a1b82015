#!/usr/bin/env node
'use strict';
// Benchmark (not a test): one epoch of training a 1024-64-10 head on 12,000 cached feature rows, three ways in one
// run: tg.fit with the feature cache (`fit({ cache })`, its staleness check included), tg.fit of the same head on a
// plain TensorDataset of the same features, and Python PyTorch's head-only epoch on a tensor of the same features
// (a shuffled permutation, index_select per batch). Same batch size, SGD with momentum, cross-entropy; one thread each
// (tg.setNumThreads(1), torch.set_num_threads(1)). Rounds interleave the three, so load on a shared machine falls on
// all alike; figures are medians over every fit, and cache/TensorDataset is also the median of the ratios of the fits
// run back to back (pairs, in alternating order), which drifting load distorts least. Also timed: the staleness check alone (cache.changes()) and a full
// content fingerprint (cache.fingerprintOf(), what every fit computed before version stamps).
// Usage: node bench/feature-cache-fit.js [--rows 12000] [--batch 256] [--rounds 5] [--fits 6] [--label NAME] [--no-save]
// TG_BENCH_ROOT=dir measures the torchgraft build in dir instead (a before/after comparison in one session);
// TG_BENCH_PYTHON picks the Python (default /usr/bin/python3).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { option, main } = require('./helpers/feature-cache');

const args = process.argv.slice(2);
const ROWS = option(args, '--rows', 12000);
const BATCH = option(args, '--batch', 256);
const ROUNDS = option(args, '--rounds', 5);
const FITS = option(args, '--fits', 6);
const LABEL = option(args, '--label', '');
const SAVE = !args.includes('--no-save');
const SEED = 3;
const ROOT = process.env.TG_BENCH_ROOT ? path.resolve(process.env.TG_BENCH_ROOT) : path.resolve(__dirname, '..');
const PYTHON = process.env.TG_BENCH_PYTHON || '/usr/bin/python3';

const tg = require(ROOT);
const { nn } = tg;
tg.setNumThreads(1);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function model() {
  tg.manualSeed(1);
  return new nn.Sequential({
    base1: new nn.Linear(784, 1024), act1: new nn.ReLU(),
    base2: new nn.Linear(1024, 1024), act2: new nn.ReLU(),
    fc1: new nn.Linear(1024, 64), act3: new nn.ReLU(),
    fc2: new nn.Linear(64, 10),
  }).freeze(/^base/);
}

/** One tg.fit of one epoch: the call's wall and CPU seconds (the cache's check included) and fit's own epoch time. */
async function timedFit(net, data, cache) {
  const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.01, momentum: 0.9 });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const h = await tg.fit(net, data, { epochs: 1, batchSize: BATCH, seed: SEED, optimizer, loss: 'crossEntropy', cache, verbose: 0 });
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { wall, cpu: (c.user + c.system) / 1e6, epoch: h.epochs[0].time };
}

function timedCalls(fn, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    out.push((performance.now() - t0) / 1000);
  }
  return out;
}

// Python: the head alone on the same features, read from the files written below; prints one JSON object.
const PY = `
import json, sys, time
import numpy as np
import torch
torch.set_num_threads(1)
feats_file, labels_file, n, d, batch, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
f = torch.from_numpy(np.fromfile(feats_file, dtype=np.float32).reshape(n, d))
y = torch.from_numpy(np.fromfile(labels_file, dtype=np.int64))
torch.manual_seed(1)
head = torch.nn.Sequential(torch.nn.Linear(d, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
opt = torch.optim.SGD(head.parameters(), lr=0.01, momentum=0.9)
g = torch.Generator().manual_seed(${SEED})
def epoch():
    c0, t0 = time.process_time(), time.perf_counter()
    order = torch.randperm(n, generator=g)
    for s in range(0, n, batch):
        idx = order[s:s + batch]
        x = f.index_select(0, idx)
        t = y.index_select(0, idx)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(x), t)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0, time.process_time() - c0
epoch()  # warm-up
runs = [epoch() for _ in range(epochs)]
print(json.dumps({'wall': [r[0] for r in runs], 'cpu': [r[1] for r in runs], 'torch': torch.__version__, 'threads': torch.get_num_threads()}))
`;

function python(featsFile, labelsFile, d) {
  // torch.set_num_threads(1) leaves OpenBLAS's pool alone (tg.setNumThreads sizes it): one thread means one here too
  const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' };
  const r = spawnSync(PYTHON, ['-c', PY, featsFile, labelsFile, String(ROWS), String(d), String(BATCH), String(FITS)], { encoding: 'utf8', env });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

main(async () => {
  const started = new Date();
  const load0 = os.loadavg();
  tg.manualSeed(0);
  const ds = new tg.data.TensorDataset(tg.randn([ROWS, 784]), tg.randint(0, 10, [ROWS]));
  const net = model();
  const cache = await tg.transfer.cacheFeatures(net, ds, { batchSize: BATCH, verbose: 0 });
  const [feats, labels] = cache.examples.tensors;
  const plain = new tg.data.TensorDataset(feats, labels);
  const head = cache.head(net);
  const dim = feats.shape[1];

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-cache-fit-'));
  const featsFile = path.join(tmp, 'features.f32');
  const labelsFile = path.join(tmp, 'labels.i64');
  fs.writeFileSync(featsFile, feats.dataSync());
  fs.writeFileSync(labelsFile, labels.dataSync());

  const res = { cache: [], plain: [], python: { wall: [], cpu: [] }, check: [], contentFingerprint: [] };
  let pyTorch = '';
  // warm-up of both tg paths
  await timedFit(net, ds, cache);
  await timedFit(head, plain);
  for (let round = 0; round < ROUNDS; round++) {
    const py = python(featsFile, labelsFile, dim);
    pyTorch = py.torch;
    res.python.wall.push(...py.wall);
    res.python.cpu.push(...py.cpu);
    for (let k = 0; k < FITS; k++) {
      if ((round + k) % 2 === 0) {
        res.cache.push(await timedFit(net, ds, cache));
        res.plain.push(await timedFit(head, plain));
      } else {
        res.plain.push(await timedFit(head, plain));
        res.cache.push(await timedFit(net, ds, cache));
      }
    }
    res.check.push(...timedCalls(() => cache.changes(), 5));
    res.contentFingerprint.push(...timedCalls(() => cache.fingerprintOf(), 1));
  }
  fs.rmSync(tmp, { recursive: true, force: true });
  cache.dispose();

  const m = (runs, k) => median(runs.map((r) => r[k]));
  const s = {
    cacheFit: m(res.cache, 'wall'), cacheFitCpu: m(res.cache, 'cpu'), cacheEpoch: m(res.cache, 'epoch'),
    plainFit: m(res.plain, 'wall'), plainFitCpu: m(res.plain, 'cpu'), plainEpoch: m(res.plain, 'epoch'),
    python: median(res.python.wall), pythonCpu: median(res.python.cpu),
    check: median(res.check), contentFingerprint: median(res.contentFingerprint),
  };
  const ratios = {
    cacheOverPlain: s.cacheFit / s.plainFit, cacheOverPython: s.cacheFit / s.python, plainOverPython: s.plainFit / s.python,
    cacheOverPlainCpu: s.cacheFitCpu / s.plainFitCpu, cacheOverPythonCpu: s.cacheFitCpu / s.pythonCpu,
    cacheOverPlainPaired: median(res.cache.map((c, i) => c.wall / res.plain[i].wall)),
    cacheOverPlainPairedCpu: median(res.cache.map((c, i) => c.cpu / res.plain[i].cpu)),
  };
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown', cpus: os.cpus().length, os: `${os.type()} ${os.release()}`,
    node: process.version, libtorch: tg.buildInfo().torchVersion, pytorch: pyTorch, loadavg: { start: load0, end: os.loadavg() },
  };
  const ms = (x) => `${(x * 1000).toFixed(1)} ms`;
  const r2 = (x) => `${x.toFixed(3)}x`;
  const lines = [
    `feature cache fit benchmark ${started.toISOString()}${LABEL ? ` (${LABEL})` : ''}, torchgraft from ${ROOT}`,
    `${machine.cpu}, ${machine.cpus} CPUs, ${machine.os}; Node ${machine.node}, LibTorch ${machine.libtorch}, PyTorch ${machine.pytorch}; load ${load0.map((x) => x.toFixed(1)).join(' ')} -> ${machine.loadavg.end.map((x) => x.toFixed(1)).join(' ')}`,
    `${ROWS} cached rows x ${dim} features, head ${dim}-64-10, batch ${BATCH}, SGD(momentum 0.9), one thread each; ${ROUNDS} rounds x ${FITS} one-epoch fits (medians; Python: ${res.python.wall.length} epochs)`,
    '',
    `                               wall        CPU        (fit's epoch time)`,
    `tg fit({ cache })              ${ms(s.cacheFit).padEnd(11)} ${ms(s.cacheFitCpu).padEnd(11)}(${ms(s.cacheEpoch)})`,
    `tg fit on a TensorDataset      ${ms(s.plainFit).padEnd(11)} ${ms(s.plainFitCpu).padEnd(11)}(${ms(s.plainEpoch)})`,
    `Python head-only epoch         ${ms(s.python).padEnd(11)} ${ms(s.pythonCpu)}`,
    `staleness check (changes())    ${(s.check * 1e6).toFixed(0)} us`,
    `content fingerprint            ${ms(s.contentFingerprint)}   (sha256 of the frozen weights and the dataset)`,
    '',
    `cache / TensorDataset          ${r2(ratios.cacheOverPlain)} wall, ${r2(ratios.cacheOverPlainCpu)} CPU   target <= 1.05: ${ratios.cacheOverPlain <= 1.05 ? 'met' : 'missed'}`,
    `  (median of paired fits)      ${r2(ratios.cacheOverPlainPaired)} wall, ${r2(ratios.cacheOverPlainPairedCpu)} CPU   target <= 1.05: ${ratios.cacheOverPlainPaired <= 1.05 ? 'met' : 'missed'}`,
    `cache / Python                 ${r2(ratios.cacheOverPython)} wall, ${r2(ratios.cacheOverPythonCpu)} CPU   target <= 1.0: ${ratios.cacheOverPython <= 1 ? 'met' : 'missed'}`,
    `TensorDataset / Python         ${r2(ratios.plainOverPython)} wall`,
  ];
  console.log(lines.join('\n'));
  if (SAVE) {
    const dir = path.join(__dirname, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const base = path.join(dir, `feature-cache-fit-${started.toISOString().slice(0, 10)}${LABEL ? `-${LABEL}` : ''}`);
    const config = { rows: ROWS, dim, batch: BATCH, rounds: ROUNDS, fits: FITS, seed: SEED, root: ROOT };
    fs.writeFileSync(`${base}.json`, `${JSON.stringify({ date: started.toISOString(), label: LABEL || undefined, machine, config, medians: s, ratios, samples: res }, null, 1)}\n`);
    fs.writeFileSync(`${base}.txt`, `${lines.join('\n')}\n`);
    console.log(`written: ${path.relative(process.cwd(), base)}.json, .txt`);
  }
});
