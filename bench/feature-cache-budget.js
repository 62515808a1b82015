#!/usr/bin/env node
'use strict';
// Benchmark (not a test): a disk feature cache several times larger than the memory budget given to the
// process builds and trains without running out of memory. The parent runs a child Node process under a
// memory limit; the child builds a float16 disk cache from a synthetic dataset whose getBatch generates rows
// from their indices (the data itself is never all in memory), trains the head for one epoch from the cache
// with tg.fit, and reports rows/s and its peak RSS.
// Options: --budget-mb M (default 512), --times K (cache size / budget, default 4), --features F (default 2048),
// --batch B (default 1024), --limit cgroup|as|none (default: cgroup when a cgroup v1 memory controller is
// writable, as root; else 'as', an address-space limit via prlimit, which also counts the ~1.5 GB of libraries
// Node and LibTorch map, so give a larger --budget-mb there), --dir D (default os.tmpdir()), --in-order (train
// without shuffling), --reads (before training, time one epoch of reading the cache's batches three ways: in order,
// block-shuffled, uniformly shuffled rows, each with its peak RSS), --compare (no budget: train the head on a disk
// cache whose pages are warm and on a memory cache of the same rows, samples/s, in one child; --compare-rows R rows,
// default 65536; --rounds R (default 3) rounds in which the four runs take turns; --block-rows R the disk cache's block size; --head mlp trains Linear(F, 512)-ReLU-Linear(512, 10) instead of Linear(F, 10)), --skip-uniform (leave
// out the uniform-rows read, the slow one).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const args = process.argv.slice(2);
const { option } = require('./helpers/feature-cache');
const opt = (name, def) => option(args, name, def);
const BUDGET_MB = Number(opt('--budget-mb', 512));
const TIMES = Number(opt('--times', 4));
const F = Number(opt('--features', 2048));
const BATCH = Number(opt('--batch', 1024));
const IN = 64;
const SHUFFLE = !args.includes('--in-order');
const READS = args.includes('--reads');
const COMPARE = args.includes('--compare');
const ROWS = Math.ceil((BUDGET_MB * TIMES * 2 ** 20) / (F * 2)); // float16 features
const MEMCG = '/sys/fs/cgroup/memory';

function status() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number((s.match(new RegExp(`${k}:\\s+(\\d+)`)) || [])[1] || 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') };
}

