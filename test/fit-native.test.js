'use strict';
// fit's native engine (whole epochs in C++ on a worker thread) against the JS loop: same weights, same logs, same
// callbacks, and the event loop left free.
const test = require('node:test');
const assert = require('node:assert');
const { performance } = require('node:perf_hooks');
const tg = require('..');
const { settleTensors } = require('./helpers/settle.js');

const quiet = { verbose: 0 };

/** A net with every kind of state the engine must carry: dropout (RNG), batch norm (buffers), two linears. */
function makeNet(seed, { dropout = 0.3, inputs = 12 } = {}) {
  tg.manualSeed(seed);
  return new tg.nn.Sequential({
    fc1: new tg.nn.Linear(inputs, 16),
    bn: new tg.nn.BatchNorm1d(16),
    act: new tg.nn.ReLU(),
    drop: new tg.nn.Dropout(dropout),
    fc2: new tg.nn.Linear(16, 3),
  });
}

function makeData(n, seed, inputs = 12) {
  tg.manualSeed(seed);
  const x = tg.randn([n, inputs]);
  const y = tg.randint(0, 3, [n]);
  return [x, y];
}

const snapshot = (net) => Object.fromEntries([...net.namedParameters(), ...net.namedBuffers()].map(([k, t]) => [k, t.toArray()]));

/** Trains a fresh net with `engine` and returns its final state, history and what the callbacks saw. */
async function trainWith(engine, options = {}, { n = 70, data } = {}) {
  const net = makeNet(1);
  const [x, y] = data ?? makeData(n, 2);
  const opt = new tg.optim.Adam(net.parameters(), { lr: 0.01 });
  const batches = [];
  const callbacks = options.withBatchEnd ? [{ onBatchEnd: (b, logs) => batches.push([b, logs.size, logs.loss]) }] : [];
  tg.manualSeed(3);
  const h = await tg.fit(net, [x, y], {
    ...quiet, epochs: 3, batchSize: 16, seed: 5, optimizer: opt, loss: 'crossEntropy', metrics: ['accuracy', 'top2'], engine, callbacks,
    ...options.fit,
  });
  const state = snapshot(net);
  const after = tg.randn([4]).toArray(); // the RNG stream after fit
  opt.dispose();
  net.dispose();
  if (!data) tg.dispose([x, y]);
  return { state, history: h, batches, after };
}

test('the native engine gives bitwise the weights, buffers, logs and random stream of the JS loop (dropout, batch norm, a partial last batch)', async () => {
  const js = await trainWith('js');
  const native = await trainWith('native');
  assert.strictEqual(js.history.engine, 'js');
  assert.strictEqual(native.history.engine, 'native');
  assert.deepStrictEqual(native.state, js.state);
  const strip = (h) => h.epochs.map((e) => ({ ...e, time: 0 }));
  assert.deepStrictEqual(strip(native.history), strip(js.history));
  assert.deepStrictEqual(native.after, js.after, 'the generator is where the JS loop leaves it (the trace draws nothing)');
  assert.ok(js.history.epochs[2].loss < js.history.epochs[0].loss, 'it trained');
});

test("engine 'auto' (the default) runs natively on tensors and TensorDatasets, the JS loop on other data", async () => {
  const net = makeNet(1, { dropout: 0 });
  const [x, y] = makeData(40, 2);
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const run = (data, extra = {}) => tg.fit(net, data, { ...quiet, batchSize: 8, optimizer: opt, loss: 'crossEntropy', ...extra });
  assert.strictEqual((await run([x, y])).engine, 'native');
  assert.strictEqual((await run(new tg.data.TensorDataset(x, y))).engine, 'native');
  assert.strictEqual((await run(new tg.data.DataLoader(new tg.data.TensorDataset(x, y), { batchSize: 8, shuffle: true, seed: 1 }))).engine, 'native');
  assert.strictEqual((await run([[x, y]])).engine, 'js', 'batches the caller made');
  assert.strictEqual((await run([x, y], { callbacks: [{ onBackward() {} }] })).engine, 'js', 'a hook between backward and step');
  assert.strictEqual((await run([x, y], { engine: 'js' })).engine, 'js');
  opt.dispose();
  net.dispose();
  tg.dispose([x, y]);
});

