#!/usr/bin/env node
// Benchmark (not a test): the time of the demo's data loading, tg.datasets.loadDigits as lib/demo/transfer-demo.ts's
// split() calls it (six calls, 10,000 images in all, the first one reading the bundled digits), each run in a fresh
// process, after `require('torchgraft')` (imports excluded). Prints the median wall and CPU time (process CPU time,
// all threads) and the peak RSS over the runs of each checkout given, runs alternating between checkouts.
// Usage: node bench/digits-load.js [--runs 9] [--root DIR]...   (default: this checkout; each DIR needs its dist/)
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const args = process.argv.slice(2);
if (args[0] === '--child') {
  const tg = require(path.resolve(args[1]));
  const rss0 = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const low = [0, 1, 2, 3, 4];
  const high = [5, 6, 7, 8, 9];
  const specs = [
    { digits: low, start: 0, end: 800, labelOffset: 0 },
    { digits: low, start: 800, end: 1200, labelOffset: 0 },
    { digits: low, start: 1200, labelOffset: 0 },
    { digits: high, start: 0, end: 100, labelOffset: 5 },
    { digits: high, start: 100, end: 150, labelOffset: 5 },
    { digits: high, start: 150, labelOffset: 5 },
  ];
  const sets = specs.map((s) => tg.datasets.loadDigits(s));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rows = sets.reduce((n, s) => n + s.y.shape[0], 0);
  const rss = (process.memoryUsage().rss - rss0) / 2 ** 20;
  tg.dispose(sets);
  process.stdout.write(JSON.stringify({ wall, cpu: (cpu.user + cpu.system) / 1e6, rows, rssMiB: rss }) + '\n');
  process.exit(0);
}

const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const RUNS = Number(arg('runs', 9));
const roots = args.flatMap((a, i) => (args[i - 1] === '--root' ? [path.resolve(a)] : []));
if (!roots.length) roots.push(path.resolve(__dirname, '..'));
const median = (a) => {
  const s = [...a].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const results = new Map(roots.map((r) => [r, []]));
for (let i = 0; i < RUNS; i++) {
  for (const root of i % 2 ? [...roots].reverse() : roots) {
    const r = spawnSync(process.execPath, [__filename, '--child', root], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } });
    if (r.status !== 0) throw new Error(`run in ${root} failed (${r.status}):\n${r.stderr}`);
    results.get(root).push(JSON.parse(r.stdout.trim().split('\n').pop()));
  }
}
console.log(`${RUNS} runs each, Node ${process.version}, load average ${require('node:os').loadavg()[0].toFixed(1)}`);
for (const [root, rs] of results) {
  const w = rs.map((r) => r.wall);
  const c = rs.map((r) => r.cpu);
  console.log(
    `${root}: ${rs[0].rows} images; wall median ${median(w).toFixed(3)} s (min ${Math.min(...w).toFixed(3)}, max ${Math.max(...w).toFixed(3)}); ` +
      `CPU median ${median(c).toFixed(3)} s (min ${Math.min(...c).toFixed(3)}, max ${Math.max(...c).toFixed(3)}); RSS growth median ${median(rs.map((r) => r.rssMiB)).toFixed(0)} MiB`,
  );
}