async function child() {
  if (COMPARE) return compareChild();
  const tg = require('..');
  const { nn } = tg;
  const dir = opt('--dir', os.tmpdir());
  // Rows generated from their index: x[i, j] = sin(0.001 i + 0.37 j), label i % 10.
  const freq = tg.tensor(Float32Array.from({ length: IN }, (_, j) => 0.37 * j)).reshape([1, IN]);
  const dataset = {
    length: ROWS,
    cacheKey: `synthetic-sin:${ROWS}x${IN}`,
    getBatch(indices) {
      return tg.tidy(() => {
        const i = tg.tensor(Float32Array.from(indices)).reshape([-1, 1]);
        const x = i.mul(0.001).add(freq).sin();
        const y = tg.tensor(Int32Array.from(indices, (k) => k % 10), { dtype: 'int64' });
        return [x, y];
      });
    },
    getItem(index) {
      return this.getBatch([index]).map((t) => t.squeeze(0));
    },
  };
  tg.manualSeed(1);
  const net = new nn.Sequential({
    base: new nn.Linear(IN, F), act: new nn.ReLU(),
    head: new nn.Linear(F, 10),
  }).freeze(/^base/);
  const cacheDir = fs.mkdtempSync(path.join(dir, 'tg-bench-budget-'));
  // Samples of RSS and of JavaScript-held ArrayBuffers while the child runs (the build and fit yield to the event loop).
  const peak = { rss: 0, arrayBuffers: 0, external: 0, anon: 0, file: 0, tensors: 0, tensorBytes: 0 };
  let phasePeak = 0; // the RSS peak since the last phase began
  const sampler = setInterval(() => {
    const t = tg.memory();
    const u = { ...process.memoryUsage(), ...status(), tensors: t.tensors ?? t.numTensors ?? 0, tensorBytes: t.bytes ?? t.numBytes ?? 0 };
    for (const k of Object.keys(peak)) peak[k] = Math.max(peak[k], u[k]);
    phasePeak = Math.max(phasePeak, u.rss);
  }, 20);
  // one epoch of batches read from the cache and dropped: rows/s and the RSS peak while it ran
  const trace = (what) => args.includes('--trace') && console.error(`[child] ${what}: RSS ${(status().rss / 2 ** 20).toFixed(0)} MiB, peak ${(status().hwm / 2 ** 20).toFixed(0)} MiB`);
  const readEpoch = async (loader) => {
    phasePeak = status().rss;
    const t0 = performance.now();
    let rows = 0;
    for await (const b of loader) {
      rows += b[0].shape[0];
      tg.dispose(b);
    }
    const s = (performance.now() - t0) / 1000;
    return { rows, s, rowsPerS: rows / s, peakRss: Math.max(phasePeak, status().rss) };
  };
  try {
    let t0 = performance.now();
    const cache = await tg.transfer.cacheFeatures(net, dataset, { store: 'disk', dir: cacheDir, dtype: 'float16', batchSize: BATCH, verbose: 0, engine: process.env.BENCH_ENGINE || 'auto' });
    const buildS = (performance.now() - t0) / 1000;
    const fileBytes = fs.statSync(cache.file).size;
    const afterBuild = status();
    trace('built');
    const reads = {};
    if (READS) {
      const opts = { store: 'disk', dir: cacheDir, dtype: 'float16', batchSize: BATCH, verbose: 0 };
      reads.inOrder = await readEpoch(cache.loader({ batchSize: BATCH }));
      trace('read in order');
      reads.blocks = await readEpoch(cache.loader({ batchSize: BATCH, shuffle: true, seed: 1 }));
      if (!args.includes('--skip-uniform')) {
        const uniform = await tg.transfer.cacheFeatures(net, dataset, { ...opts, shuffle: 'rows' });
        trace('read block-shuffled');
        reads.rows = await readEpoch(uniform.loader({ batchSize: BATCH, shuffle: true, seed: 1 }));
        trace('read uniform');
        uniform.dispose();
      }
    }
    phasePeak = status().rss;
    const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.01, momentum: 0.9 });
    t0 = performance.now();
    const h = await tg.fit(net, dataset, { epochs: 1, batchSize: BATCH, seed: 3, shuffle: SHUFFLE, optimizer, loss: 'crossEntropy', cache, verbose: 0 });
    const epochS = (performance.now() - t0) / 1000;
    const fitPeakRss = phasePeak;
    cache.dispose();
    clearInterval(sampler);
    const end = status();
    console.log(JSON.stringify({ rows: ROWS, fileBytes, buildS, epochS, fitEpochS: h.epochs[0].time, loss: h.epochs[0].loss, rssAfterBuild: afterBuild.hwm, peakRss: end.hwm, fitPeakRss, reads, sampled: peak }));
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

