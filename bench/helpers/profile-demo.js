#!/usr/bin/env node
// Where torchgraft's demo spends its time, phase by phase, from a V8 CPU profile of one bench run.
// Usage: node bench/demo.js --seeds 1 --cpu-prof DIR --no-save   (writes DIR/demo-tg-seed1.cpuprofile and .json)
//        node bench/helpers/profile-demo.js DIR/demo-tg-seed1.cpuprofile [--top N]
// For each phase (data load, pretrain, (a)..(f)): the sampled time, then the functions with the most self time and
// the library functions (dist/) with the most inclusive time, each as file:function with its share of the phase.
// A native call's time (LibTorch's kernels and the addon's work) is the self time of the JS function that called it,
// so `dist/nn/functional.js:linear` self time is the addon's linear call, and so on.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/helpers/profile-demo.js PROFILE.cpuprofile [--top N]');
  process.exit(2);
}
const i = process.argv.indexOf('--top');
const TOP = i > 0 ? Number(process.argv[i + 1]) : 12;
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const spans = JSON.parse(fs.readFileSync(file.replace(/\.cpuprofile$/, '.json'), 'utf8')).spans;
if (!spans || !Object.keys(spans).length) throw new Error('the run has no phase spans (its phases were not recognised)');

const root = path.resolve(__dirname, '..', '..');
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) => {
  const { functionName, url, lineNumber } = n.callFrame;
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(root)) u = path.relative(root, u);
  return u ? `${u}:${functionName || '(anonymous)'}:${lineNumber + 1}` : functionName || '(anonymous)';
};

// samples with their timestamps (µs, monotonic: the clock of the spans)
const phases = Object.entries(spans).map(([name, [a, b]]) => ({ name, a, b, total: 0, self: new Map(), incl: new Map() }));
let t = prof.startTime;
for (let k = 0; k < prof.samples.length; k++) {
  t += prof.timeDeltas[k];
  const dt = prof.timeDeltas[k + 1] ?? 0; // a sample stands for the time until the next one
  const ph = phases.find((p) => t >= p.a && t < p.b);
  if (!ph) continue;
  ph.total += dt;
  const leaf = byId.get(prof.samples[k]);
  const l = label(leaf);
  ph.self.set(l, (ph.self.get(l) ?? 0) + dt);
  const seen = new Set();
  for (let id = leaf.id; id !== undefined; id = parent.get(id)) {
    const x = label(byId.get(id));
    if (seen.has(x) || !x.startsWith('dist/')) continue;
    seen.add(x);
    ph.incl.set(x, (ph.incl.get(x) ?? 0) + dt);
  }
}

const ms = (us) => (us / 1000).toFixed(1).padStart(8);
const share = (v, tot) => `${((100 * v) / tot).toFixed(1).padStart(5)}%`;
for (const p of phases) {
  console.log(`\n== ${p.name}: ${(p.total / 1000).toFixed(1)} ms sampled (${((p.b - p.a) / 1000).toFixed(1)} ms wall)`);
  console.log('  self time:');
  for (const [k, v] of [...p.self].sort((x, y) => y[1] - x[1]).slice(0, TOP)) console.log(`  ${ms(v)} ms ${share(v, p.total)}  ${k}`);
  console.log('  inclusive, library functions:');
  for (const [k, v] of [...p.incl].sort((x, y) => y[1] - x[1]).slice(0, TOP)) console.log(`  ${ms(v)} ms ${share(v, p.total)}  ${k}`);
}
