#!/usr/bin/env node
// Where torchgraft's demo spends its time, phase by phase, from a V8 CPU profile of one bench run.
// Usage: node bench/demo.js --seeds 1,2,3 --cpu-prof DIR --no-save   (writes DIR/demo-tg-seedN.cpuprofile and .json)
//        node bench/helpers/profile-demo.js DIR/demo-tg-seed1.cpuprofile [more profiles, summed] [--top N]
// For each phase (data load, pretrain, (a)..(f)): the sampled time, the self time by file, then the functions with
// the most self time and the library functions (dist/) with the most inclusive time, each as file:function with its
// share of the phase. Several profiles (seeds) are summed phase by phase.
// A native call's time (LibTorch's kernels and the addon's work) is the self time of the JS function that called it,
// so `dist/nn/functional.js:linear` self time is the addon's linear call, and so on.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const i = process.argv.indexOf('--top');
const TOP = i > 0 ? Number(process.argv[i + 1]) : 12;
const files = process.argv.slice(2).filter((a, k, all) => a !== '--top' && all[k - 1] !== '--top');
if (!files.length) {
  console.error('usage: node bench/helpers/profile-demo.js PROFILE.cpuprofile [...] [--top N]');
  process.exit(2);
}
const root = path.resolve(__dirname, '..', '..');
const phases = new Map();
const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
const label = (n) => {
  const { functionName, url, lineNumber } = n.callFrame;
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(root)) u = path.relative(root, u);
  return u ? `${u}:${functionName || '(anonymous)'}:${lineNumber + 1}` : functionName || '(anonymous)';
};

for (const file of files) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
  const spans = JSON.parse(fs.readFileSync(file.replace(/\.cpuprofile$/, '.json'), 'utf8')).spans;
  if (!spans || !Object.keys(spans).length) throw new Error(`${file}: the run has no phase spans (its phases were not recognised)`);
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ranges = Object.entries(spans).map(([name, [a, b]]) => {
    if (!phases.has(name)) phases.set(name, { name, wall: 0, total: 0, self: new Map(), byFile: new Map(), incl: new Map() });
    const ph = phases.get(name);
    ph.wall += b - a;
    return { ph, a, b };
  });
  // samples with their timestamps (µs, monotonic: the clock of the spans)
  let t = prof.startTime;
  for (let k = 0; k < prof.samples.length; k++) {
    t += prof.timeDeltas[k];
    const dt = prof.timeDeltas[k + 1] ?? 0; // a sample stands for the time until the next one
    const ph = ranges.find((r) => t >= r.a && t < r.b)?.ph;
    if (!ph) continue;
    ph.total += dt;
    const leaf = byId.get(prof.samples[k]);
    const l = label(leaf);
    add(ph.self, l, dt);
    add(ph.byFile, l.includes(':') && !l.startsWith('node:') ? l.slice(0, l.indexOf(':')) : l.startsWith('node:') ? 'node: internals' : l, dt);
    const seen = new Set();
    for (let id = leaf.id; id !== undefined; id = parent.get(id)) {
      const x = label(byId.get(id));
      if (seen.has(x) || !x.startsWith('dist/')) continue;
      seen.add(x);
      add(ph.incl, x, dt);
    }
  }
}

const ms = (us) => (us / 1000).toFixed(1).padStart(8);
const share = (v, tot) => `${((100 * v) / tot).toFixed(1).padStart(5)}%`;
for (const p of phases.values()) {
  console.log(`\n== ${p.name}: ${(p.total / 1000).toFixed(1)} ms sampled (${(p.wall / 1000).toFixed(1)} ms wall)${files.length > 1 ? `, ${files.length} runs` : ''}`);
  console.log('  self time by file:');
  for (const [k, v] of [...p.byFile].sort((x, y) => y[1] - x[1]).slice(0, TOP)) console.log(`  ${ms(v)} ms ${share(v, p.total)}  ${k}`);
  console.log('  self time:');
  for (const [k, v] of [...p.self].sort((x, y) => y[1] - x[1]).slice(0, TOP)) console.log(`  ${ms(v)} ms ${share(v, p.total)}  ${k}`);
  console.log('  inclusive, library functions:');
  for (const [k, v] of [...p.incl].sort((x, y) => y[1] - x[1]).slice(0, TOP)) console.log(`  ${ms(v)} ms ${share(v, p.total)}  ${k}`);
}
