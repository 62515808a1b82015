'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const tg = require('..');
const { TinyLinear, TinySGD, separable } = require('./helpers/tiny');

// Many small batches: without yielding, fit would hold the thread for the whole run.
async function longFit(net, x, y) {
  return tg.fit(net, [x, y], { verbose: 0, epochs: 3, batchSize: 4, optimizer: new TinySGD(net.parameters(), 0.05), loss: 'crossEntropy', metrics: ['accuracy'], validation: [x, y] });
}

test('the event loop stays responsive during fit: lag measured with monitorEventLoopDelay', async (t) => {
  const [x, y] = separable(512, 1);
  const net = new TinyLinear(2, 2);
  // the histogram counts the 5 ms sampling interval too: an idle loop first, for scale
  const idle = monitorEventLoopDelay({ resolution: 5 });
  idle.enable();
  await new Promise((r) => setTimeout(r, 300));
  idle.disable();
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const t0 = performance.now();
  await longFit(net, x, y);
  const ms = performance.now() - t0;
  h.disable();
  const p50 = h.percentile(50) / 1e6;
  const p99 = h.percentile(99) / 1e6;
  const max = h.max / 1e6;
  t.diagnostic(`idle loop: p50 ${(idle.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(idle.percentile(99) / 1e6).toFixed(2)} ms`);
  t.diagnostic(`fit of ${ms.toFixed(0)} ms (3 epochs x 128 batches + validation): event-loop delay p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${max.toFixed(2)} ms`);
  t.diagnostic(`${h.count} delay samples during fit`);
  // A blocked loop records no samples and reads p99 0: require samples at least every 100 ms on average (and 3).
  assert.ok(h.count >= Math.max(3, Math.floor(ms / 100)), `only ${h.count} event-loop delay samples in a ${ms.toFixed(0)} ms fit`);
  // generous: this checks that fit yields between batches, not how fast a shared CPU is
  assert.ok(p99 < 250, `p99 event-loop delay ${p99} ms`);
  tg.dispose([x, y]);
  net.dispose();
});

test('a setInterval keeps firing while fit runs', async (t) => {
  const [x, y] = separable(512, 2);
  const net = new TinyLinear(2, 2);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const t0 = performance.now();
  await longFit(net, x, y);
  const ms = performance.now() - t0;
  clearInterval(timer);
  t.diagnostic(`${ticks} ticks of a 10 ms interval during a ${ms.toFixed(0)} ms fit`);
  // at least a third of the ticks a free loop would give
  assert.ok(ticks >= Math.floor(ms / 10 / 3), `${ticks} ticks in ${ms} ms`);
  assert.ok(ticks >= 3, `${ticks} ticks`);
  tg.dispose([x, y]);
  net.dispose();
});