test("engine 'native' names what it cannot run; bad engine and clip options are refused", async () => {
  const net = makeNet(1, { dropout: 0 });
  const [x, y] = makeData(20, 2);
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const base = { ...quiet, optimizer: opt, loss: 'crossEntropy', engine: 'native' };
  await assert.rejects(tg.fit(net, [[x, y]], base), (e) => e.code === 'ERR_NATIVE_ENGINE' && /TensorDataset/.test(e.message));
  const handMade = { zeroGrad: () => opt.zeroGrad(), step: () => opt.step() };
  await assert.rejects(tg.fit(net, [x, y], { ...base, optimizer: handMade }), (e) => e.code === 'ERR_NATIVE_ENGINE' && /tg\.optim/.test(e.message));
  // a forward that branches on a value read into JavaScript cannot be replayed
  const reading = new (class extends tg.nn.Module {
    constructor() {
      super();
      this.inner = net;
    }
    forward(v) {
      const out = this.inner.forward(v);
      return out.sum().item() > 1e9 ? out.neg() : out;
    }
  })();
  await assert.rejects(tg.fit(reading, [x, y], base), (e) => e.code === 'ERR_NATIVE_ENGINE' && /reads tensor values/.test(e.message));
  assert.strictEqual((await tg.fit(reading, [x, y], { ...base, engine: 'auto' })).engine, 'js', "'auto' falls back");
  const customMetric = { name: 'half', fn: () => 0.5 };
  await assert.rejects(tg.fit(net, [x, y], { ...base, metrics: [customMetric] }), (e) => e.code === 'ERR_NATIVE_ENGINE' && /metric 'half'/.test(e.message));
  await assert.rejects(tg.fit(net, [x, y], { ...base, engine: 'gpu' }), TypeError);
  for (const bad of [0, -1, NaN, Infinity, '1'])
    await assert.rejects(tg.fit(net, [x, y], { ...base, clipGradNorm: bad }), /clipGradNorm must be a finite number > 0/);
  opt.dispose();
  net.dispose();
  tg.dispose([x, y]);
});

test('onBatchEnd sees the same batches and losses on both engines, and stopping from it ends the epoch after that batch', async () => {
  const js = await trainWith('js', { withBatchEnd: true });
  const native = await trainWith('native', { withBatchEnd: true });
  assert.strictEqual(native.batches.length, 15);
  assert.deepStrictEqual(native.batches, js.batches);
  assert.deepStrictEqual(native.state, js.state);

  const stopAt = (engine) =>
    trainWith(engine, {
      fit: { callbacks: [{ onBatchEnd: (b, _l, ctx) => b === 2 && ctx.stop('enough') }], epochs: 2 },
    });
  const [a, b] = [await stopAt('js'), await stopAt('native')];
  assert.deepStrictEqual(b.state, a.state);
  assert.deepStrictEqual(b.history.stopped, a.history.stopped);
  assert.strictEqual(b.history.length, 1);
});

test('a per-batch learning-rate schedule set from onBatchEnd reaches the native optimizer as it does the JS one', async () => {
  const schedule = (opt) => ({ onBatchEnd: (b) => (opt.paramGroups[0].lr = 0.02 / (1 + b)) });
  const run = async (engine) => {
    const net = makeNet(1, { dropout: 0 });
    const [x, y] = makeData(48, 2);
    const opt = new tg.optim.SGD(net.parameters(), { lr: 0.02, momentum: 0.9 });
    await tg.fit(net, [x, y], { ...quiet, batchSize: 16, shuffle: false, optimizer: opt, loss: 'crossEntropy', engine, callbacks: [schedule(opt)] });
    const s = snapshot(net);
    tg.dispose([x, y]);
    return s;
  };
  assert.deepStrictEqual(await run('native'), await run('js'));
});

