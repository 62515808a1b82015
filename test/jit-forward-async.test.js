'use strict';
// ScriptModule.forwardAsync: a traced module's forward on a worker thread, equal to forward, without gradient
// recording, while timers keep running; a failing forward rejects with a TorchError and the process goes on.
const test = require('node:test');
const assert = require('node:assert');
const { tg } = require('./helpers/torch');

function net() {
  tg.manualSeed(3);
  const m = new tg.nn.Sequential([new tg.nn.Linear(64, 256), new tg.nn.ReLU(), new tg.nn.Linear(256, 32)]);
  m.eval();
  return m;
}

test('forwardAsync equals forward exactly and records no gradient', async () => {
  const m = net();
  const traced = tg.jit.trace(m, [tg.randn([4, 64])]);
  const x = tg.randn([33, 64]);
  const y = await traced.forwardAsync(x);
  const want = tg.noGrad(() => m.forward(x));
  assert.deepStrictEqual(y.shape, [33, 32]);
  assert.strictEqual(y.requiresGrad, false);
  assert.deepStrictEqual(Array.from(await y.data()), Array.from(await want.data()));
});

test('the event loop turns while forwardAsync runs', async () => {
  const m = new tg.nn.Sequential([new tg.nn.Linear(1024, 1024), new tg.nn.ReLU(), new tg.nn.Linear(1024, 1024)]);
  m.eval();
  const traced = tg.jit.trace(m, [tg.randn([2, 1024])]);
  const x = tg.randn([2048, 1024]);
  let turns = 0;
  const timer = setInterval(() => turns++, 1);
  const t0 = performance.now();
  let runs = 0;
  while (performance.now() - t0 < 300 || runs < 2) {
    (await traced.forwardAsync(x)).dispose();
    runs++;
  }
  clearInterval(timer);
  // a synchronous forward of this size holds the loop for its whole duration: no timer could fire between the calls' ends
  assert.ok(turns >= 5, `timer fired ${turns} times during ${runs} forwards`);
});

test('a forward that fails rejects with a TorchError; bad arguments throw at once', async () => {
  const traced = tg.jit.trace(net(), [tg.randn([4, 64])]);
  await assert.rejects(traced.forwardAsync(tg.randn([4, 65])), (e) => e.name === 'TorchError' && /forwardAsync\(\)/.test(e.message));
  assert.throws(() => traced.forwardAsync('x'), TypeError);
  assert.throws(() => traced.forwardAsync(tg.randn([4, 64]), tg.randn([4, 64])), /takes 1 argument/);
  const y = await traced.forwardAsync(tg.randn([2, 64]));
  assert.deepStrictEqual(y.shape, [2, 32]);
});
