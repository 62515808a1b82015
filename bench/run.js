#!/usr/bin/env node
// Benchmark (not a test): the cost of one small op from torchgraft, from Python PyTorch, and from LibTorch's C++ (the floor).
// Usage: node bench/run.js [--iters N] [--trials T] [--rounds R] [--json FILE] [--only js]
// Each round runs the three sides one after another (T timed trials each, after a warm-up); rounds interleave them so
// that load on a shared machine falls on all three alike. Reported per op: median and min over all trials, in µs.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const ITERS = Number(arg('iters', 200000));
const TRIALS = Number(arg('trials', 5));
const ROUNDS = Number(arg('rounds', 3));
const ONLY = arg('only', 'js,py,cpp').split(',');
const PYTHON = process.env.TG_BENCH_PYTHON || '/usr/bin/python3';

// ---- torchgraft (this process)
const tg = require(root);
tg.setNumThreads(1);
const x = tg.ones([4]);
const y = tg.ones([4]);
const sink = []; // keeps results observable so no loop body is dead code

// Each body runs `n` iterations itself, so the timed region holds only the op (and the JS loop).
const jsOps = {
  // y = x + x, then release: allocation, the wrapper, dispose()
  add_alloc(n) {
    for (let i = 0; i < n; i++) {
      const z = x.add(x);
      z.dispose();
    }
  },
  // the same released by a tidy scope
  add_alloc_tidy(n) {
    for (let i = 0; i < n; i++) {
      tg.tidy(() => {
        x.add(x);
      });
    }
  },
  add_inplace(n) {
    for (let i = 0; i < n; i++) x.add_(y);
  },
  // a number argument: the wrapped-scalar path
  add_scalar_inplace(n) {
    for (let i = 0; i < n; i++) x.add_(1);
  },
  // a bare native call: one N-API function returning a boolean (no tensor involved)
  bare_call(n) {
    let k = 0;
    for (let i = 0; i < n; i++) if (tg.isGradEnabled()) k++;
    sink.push(k);
  },
  // a bare method call on a tensor: one N-API accessor that unwraps `this`
  bare_getter(n) {
    let k = 0;
    for (let i = 0; i < n; i++) if (!x.isDisposed) k++;
    sink.push(k);
  },
};

function timeJs(res, name, body) {
  body(Math.floor(ITERS / 4) + 1000); // warm-up: JIT, allocator caches
  const wall = [];
  const cpu = [];
  for (let t = 0; t < TRIALS; t++) {
    const c0 = process.cpuUsage(); // CPU time (all threads, GC helpers included): not inflated by other processes
    const start = process.hrtime.bigint();
    body(ITERS);
    wall.push(Number(process.hrtime.bigint() - start) / ITERS);
    const c = process.cpuUsage(c0);
    cpu.push(((c.user + c.system) * 1000) / ITERS);
  }
  res[name] = wall;
  res[`${name}_cpu`] = cpu;
}

function runJs() {
  const res = {};
  for (const [name, body] of Object.entries(jsOps)) timeJs(res, name, body);
  return res;
}

