#!/usr/bin/env node
// Benchmark (not a test): the transfer demo end to end with fit's JS loop against fit's default engine ('auto', which
// runs whole epochs natively where it can), in fresh processes, seeds interleaved so load falls on both alike. Both
// must reach the same accuracies (the engines give the same weights). Prints per-variant and end-to-end wall times
// (medians over seeds) and the ratio auto / js.
// Usage: node bench/demo-engines.js [--seeds 1,2,3] [--threads 1] [--json FILE]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { arg } = require('./helpers/args');
const SEEDS = arg('seeds', '1,2,3').split(',').map(Number);
const THREADS = arg('threads', '1');
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function run(engine, seed) {
  const env = { ...process.env, TORCHGRAFT_FIT_ENGINE: engine };
  const r = spawnSync(process.execPath, [path.join(__dirname, 'helpers', 'demo-tg.js'), '--seed', String(seed), '--threads', THREADS], { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`demo with engine ${engine}, seed ${seed} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const results = { js: [], auto: [] };
SEEDS.forEach((seed, i) => {
  for (const engine of i % 2 ? ['auto', 'js'] : ['js', 'auto']) results[engine].push(run(engine, seed));
  const [a, b] = [results.js.at(-1), results.auto.at(-1)];
  const same = a.rows.every((row, k) => row.accuracy === b.rows[k].accuracy);
  if (!same) throw new Error(`seed ${seed}: the engines reached different accuracies`);
  console.error(`seed ${seed}: e2e js ${a.e2e.wall.toFixed(3)} s, auto ${b.e2e.wall.toFixed(3)} s (same accuracies)`);
});
const names = results.js[0].rows.map((r) => r.name);
const table = names.map((name, k) => {
  const js = median(results.js.map((r) => r.rows[k].seconds));
  const auto = median(results.auto.map((r) => r.rows[k].seconds));
  return { name, js, auto, ratio: auto / js };
});
const e2e = { js: median(results.js.map((r) => r.e2e.wall)), auto: median(results.auto.map((r) => r.e2e.wall)) };
const out = {
  date: new Date().toISOString(),
  machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
  threads: Number(THREADS),
  seeds: SEEDS,
  variants: table,
  e2e: { ...e2e, ratio: e2e.auto / e2e.js },
};
console.log(JSON.stringify(out, null, 2));
const file = arg('json');
if (file) fs.writeFileSync(file, JSON.stringify(out, null, 2));
