#!/usr/bin/env node
// Memory check (not a test): 1e6 iterations of small ops in tidy scopes; prints live tensor count and RSS as it goes.
// Usage: node bench/memory.js [iterations]
'use strict';
const path = require('node:path');
const tg = require(path.resolve(__dirname, '..'));

const N = Number(process.argv[2] || 1e6);
const STEP = N / 10;
const x = tg.ones([4]);
const mb = () => (process.memoryUsage().rss / 2 ** 20).toFixed(0);
const turn = () => new Promise((r) => setImmediate(r));

async function run(label, body, { yieldEvery = 0 } = {}) {
  await turn();
  const start = tg.memory().tensors;
  const t0 = process.hrtime.bigint();
  const samples = [];
  let maxTensors = start;
  for (let i = 1; i <= N; i++) {
    body();
    if (yieldEvery && i % yieldEvery === 0) await turn(); // lets Node run N-API finalizers
    if (i % STEP === 0) {
      const n = tg.memory().tensors;
      maxTensors = Math.max(maxTensors, n);
      samples.push(`${n}/${mb()}MB`);
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await turn();
  await turn();
  console.log(`${label}\n  tensors/RSS every ${STEP}: ${samples.join(' ')}\n` +
    `  live tensors: ${start} before, max ${maxTensors} during, ${tg.memory().tensors} after the loop and two event-loop turns; ` +
    `${((secs * 1e6) / N).toFixed(2)} µs/iteration wall`);
}

(async () => {
  console.log(`${N} iterations each; RSS at start ${mb()} MB`);
  await run('tg.tidy(() => { x.add(x); })  (the result is disposed by the scope)', () => {
    tg.tidy(() => {
      x.add(x);
    });
  });
  await run('const y = x.add(x); y.dispose()', () => {
    x.add(x).dispose();
  });
  await run('tg.tidy(() => x.add(x))  (the result escapes the scope and is dropped: only GC can free it), yielding every 1000', () => tg.tidy(() => x.add(x)), {
    yieldEvery: 1000,
  });
  await run('tg.tidy(() => x.add(x))  (same, a synchronous loop that never yields)', () => tg.tidy(() => x.add(x)));
})();
