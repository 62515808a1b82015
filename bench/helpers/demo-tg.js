#!/usr/bin/env node
// The torchgraft side of bench/demo.js: one run of the transfer demo (dist/demo/transfer-demo.js, runTransferDemo, the
// code `npm run demo` runs), silent, in a fresh process, timed from the start of the demo (its data loading included)
// to its returned table. Prints one JSON object with the demo's rows and the wall and CPU time of each phase.
// Usage: node bench/helpers/demo-tg.js --seed N [--threads K] [--quick] [--out DIR]
//
// Per-variant CPU time: the demo reports each variant's wall time (DemoRow.seconds) but not its CPU time, so this
// script notes (wall, CPU) when the demo calls tg.manualSeed, tg.fit, tg.transfer.cacheFeatures and
// tg.transfer.fineTune, by wrapping those exports of the compiled modules (the demo reads them at call time). Nothing
// else changes: the wrappers call the originals with the same arguments. Each variant starts with manualSeed and ends
// before the next variant's manualSeed, so the marks split the run into phases: data loading, pretraining (with the
// checkpoint's save and load), then (a)..(f).
'use strict';
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const SEED = Number(arg('seed', 42));
const THREADS = Number(arg('threads', 1));
const QUICK = process.argv.includes('--quick');
const OUT = arg('out', undefined);

const tg = require(root);
tg.setNumThreads(THREADS);
const dist = (p) => require(path.join(root, 'dist', p));
const { runTransferDemo } = dist('demo/transfer-demo.js');

const marks = [];
let depth = 0;
const now = () => ({ wall: performance.now(), cpu: process.cpuUsage(), mono: Number(process.hrtime.bigint() / 1000n) });
const mark = (kind, name) => marks.push({ kind, name, depth, ...now() });
function wrapAsync(mod, name) {
  const orig = mod[name];
  if (typeof orig !== 'function') throw new Error(`demo-tg: ${name} is not a function export`);
  mod[name] = function wrapped(...args) {
    mark('call', name);
    depth++;
    let r;
    try {
      r = orig.apply(this, args);
    } catch (e) {
      depth--;
      throw e;
    }
    return Promise.resolve(r).finally(() => {
      depth--;
      mark('end', name);
    });
  };
}
const creation = dist('creation.js');
const manualSeed = creation.manualSeed;
creation.manualSeed = function wrappedSeed(...args) {
  mark('seed', 'manualSeed');
  return manualSeed.apply(this, args);
};
wrapAsync(dist('train/fit.js'), 'fit');
wrapAsync(dist('transfer/cache/feature-cache.js'), 'cacheFeatures');
wrapAsync(dist('transfer/recipes/fine-tune.js'), 'fineTune');

const cpuSeconds = (c) => (c.user + c.system) / 1e6;
const span = (a, b) => ({ wall: (b.wall - a.wall) / 1000, cpu: cpuSeconds(b.cpu) - cpuSeconds(a.cpu) });

/** Phases from the marks: a phase starts at the first top-level call after a manualSeed and ends at the next manualSeed after its last call ends. */
function phases(end) {
  const segs = [];
  let cur;
  let seeded = false;
  for (const m of marks) {
    if (m.kind === 'seed') {
      if (cur && cur.done && !cur.end) cur.end = m;
      seeded = true;
    } else if (m.kind === 'call' && m.depth === 0) {
      if (seeded || !cur) segs.push((cur = { begin: m, calls: [] }));
      cur.calls.push(m.name);
      cur.done = false;
      seeded = false;
    } else if (m.kind === 'end' && m.depth === 0) cur.done = true;
  }
  for (const s of segs) s.end ??= end;
  return segs;
}

async function main() {
  const start = now();
  const r = await runTransferDemo({ seed: SEED, quick: QUICK, verbose: 0, outDir: OUT });
  const end = now();
  const segs = phases(end);
  // expected: pretrain (fit), (a) fit, (b) fit, (c) cacheFeatures + fit, (d) fit, (e) fit, (f) fineTune
  const shape = segs.map((s) => s.calls.join('+')).join(',');
  const ok = shape === 'fit,fit,fit,cacheFeatures+fit,fit,fit,fineTune';
  if (!ok) process.stderr.write(`demo-tg: unexpected phases ${shape}; per-variant CPU times left out\n`);
  const rows = r.rows.map((row, i) => ({ ...row, cpuSeconds: ok ? span(segs[i + 1].begin, segs[i + 1].end).cpu : null, markWall: ok ? span(segs[i + 1].begin, segs[i + 1].end).wall : null }));
  const info = tg.buildInfo();
  process.stdout.write(
    JSON.stringify({
      side: 'tg',
      seed: SEED,
      threads: info.threads,
      torch: info.torchVersion,
      node: process.version,
      quick: QUICK,
      pretrainAccuracy: r.pretrainAccuracy,
      pretrainEpochs: r.pretrainEpochs,
      rows,
      phases: ok ? { load: span(start, segs[0].begin), pretrain: span(segs[0].begin, segs[0].end) } : {},
      e2e: span(start, end),
      // each phase's [start, end] on the monotonic clock in µs (the clock of a --cpu-prof profile's timestamps)
      spans: ok
        ? Object.fromEntries([['load', start, segs[0].begin], ...segs.map((s, i) => [i ? r.rows[i - 1].name : 'pretrain', s.begin, s.end])]
          .map(([n, a, b]) => [n, [a.mono, b.mono]]))
        : {},
      table: r.table,
    }) + '\n',
  );
}

main().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(1);
});