// ---- Python PyTorch (a child process; its timing loop runs inside Python)
function runPy() {
  const r = spawnSync(PYTHON, [path.join(__dirname, 'py', 'bench.py'), String(ITERS), String(TRIALS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${PYTHON} bench/py/bench.py failed:\n${r.stderr || r.error}`);
  return JSON.parse(r.stdout);
}

// ---- C++ floor (bench/native/floor.cc, built once with plain CMake into build/bench)
const floorBin = path.join(root, 'build', 'bench', 'bench', 'tg_floor');
function buildFloor() {
  const src = path.join(__dirname, 'native', 'floor.cc');
  if (fs.existsSync(floorBin) && fs.statSync(floorBin).mtimeMs > fs.statSync(src).mtimeMs) return;
  console.error('bench: building the C++ floor (build/bench, target tg_floor)...');
  const dir = path.join(root, 'build', 'bench');
  for (const args of [
    ['-S', root, '-B', dir, '-DTG_BUILD_BENCH=ON', '-DCMAKE_BUILD_TYPE=Release'],
    ['--build', dir, '--target', 'tg_floor'],
  ]) {
    const r = spawnSync('cmake', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`cmake ${args.join(' ')} failed`);
  }
}
function runCpp() {
  const r = spawnSync(floorBin, [String(ITERS), String(TRIALS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${floorBin} failed:\n${r.stderr || r.error}`);
  return JSON.parse(r.stdout);
}

// ---- statistics and report
const median = (a) => {
  const s = [...a].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const min = (a) => Math.min(...a);
const us = (ns) => (ns === undefined ? '—' : (ns / 1000).toFixed(3));

function main() {
  if (ONLY.includes('cpp')) buildFloor();
  const all = { js: {}, py: {}, cpp: {} };
  const add = (side, res) => {
    for (const [k, v] of Object.entries(res)) if (Array.isArray(v)) (all[side][k] ||= []).push(...v);
  };
  let meta = {};
  for (let r = 0; r < ROUNDS; r++) {
    // torchgraft runs second in even rounds and last in odd ones, so neither side always follows the same one
    if (r % 2 === 1 && ONLY.includes('js')) add('js', runJs());
    if (ONLY.includes('cpp')) {
      const c = runCpp();
      meta.cppThreads = c.threads;
      add('cpp', c);
    }
    if (ONLY.includes('py')) {
      const p = runPy();
      meta.pyThreads = p.threads;
      meta.pyTorch = p.torch;
      add('py', p);
    }
    if (r % 2 === 0 && ONLY.includes('js')) add('js', runJs());
    process.stderr.write(`bench: round ${r + 1}/${ROUNDS} done\n`);
  }
  if (tg.memory().tensors !== 2) throw new Error(`bench leaked tensors: ${tg.memory().tensors} live, expected 2`);

  const stat = (side, op, f) => (all[side][op] ? f(all[side][op]) : undefined);
  const rows = [
    ['y = x + x (alloc + release)', 'add_alloc', 'add_alloc', 'add_alloc'],
    ['  same, released by tidy()', 'add_alloc_tidy', 'add_alloc', 'add_alloc'],
    ['x.add_(y) (in place)', 'add_inplace', 'add_inplace', 'add_inplace'],
    ['x.add_(1) (number argument)', 'add_scalar_inplace', 'add_scalar_inplace', 'add_scalar_inplace'],
    ['bare addon call', 'bare_call', null, null],
    ['bare tensor getter', 'bare_getter', null, null],
  ];
  const info = tg.buildInfo();
  console.log(`torchgraft bench — ${new Date().toISOString()} — ${os.cpus().length} CPUs (${os.cpus()[0].model}), load ${os.loadavg()[0].toFixed(1)}`);
  console.log(`LibTorch ${info.torchVersion} (addon), Python torch ${meta.pyTorch ?? '—'}, Node ${process.version}; threads: ` +
    `js ${info.threads}, py ${meta.pyThreads ?? '—'}, C++ ${meta.cppThreads ?? '—'}`);
  console.log(`${ROUNDS} rounds x ${TRIALS} trials x ${ITERS} iterations per side; µs/op, median (min) over all trials`);
  const pad = (s, n) => String(s).padEnd(n);
  const lpad = (s, n) => String(s).padStart(n);
  const summary = {};
  for (const [metric, suffix, title] of [
    ['cpu', '_cpu', 'CPU time per op (process CPU time: robust on a shared machine)'],
    ['wall', '', 'wall time per op'],
  ]) {
    console.log(`\n${title}`);
    console.log(pad('op', 30) + lpad('torchgraft', 18) + lpad('Python', 18) + lpad('C++ floor', 18) + lpad('tg/Py', 8) + lpad('tg-C++', 9));
    summary[metric] = {};
    for (const [label, jsOp, pyOp, cppOp] of rows) {
      const key = (op) => op && op + suffix;
      const cell = (side, op) => (op && all[side][key(op)] ? `${us(stat(side, key(op), median))} (${us(stat(side, key(op), min))})` : '—');
      const j = stat('js', key(jsOp), median);
      const p = pyOp && stat('py', key(pyOp), median);
      const c = cppOp && stat('cpp', key(cppOp), median);
      const ratio = j !== undefined && p ? (j / p).toFixed(2) : '—';
      const over = j !== undefined && c ? us(j - c) : '—';
      summary[metric][jsOp] = { js: j, py: p, cpp: c };
      console.log(pad(label, 30) + lpad(cell('js', jsOp), 18) + lpad(cell('py', pyOp), 18) + lpad(cell('cpp', cppOp), 18) + lpad(ratio, 8) + lpad(over, 9));
    }
  }
  // Load on a shared VM comes and goes in spells longer than a trial: the ratio of each round's medians (the sides ran
  // minutes apart at most) is steadier than the ratio of the pooled medians.
  console.log('\nPaired per round (CPU): tg/Py of the round medians, median over rounds [min - max]');
  summary.paired = {};
  for (const [label, op] of [['y = x + x (alloc + release)', 'add_alloc'], ['x.add_(y) (in place)', 'add_inplace'], ['x.add_(1) (number argument)', 'add_scalar_inplace']]) {
    const js = all.js[`${op}_cpu`];
    const py = all.py[`${op}_cpu`];
    if (!js || !py) continue;
    const ratios = [];
    for (let r = 0; r < ROUNDS; r++) ratios.push(median(js.slice(r * TRIALS, (r + 1) * TRIALS)) / median(py.slice(r * TRIALS, (r + 1) * TRIALS)));
    summary.paired[op] = { median: median(ratios), min: min(ratios), max: Math.max(...ratios) };
    console.log(`  ${pad(label, 30)} ${median(ratios).toFixed(2)} [${min(ratios).toFixed(2)} - ${Math.max(...ratios).toFixed(2)}]`);
  }
  console.log('\nTargets: tg/Py <= 1.00 and tg-C++ <= 0.500 µs (from medians).');
  for (const metric of ['cpu', 'wall']) {
    for (const op of ['add_alloc', 'add_inplace', 'add_scalar_inplace']) {
      const s = summary[metric][op];
      if (s.js === undefined || !s.py || !s.cpp) continue;
      const okPy = s.js / s.py <= 1.0;
      const okCpp = (s.js - s.cpp) / 1000 <= 0.5;
      console.log(`  ${pad(metric, 5)} ${pad(op, 18)} tg/Py ${(s.js / s.py).toFixed(2)} ${okPy ? 'met' : 'MISSED'}; ` +
        `tg-C++ ${us(s.js - s.cpp)} µs ${okCpp ? 'met' : 'MISSED'}`);
    }
  }
  const out = arg('json');
  if (out) fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), iters: ITERS, trials: TRIALS, rounds: ROUNDS, all, summary }, null, 1));
}

main();