test('gradient clipping by norm and by value gives the same weights on both engines and changes them', async () => {
  const clipped = { fit: { clipGradNorm: 0.05, clipGradValue: 0.01 } };
  const js = await trainWith('js', clipped);
  const native = await trainWith('native', clipped);
  const plain = await trainWith('js');
  assert.deepStrictEqual(native.state, js.state);
  assert.notDeepStrictEqual(js.state, plain.state);
});

test('a NaN loss stops the native epoch before the step that would spread it, with the model as after the last good batch', async () => {
  const [x, y] = makeData(48, 2);
  const bad = x.clone();
  bad.narrow(0, 20, 1).fill_(NaN); // row 20: in the second batch of 16, in order
  const net = makeNet(1, { dropout: 0 });
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  await assert.rejects(
    tg.fit(net, [bad, y], { ...quiet, batchSize: 16, shuffle: false, optimizer: opt, loss: 'crossEntropy', engine: 'native' }),
    (e) => e.code === 'ERR_NONFINITE_LOSS' && e.batch === 1 && /batch 1/.test(e.message),
  );
  assert.strictEqual(net.training, true, 'the mode is restored');
  // the reference: the same net trained on the first batch only
  const ref = makeNet(1, { dropout: 0 });
  const refOpt = new tg.optim.SGD(ref.parameters(), { lr: 0.1 });
  await tg.fit(ref, [x.narrow(0, 0, 16), y.narrow(0, 0, 16)], { ...quiet, batchSize: 16, shuffle: false, optimizer: refOpt, loss: 'crossEntropy', engine: 'js' });
  const [s, r] = [snapshot(net), snapshot(ref)];
  for (const k of ['fc1.weight', 'fc1.bias', 'fc2.weight', 'bn.weight']) assert.deepStrictEqual(s[k], r[k], k);
  opt.step(); // usable again once the epoch ended
  tg.dispose([x, y, bad]);
});

test('while a native epoch runs, its optimizer refuses JS calls (ERR_OPTIMIZER_BUSY), its model a second fit (ERR_MODEL_BUSY), and both work again afterwards', async () => {
  const net = makeNet(1, { dropout: 0 });
  const [x, y] = makeData(2048, 2);
  const opt = new tg.optim.Adam(net.parameters());
  const running = tg.fit(net, [x, y], { ...quiet, batchSize: 8, optimizer: opt, loss: 'crossEntropy', engine: 'native' });
  await new Promise((r) => setImmediate(r));
  assert.throws(() => opt.step(), (e) => e.code === 'ERR_OPTIMIZER_BUSY');
  assert.throws(() => opt.dispose(), (e) => e.code === 'ERR_OPTIMIZER_BUSY');
  assert.throws(() => (opt.paramGroups[0].lr = 0.5), (e) => e.code === 'ERR_OPTIMIZER_BUSY');
  const another = makeNet(2, { dropout: 0 });
  await assert.rejects(tg.fit(another, [x, y], { ...quiet, optimizer: opt, loss: 'crossEntropy', engine: 'native' }), (e) => e.code === 'ERR_OPTIMIZER_BUSY');
  another.dispose();
  const other = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  await assert.rejects(tg.fit(net, [x, y], { ...quiet, optimizer: other, loss: 'crossEntropy' }), (e) => e.code === 'ERR_MODEL_BUSY', 'a second fit of the same model');
  other.dispose();
  await running;
  opt.zeroGrad();
  opt.paramGroups[0].lr = 0.5;
  opt.dispose();
  tg.dispose([x, y]);
  net.dispose();
});