/** Samples/s of fit on the head Linear(F, 10) from a disk cache (pages warm) and from a memory cache of the same rows. */
async function compareChild() {
  const tg = require('..');
  const { nn } = tg;
  const rows = Number(opt('--compare-rows', 65536));
  const epochs = Number(opt('--epochs', 3));
  const dir = fs.mkdtempSync(path.join(opt('--dir', os.tmpdir()), 'tg-bench-compare-'));
  const freq = tg.tensor(Float32Array.from({ length: IN }, (_, j) => 0.37 * j)).reshape([1, IN]);
  const dataset = {
    length: rows,
    cacheKey: `synthetic-sin:${rows}x${IN}`,
    getBatch: (indices) => tg.tidy(() => [tg.tensor(Float32Array.from(indices)).reshape([-1, 1]).mul(0.001).add(freq).sin(), tg.tensor(Int32Array.from(indices, (k) => k % 10), { dtype: 'int64' })]),
    getItem(index) {
      return this.getBatch([index]).map((t) => t.squeeze(0));
    },
  };
  const net = () => {
    tg.manualSeed(1);
    // a larger head spends more time per batch on training and less, relatively, on moving the cached features
    const head = opt('--head', 'linear') === 'mlp' ? new nn.Sequential([new nn.Linear(F, 512), new nn.ReLU(), new nn.Linear(512, 10)]) : new nn.Linear(F, 10);
    return new nn.Sequential({ base: new nn.Linear(IN, F), act: new nn.ReLU(), head }).freeze(/^base/);
  };
  const rounds = Number(opt('--rounds', 3));
  const out = { rows, epochs, rounds, head: opt('--head', 'linear') };
  // each cache on fit's native engine (its default: a memory cache's epochs gathered and trained in C++, a disk cache's
  // blocks read and checked by its reader, each batch's rows gathered and trained in C++) and on the JS loop; the four
  // runs take turns, round after round, so that a slow spell of the machine falls on all of them
  const configs = [['disk', 'auto', 'disk'], ['memory', 'auto', 'memory'], ['disk', 'js', 'diskJs'], ['memory', 'js', 'memoryJs']];
  try {
    const nets = {};
    const caches = {};
    for (const store of ['disk', 'memory']) {
      nets[store] = net();
      // --block-rows R: blocks of R rows (built in batches of R when R < the batch size)
      const blockRows = opt('--block-rows', undefined);
      const disk = store === 'disk' && blockRows ? { blockRows: Number(blockRows), batchSize: Math.min(BATCH, Number(blockRows)) } : {};
      caches[store] = await tg.transfer.cacheFeatures(nets[store], dataset, { store, dir, dtype: 'float16', batchSize: BATCH, verbose: 0, ...disk });
    }
    const fit = (store, engine, n) => {
      const m = nets[store];
      return tg.fit(m, dataset, { epochs: n, batchSize: BATCH, seed: 3, engine, optimizer: new tg.optim.SGD(m.trainableParameters(), { lr: 0.01, momentum: 0.9 }), loss: 'crossEntropy', cache: caches[store], verbose: 0 });
    };
    for (const [store, engine] of configs) await fit(store, engine, 1); // warm: the file's pages in the page cache, the allocator, the JIT
    const best = Object.fromEntries(configs.map(([, , key]) => [key, []]));
    for (let r = 0; r < rounds; r++)
      for (const [store, engine, key] of configs) {
        const h = await fit(store, engine, epochs);
        out[`${key}Engine`] = h.engine;
        best[key].push(Math.min(...h.epochs.map((e) => e.time)));
      }
    const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
    for (const [, , key] of configs) out[key] = { engine: out[`${key}Engine`], epochS: best[key], samplesPerS: rows / Math.min(...best[key]), medianSamplesPerS: rows / median(best[key]) };
    // the ratio of each round's pair, then their median: rounds taken at different moments are not mixed
    out.roundRatios = best.disk.map((d, r) => best.memory[r] / d);
    out.roundRatiosJs = best.diskJs.map((d, r) => best.memoryJs[r] / d);
    for (const store of ['disk', 'memory']) caches[store].dispose();
    console.log(JSON.stringify(out));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function pickLimit() {
  const want = opt('--limit', 'auto');
  if (want !== 'auto') return want;
  try {
    fs.accessSync(path.join(MEMCG, 'memory.limit_in_bytes'), fs.constants.W_OK);
    return 'cgroup';
  } catch {
    return 'as';
  }
}

function parent() {
  const budget = BUDGET_MB * 2 ** 20;
  const limit = COMPARE ? 'none' : pickLimit();
  const mb = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(`disk cache under a memory budget: budget ${mb(budget)} (${limit}), ${ROWS} rows x ${F} float16 features ` +
    `(${mb(ROWS * F * 2)}, ${TIMES}x the budget) from ${IN} generated inputs, frozen Linear(${IN}, ${F}) + ReLU, head Linear(${F}, 10), batch ${BATCH}, ${SHUFFLE ? 'shuffled' : 'in order'}, ` +
    `${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`);
  const childArgs = [__filename, '--child', ...args];
  let cg;
  let cmd;
  if (limit === 'cgroup') {
    cg = path.join(MEMCG, `tg-bench-budget-${process.pid}`);
    fs.mkdirSync(cg);
    fs.writeFileSync(path.join(cg, 'memory.limit_in_bytes'), String(budget));
    try { fs.writeFileSync(path.join(cg, 'memory.memsw.limit_in_bytes'), String(budget)); } catch { /* no swap accounting */ }
    cmd = ['/bin/sh', ['-c', `echo $$ > ${cg}/cgroup.procs && exec "$0" "$@"`, process.execPath, ...childArgs]];
  } else if (limit === 'as') {
    cmd = ['prlimit', [`--as=${budget}`, process.execPath, ...childArgs]];
  } else {
    cmd = [process.execPath, childArgs];
  }
  const r = spawnSync(cmd[0], cmd[1], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  let cgInfo = '';
  if (cg) {
    const read = (f) => fs.readFileSync(path.join(cg, f), 'utf8').trim();
    const oomKills = (read('memory.oom_control').match(/oom_kill (\d+)/) || [])[1];
    cgInfo = `cgroup peak usage (RSS + page cache) ${mb(Number(read('memory.max_usage_in_bytes')))}, limit hits ${read('memory.failcnt')}, OOM kills ${oomKills ?? 'n/a'}`;
    try { fs.rmdirSync(cg); } catch (e) { console.log(`could not remove ${cg}: ${e.message}`); }
  }
  const line = (r.stdout || '').trim().split('\n').pop();
  if (r.status !== 0 || !line || !line.startsWith('{')) {
    console.log(`child failed: status ${r.status}, signal ${r.signal} (a SIGKILL under a cgroup is the OOM killer)`);
    if (cgInfo) console.log(cgInfo);
    process.exit(1);
  }
  const m = JSON.parse(line);
  if (COMPARE) {
    const med = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const fmt = (a) => a.map((x) => x.toFixed(2)).join(', ');
    console.log(`head (${m.head}) training, warm pages, no budget: ${m.rows} rows x ${F} float16 features, batch ${BATCH}; ${m.rounds} rounds of ${m.epochs} epochs per run, the runs taking turns; best epoch (median round in brackets)`);
    for (const [label, key] of [['disk cache  ', 'disk'], ['memory cache', 'memory'], ['disk cache  ', 'diskJs'], ['memory cache', 'memoryJs']])
      console.log(`  ${label} ${m[key].samplesPerS.toFixed(0)} samples/s (${m[key].medianSamplesPerS.toFixed(0)}), engine ${m[key].engine}`);
    console.log(`  disk / memory, native engine: median of rounds ${med(m.roundRatios).toFixed(2)}x (rounds ${fmt(m.roundRatios)}); best vs best ${(m.disk.samplesPerS / m.memory.samplesPerS).toFixed(2)}x`);
    console.log(`  disk / memory, JS loop:       median of rounds ${med(m.roundRatiosJs).toFixed(2)}x (rounds ${fmt(m.roundRatiosJs)})`);
    return;
  }
  console.log(`cache file               ${mb(m.fileBytes)} (${(m.fileBytes / budget).toFixed(1)}x the budget)`);
  console.log(`cache build              ${m.buildS.toFixed(1)} s   ${(m.rows / m.buildS).toFixed(0)} rows/s`);
  console.log(`one epoch from the cache ${m.epochS.toFixed(1)} s   ${(m.rows / m.epochS).toFixed(0)} rows/s   (loss ${m.loss.toFixed(3)})`);
  for (const [k, name] of [['inOrder', 'read, in order'], ['blocks', 'read, block-shuffled'], ['rows', 'read, uniform rows']]) {
    const r = m.reads[k];
    if (r) console.log(`${name.padEnd(24)} ${r.s.toFixed(1)} s   ${r.rowsPerS.toFixed(0)} rows/s   peak RSS ${mb(r.peakRss)}${k === 'inOrder' ? '' : `   (${(r.rowsPerS / m.reads.inOrder.rowsPerS).toFixed(2)}x in order)`}`);
  }
  console.log(`fit epoch peak RSS       ${mb(m.fitPeakRss)}`);
  console.log(`peak RSS                 ${mb(m.peakRss)} after the epoch (${mb(m.rssAfterBuild)} after the build), ${(100 * m.peakRss / budget).toFixed(0)}% of the budget`);
  console.log(`sampled peaks            RSS ${mb(m.sampled.rss)}, ArrayBuffers held by JavaScript ${mb(m.sampled.arrayBuffers)}, V8 external ${mb(m.sampled.external)}, RssAnon ${mb(m.sampled.anon)}, RssFile ${mb(m.sampled.file)}, live tensors ${m.sampled.tensors} (${mb(m.sampled.tensorBytes)})`);
  if (cgInfo) console.log(cgInfo);
}

if (args.includes('--child')) child().catch((e) => { console.error(e); process.exit(1); });
else parent();
