// The event-loop lag probe shared by the load tests and scripts/fuzz/event-loop-lag.js: the longest gap between the
// ticks of a 1 ms interval while a file loads.
'use strict';
const { performance } = require('node:perf_hooks');

/**
 * Loads `file` with `tg.io.load` while a 1 ms interval runs: { out, maxGapMs, loadMs }. `warmupMs` lets the interval
 * settle first (its first ticks are not counted).
 */
async function loadWithLag(tg, file, { warmupMs = 0 } = {}) {
  let last = performance.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 1);
  try {
    if (warmupMs) {
      await new Promise((r) => setTimeout(r, warmupMs));
      maxGapMs = 0;
      last = performance.now();
    }
    const t0 = performance.now();
    const out = await tg.io.load(file);
    maxGapMs = Math.max(maxGapMs, performance.now() - last);
    return { out, maxGapMs, loadMs: performance.now() - t0 };
  } finally {
    clearInterval(timer);
  }
}

module.exports = { loadWithLag };