test('a native fit leaves the event loop mostly idle, where the JS loop keeps it busy', async () => {
  const [x, y] = makeData(4096, 2, 64);
  const utilization = async (engine) => {
    const net = makeNet(1, { dropout: 0, inputs: 64 });
    const opt = new tg.optim.SGD(net.parameters(), { lr: 0.01 });
    // measured from the second epoch on: the first one's tracing runs on the JavaScript thread by design
    let start;
    const fromSecondEpoch = { onEpochBegin: (epoch) => { if (epoch === 1) start = performance.eventLoopUtilization(); } };
    const h = await tg.fit(net, [x, y], { ...quiet, epochs: 4, batchSize: 16, optimizer: opt, loss: 'crossEntropy', engine, callbacks: [fromSecondEpoch] });
    const elu = performance.eventLoopUtilization(start).utilization;
    opt.dispose();
    net.dispose();
    return { elu, engine: h.engine };
  };
  const js = await utilization('js');
  const native = await utilization('native');
  assert.strictEqual(native.engine, 'native');
  assert.ok(native.elu < 0.5 && native.elu < js.elu / 2, `event-loop utilization: native ${native.elu.toFixed(3)}, js ${js.elu.toFixed(3)}`);
  tg.dispose([x, y]);
});

test('a feature cache trains its head natively, with the same weights as the JS loop', async () => {
  const run = async (engine) => {
    const net = makeNet(1, { dropout: 0 });
    net.freeze('fc1');
    net.freeze('bn');
    const [x, y] = makeData(64, 2);
    const cache = await tg.transfer.cacheFeatures(net, [x, y], { upTo: 'bn' });
    const opt = new tg.optim.SGD(net.parameters().filter((p) => p.requiresGrad), { lr: 0.1 });
    const h = await tg.fit(net, [x, y], { ...quiet, batchSize: 16, seed: 2, optimizer: opt, loss: 'crossEntropy', cache, engine });
    const s = snapshot(net);
    cache.dispose();
    tg.dispose([x, y]);
    return { s, engine: h.engine };
  };
  const native = await run('auto');
  assert.strictEqual(native.engine, 'native');
  assert.deepStrictEqual(native.s, (await run('js')).s);
});

test('native epochs leave no tensors behind', async () => {
  const net = makeNet(1);
  const [x, y] = makeData(64, 2);
  const opt = new tg.optim.Adam(net.parameters());
  await tg.fit(net, [x, y], { ...quiet, batchSize: 16, optimizer: opt, loss: 'crossEntropy', engine: 'native' });
  await settleTensors();
  const before = tg.memory().tensors;
  await tg.fit(net, [x, y], { ...quiet, epochs: 3, batchSize: 16, optimizer: opt, loss: 'crossEntropy', metrics: ['accuracy'], engine: 'native' });
  await settleTensors();
  assert.strictEqual(tg.memory().tensors, before);
  opt.dispose();
  net.dispose();
  tg.dispose([x, y]);
});

test('tiny epochs (run on the JS thread once they prove shorter than a thread hop) match the JS loop too, and a diverging run stops with ERR_NONFINITE_LOSS', async () => {
  const run = async (engine, lr) => {
    tg.manualSeed(4);
    const net = new tg.nn.Sequential({ fc: new tg.nn.Linear(4, 3) });
    const x = tg.randn([6, 4]).mul(10);
    const y = tg.randint(0, 3, [6]);
    const opt = new tg.optim.SGD(net.parameters(), { lr, momentum: 0.9 });
    try {
      const h = await tg.fit(net, [x, y], { ...quiet, epochs: 40, batchSize: 6, seed: 1, optimizer: opt, loss: 'crossEntropy', metrics: ['accuracy'], engine });
      return { state: snapshot(net), losses: h.series('loss') };
    } finally {
      opt.dispose();
      tg.dispose([x, y]);
    }
  };
  const [js, native] = [await run('js', 0.05), await run('native', 0.05)];
  assert.deepStrictEqual(native, js);
  await assert.rejects(run('native', 1e36), (e) => e.code === 'ERR_NONFINITE_LOSS' && e.batch === 0);
});

