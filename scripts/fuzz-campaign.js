#!/usr/bin/env node
// The long structure-aware fuzz campaign over every loader (see scripts/fuzz/): prints one table of outcomes.
// Usage: node scripts/fuzz-campaign.js [--mutants 10000] [--format hdf5[,onnx]] [--seed 1] [--start 0]
//          [--jobs 2] [--timeout 10] [--rss-limit 3072] [--json out.json]
//        node scripts/fuzz-campaign.js --format F --seed S --replay I [--out DIR]   (writes mutant I and loads it here)
// Mutant I of (seed, format) never depends on the others, so an interrupted run resumes with --start.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Pool } = require('./fuzz/pool');
const { TARGETS, loadTarget, mutantOf, writeMutant, runTarget } = require('./fuzz/campaign');

function options(argv) {
  const o = { mutants: 10000, seed: 1, start: 0, jobs: Math.max(1, Math.min(os.cpus().length, 8)), timeout: 10, rssLimit: 3072, format: TARGETS.map((t) => t.name).join(',') };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '').replace(/-(\w)/g, (_, c) => c.toUpperCase());
    if (!(key in o) && !['replay', 'out', 'json'].includes(key)) throw new RangeError(`fuzz-campaign: unknown option ${argv[i]}`);
    const v = argv[++i];
    o[key] = ['format', 'out', 'json'].includes(key) ? v : Number(v);
  }
  return o;
}

/** The table: one line per format, figures right-aligned. */
function table(rows) {
  const head = ['format', 'mutants', 'loads', 'coded errors', 'uncoded', 'crashes', 'hangs', 'max RSS MB', 'seconds'];
  const lines = rows.map((r) => [r.format, r.mutants, r.loaded, r.coded, r.uncoded, r.crash, r.hang, Math.round(r.maxRssMb), r.seconds.toFixed(1)].map(String));
  const w = head.map((h, k) => Math.max(h.length, ...lines.map((l) => l[k].length)));
  const fmt = (l) => `| ${l.map((c, k) => (k ? c.padStart(w[k]) : c.padEnd(w[k]))).join(' | ')} |`;
  return [fmt(head), `|${w.map((n, k) => (k ? '-'.repeat(n + 1) + ':' : '-'.repeat(n + 2))).join('|')}|`, ...lines.map(fmt)].join('\n');
}

async function replay(o) {
  const target = loadTarget(o.format);
  const m = mutantOf(target, o.seed, o.replay);
  const dir = o.out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-replay-'));
  const file = writeMutant(m, dir);
  console.log(`mutant ${o.replay} of ${o.format} (seed ${o.seed}, from ${m.seedFile}): ${file}`);
  const tg = require('..');
  const t0 = Date.now();
  try {
    const r = target.api === 'loadTorchScript' ? await tg.io.loadTorchScript(file) : await tg.io.load(file);
    console.log(`loaded in ${Date.now() - t0} ms`);
    tg.dispose(r);
  } catch (e) {
    console.log(`threw after ${Date.now() - t0} ms: ${e.name} ${e.code ?? ''}: ${e.message}`);
  }
}

async function main() {
  const o = options(process.argv.slice(2));
  if (o.replay !== undefined) return replay(o);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-campaign-'));
  const rows = [];
  const pool = new Pool({ size: o.jobs, timeoutMs: o.timeout * 1000, rssLimitMb: o.rssLimit });
  let stopping = false;
  // Ctrl-C ends the run after the loads in flight and still prints the table, with where to resume.
  process.on('SIGINT', () => (stopping = true));
  try {
    for (const name of o.format.split(',')) {
      if (stopping) break;
      pool.maxRssKb = 0;
      const row = await runTarget(name, {
        pool, seed: o.seed, start: o.start, mutants: o.mutants, scratch,
        stop: () => stopping, onProgress: (r) => process.stderr.write(`${name}: ${r.mutants} mutants\r`),
      });
      row.maxRssMb = pool.maxRssKb / 1024;
      rows.push(row);
      process.stderr.write(`${name}: ${row.mutants} mutants in ${row.seconds.toFixed(1)} s; next --start ${row.next}\n`);
      for (const d of row.defects) process.stderr.write(`  ${d.outcome}: node scripts/fuzz-campaign.js --format ${d.format} --seed ${d.seed} --replay ${d.iteration}  (${d.seedFile}) ${d.error ?? ''} ${d.message ?? ''}\n`);
    }
  } finally {
    pool.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  console.log(table(rows));
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(rows, null, 2));
  if (rows.some((r) => r.uncoded || r.crash || r.hang)) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e.stack);
  process.exit(2);
});
