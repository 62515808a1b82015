#!/usr/bin/env node
// Benchmark (not a test): how much a DataLoader's prefetch overlaps a slow stream with training. A batched stream
// waits S ms per batch (a timer, as a read would) and fit trains a small MLP for T ms per batch (batch size calibrated
// to T); per (S, T): the epoch without read-ahead, with prefetch 1 and 2, and the source alone and the training alone
// (measured S and T). Overlap = 1 - with / (S + T), the ideal being 1 - max(S, T) / (S + T), each taken within a round
// (the variants run one after another, so that load on a shared machine falls on all alike); medians over rounds.
// Usage: node bench/stream-prefetch.js [--batches K] [--rounds R] [--threads N] [--pairs 5x20,20x20] [--json FILE]
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { performance } = require('node:perf_hooks');

const root = path.resolve(__dirname, '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const BATCHES = Number(arg('batches', 30));
const ROUNDS = Number(arg('rounds', 3));
const THREADS = Number(arg('threads', 1));
// S x T in ms; a trailing '/4' splits the source's wait into 4 timers (a source needing several event-loop turns)
const PAIRS = arg('pairs', '5x20,20x20,20x5,10x10,20x20/4').split(',');
const FEATURES = 256;
const tg = require(root);
tg.setNumThreads(THREADS);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function model() {
  tg.manualSeed(0);
  const net = new tg.nn.Sequential([new tg.nn.Linear(FEATURES, 512), new tg.nn.ReLU(), new tg.nn.Linear(512, 512), new tg.nn.ReLU(), new tg.nn.Linear(512, 10)]);
  return { net, opt: new tg.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 }) };
}

// A stream of `BATCHES` batches of `rows` rows, each after waiting `s` ms (in `splits` timers).
function stream(s, rows, splits) {
  return tg.data.fromAsyncIterable(
    async function* () {
      for (let i = 0; i < BATCHES; i++) {
        for (let k = 0; k < splits; k++) if (s > 0) await sleep(s / splits);
        yield [tg.randn([rows, FEATURES]), tg.randint(0, 10, [rows])];
      }
    },
    { batched: true, length: BATCHES },
  );
}

/** Milliseconds of one epoch of fit over the stream (prefetch 0: none). */
async function epoch(s, rows, splits, prefetchN) {
  const { net, opt } = model();
  const loader = new tg.data.DataLoader(stream(s, rows, splits), prefetchN > 0 ? { prefetch: prefetchN } : {});
  const t0 = performance.now();
  await tg.fit(net, loader, { verbose: 0, optimizer: opt, loss: 'crossEntropy', engine: 'js' });
  const ms = performance.now() - t0;
  opt.dispose?.();
  net.dispose();
  return ms;
}

/** Milliseconds to read the stream alone (the consumer only disposes). */
async function sourceAlone(s, rows, splits) {
  const t0 = performance.now();
  for await (const b of new tg.data.DataLoader(stream(s, rows, splits))) tg.dispose(b);
  return performance.now() - t0;
}

/** Rows per batch for a training step of about `t` ms, from a timed epoch at 64 rows. */
async function calibrate(t) {
  await epoch(0, 64, 1, 0); // warm-up
  const per64 = median([await epoch(0, 64, 1, 0), await epoch(0, 64, 1, 0), await epoch(0, 64, 1, 0)]) / BATCHES;
  return Math.max(1, Math.round((64 * t) / per64));
}

(async () => {
  const rows = {};
  for (const p of PAIRS) {
    const t = Number(p.split('x')[1].split('/')[0]);
    rows[t] ??= await calibrate(t);
  }
  const results = [];
  for (const p of PAIRS) {
    const [s, rest] = p.split('x').map(String);
    const [t, splits = '1'] = rest.split('/');
    const S = Number(s);
    const T = Number(t);
    const k = Number(splits);
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      const source = await sourceAlone(S, rows[T], k);
      const train = await epoch(0, rows[T], k, 0);
      const without = await epoch(S, rows[T], k, 0);
      const with1 = await epoch(S, rows[T], k, 1);
      const with2 = await epoch(S, rows[T], k, 2);
      // ratios within the round, so that the machine's load at the time falls on both sides
      const sum = source + train;
      rounds.push({
        source, train, without, with1, with2,
        overlap1: 1 - with1 / sum, overlap2: 1 - with2 / sum, idealOverlap: 1 - Math.max(source, train) / sum, speedup2: without / with2,
      });
    }
    const med = (f) => median(rounds.map(f));
    const perBatch = (f) => med(f) / BATCHES;
    const row = {
      pair: p, rows: rows[T], sourceMs: perBatch((r) => r.source), trainMs: perBatch((r) => r.train), withoutMs: perBatch((r) => r.without),
      prefetch1Ms: perBatch((r) => r.with1), prefetch2Ms: perBatch((r) => r.with2), idealMs: perBatch((r) => Math.max(r.source, r.train)),
      overlap1: med((r) => r.overlap1), overlap2: med((r) => r.overlap2), idealOverlap: med((r) => r.idealOverlap), speedup2: med((r) => r.speedup2),
    };
    results.push({ ...row, rounds });
    console.error(
      `S x T ${p} (${rows[T]} rows): per batch source ${row.sourceMs.toFixed(1)} train ${row.trainMs.toFixed(1)} without ${row.withoutMs.toFixed(1)} ` +
        `prefetch 1 ${row.prefetch1Ms.toFixed(1)} prefetch 2 ${row.prefetch2Ms.toFixed(1)} ideal ${row.idealMs.toFixed(1)} ms; ` +
        `overlap ${row.overlap1.toFixed(2)} / ${row.overlap2.toFixed(2)} of ideal ${row.idealOverlap.toFixed(2)}`,
    );
  }
  const out = {
    date: new Date().toISOString(),
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
    torch: tg.buildInfo().torchVersion,
    config: { batches: BATCHES, rounds: ROUNDS, threads: THREADS, features: FEATURES },
    results,
  };
  const summary = results.map((r) => Object.fromEntries(Object.entries(r).filter(([key]) => key !== 'rounds')));
  console.log(JSON.stringify({ ...out, results: summary }, null, 2));
  const file = arg('json');
  if (file) fs.writeFileSync(file, JSON.stringify(out, null, 2));
})();