test('an optimizer disposed by onBatchEnd ends the native epoch with ERR_OPTIMIZER_DISPOSED, and a throwing callback with its own error', async () => {
  const net = makeNet(1, { dropout: 0 });
  const [x, y] = makeData(64, 2);
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const base = { ...quiet, batchSize: 16, loss: 'crossEntropy', engine: 'native' };
  await assert.rejects(
    tg.fit(net, [x, y], { ...base, optimizer: opt, callbacks: [{ onBatchEnd: (b) => b === 1 && opt.dispose() }] }),
    (e) => e.code === 'ERR_OPTIMIZER_DISPOSED' && e.batch === 2,
  );
  const opt2 = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const boom = new Error('callback failed');
  await assert.rejects(tg.fit(net, [x, y], { ...base, optimizer: opt2, callbacks: [{ onBatchEnd: () => { throw boom; } }] }), (e) => e === boom);
  opt2.step(); // the lease was given back
  opt2.dispose();
  net.dispose();
  tg.dispose([x, y]);
});

test('a conv net (oneDNN scratch memory, taken with raw_allocate) trains natively to the JS loop\'s weights', async () => {
  const run = async (engine) => {
    tg.manualSeed(7);
    const net = new tg.nn.Sequential({
      conv: new tg.nn.Conv2d(3, 8, 3, { padding: 1 }),
      bn: new tg.nn.BatchNorm2d(8),
      act: new tg.nn.ReLU(),
      pool: new tg.nn.MaxPool2d(2),
      flat: new tg.nn.Flatten(),
      fc: new tg.nn.Linear(8 * 8 * 8, 4),
    });
    const x = tg.randn([40, 3, 16, 16]);
    const y = tg.randint(0, 4, [40]);
    const opt = new tg.optim.Adam(net.parameters(), { lr: 0.01 });
    const h = await tg.fit(net, [x, y], { ...quiet, epochs: 2, batchSize: 16, seed: 3, optimizer: opt, loss: 'crossEntropy', engine });
    const s = snapshot(net);
    opt.dispose();
    tg.dispose([x, y]);
    return { s, engine: h.engine };
  };
  const native = await run('native');
  assert.deepStrictEqual(native.s, (await run('js')).s);
});

const { CUDA_SKIP } = require('./helpers/cuda');

test('on CUDA the native engine trains as the JS loop does (data on the CPU moved per batch, or already on the GPU)', { skip: CUDA_SKIP }, async () => {
  const run = async (engine, dataOnGpu) => {
    const net = makeNet(1, { dropout: 0 }).to('cuda');
    const [x, y] = makeData(70, 2);
    const data = dataOnGpu ? [x.to('cuda'), y.to('cuda')] : [x, y];
    const opt = new tg.optim.Adam(net.parameters(), { lr: 0.01 });
    const h = await tg.fit(net, data, { ...quiet, epochs: 2, batchSize: 16, seed: 5, optimizer: opt, loss: 'crossEntropy', metrics: ['accuracy'], engine, device: dataOnGpu ? undefined : 'cuda' });
    const state = Object.fromEntries(net.namedParameters().map(([k, t]) => [k, t.cpu()]));
    opt.dispose();
    return { state, engine: h.engine, losses: h.series('loss') };
  };
  for (const onGpu of [false, true]) {
    const [js, native] = [await run('js', onGpu), await run('native', onGpu)];
    assert.strictEqual(native.engine, 'native');
    // CUDA reductions may sum in another order from run to run: close, not bitwise
    for (const k of Object.keys(js.state)) assert.ok(native.state[k].allclose(js.state[k], 1e-5, 1e-6), `${k} (data on ${onGpu ? 'GPU' : 'CPU'})`);
    native.losses.forEach((l, i) => assert.ok(Math.abs(l - js.losses[i]) < 1e-5, `epoch ${i} loss`));
  }
});
