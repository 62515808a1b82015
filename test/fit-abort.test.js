'use strict';
// Cancelling fit, evaluate and predict with an AbortSignal: a run stops after the current batch (JS loop) or chunk
// (native engine), restores the model's mode, reports why in its History and leaks no tensor; an already aborted
// signal rejects with an AbortError as Node's APIs do.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { settleTensors } = require('./helpers/settle.js');

const quiet = { verbose: 0 };

function makeNet() {
  tg.manualSeed(1);
  return new tg.nn.Sequential({ fc1: new tg.nn.Linear(32, 128), act: new tg.nn.ReLU(), drop: new tg.nn.Dropout(0.1), fc2: new tg.nn.Linear(128, 4) });
}

function makeData(n) {
  tg.manualSeed(2);
  return [tg.randn([n, 32]), tg.randint(0, 4, [n])];
}

const isAbortError = (reason) => (e) => e.name === 'AbortError' && e.code === 'ABORT_ERR' && e.cause === reason && e instanceof Error;

for (const [engine, rows] of [['js', 4096], ['native', 32768]]) {
  test(`engine '${engine}': an abort from a timer mid-epoch stops after the current ${engine === 'js' ? 'batch' : 'chunk'}, restores the mode, records why, leaks nothing`, async () => {
    const [x, y] = makeData(rows);
    const net = makeNet();
    const opt = new tg.optim.SGD(net.parameters(), { lr: 0.01 });
    await tg.fit(net, [x, y], { ...quiet, batchSize: 16, optimizer: opt, loss: 'crossEntropy', engine }); // warm-up
    for (const startMode of [false, true]) {
      net.train(startMode);
      await settleTensors();
      const live = tg.memory().tensors;
      const ac = new AbortController();
      let batches = 0;
      let atAbort = -1;
      const seen = [];
      const callbacks = [
        {
          onEpochBegin(epoch) {
            // the abort lands inside epoch 1's first batches (or first native chunk of 50 ms; an epoch here takes longer)
            if (epoch === 1) setTimeout(() => ((atAbort = batches), ac.abort()), 10);
          },
          onEpochEnd: (epoch) => seen.push(['end', epoch]),
          onTrainEnd: (h, ctx) => seen.push(['trainEnd', ctx.stopRequested]),
        },
      ];
      if (engine === 'js') callbacks.push({ onBatchEnd: () => batches++ });
      const h = await tg.fit(net, [x, y], { ...quiet, epochs: 50, batchSize: 16, optimizer: opt, loss: 'crossEntropy', engine, signal: ac.signal, callbacks, validation: [x, y] });
      assert.strictEqual(h.engine, engine);
      assert.deepStrictEqual(h.stopped, { epoch: 1, reason: 'aborted' });
      assert.deepStrictEqual(h.epochs.map((e) => e.epoch), [0], 'the interrupted epoch is not recorded');
      assert.deepStrictEqual(seen, [['end', 0], ['trainEnd', true]]);
      if (engine === 'js') {
        assert.ok(atAbort >= 0 && batches - atAbort <= 1, `batches after the abort: ${batches - atAbort}`);
        assert.ok(batches < 2 * (rows / 16), 'epoch 1 was cut short');
      }
      assert.strictEqual(net.training, startMode, 'mode restored');
      assert.strictEqual(net.get('drop').training, startMode, 'submodules too');
      await settleTensors();
      assert.strictEqual(tg.memory().tensors, live, 'no tensor left behind');
    }
    opt.dispose();
    net.dispose();
    tg.dispose([x, y]);
  });
}

test('a signal aborted before fit starts rejects with an AbortError (its reason as cause); nothing runs', async () => {
  const [x, y] = makeData(64);
  const net = makeNet();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const before = net.parameters().map((p) => p.toArray());
  const ac = new AbortController();
  const reason = new Error('user pressed cancel');
  ac.abort(reason);
  let began = false;
  net.eval();
  await assert.rejects(
    tg.fit(net, [x, y], { ...quiet, optimizer: opt, loss: 'crossEntropy', signal: ac.signal, callbacks: [{ onTrainBegin: () => (began = true) }] }),
    isAbortError(reason),
  );
  assert.strictEqual(began, false);
  assert.strictEqual(net.training, false);
  assert.deepStrictEqual(net.parameters().map((p) => p.toArray()), before);
  // AbortSignal.abort() without a reason: Node's DOMException AbortError is the cause
  const plain = AbortSignal.abort();
  await assert.rejects(tg.fit(net, [x, y], { ...quiet, optimizer: opt, loss: 'crossEntropy', signal: plain }), isAbortError(plain.reason));
  await assert.rejects(tg.fit(net, [x, y], { ...quiet, optimizer: opt, loss: 'crossEntropy', signal: {} }), (e) => e instanceof TypeError && /signal must be an AbortSignal/.test(e.message));
  opt.dispose();
  net.dispose();
  tg.dispose([x, y]);
});

test('an abort between epochs (from onEpochEnd) stops before the next epoch; one during validation drops that epoch', async () => {
  const [x, y] = makeData(64);
  const net = makeNet();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const ac = new AbortController();
  const h = await tg.fit(net, [x, y], {
    ...quiet, epochs: 5, batchSize: 8, optimizer: opt, loss: 'crossEntropy', signal: ac.signal, engine: 'js',
    callbacks: [{ onEpochEnd: (e) => e === 2 && ac.abort() }],
  });
  assert.deepStrictEqual(h.stopped, { epoch: 3, reason: 'aborted' });
  assert.strictEqual(h.length, 3);
  // validation batches of a function: the abort comes from inside the second validation pass
  const ac2 = new AbortController();
  let passes = 0;
  const validation = () => {
    passes++;
    return (function* () {
      for (let i = 0; i < 4; i++) {
        if (passes === 2 && i === 1) ac2.abort();
        yield [x, y];
      }
    })();
  };
  const h2 = await tg.fit(net, [x, y], { ...quiet, epochs: 5, batchSize: 8, optimizer: opt, loss: 'crossEntropy', signal: ac2.signal, validation, engine: 'js' });
  assert.deepStrictEqual(h2.stopped, { epoch: 1, reason: 'aborted' });
  assert.deepStrictEqual(h2.epochs.map((e) => e.epoch), [0]);
  assert.ok(Number.isFinite(h2.epochs[0].val_loss));
  opt.dispose();
  net.dispose();
  tg.dispose([x, y]);
});

test('evaluate and predict: an aborted signal rejects with an AbortError, before start or after the current batch, mode restored', async () => {
  const [x, y] = makeData(64);
  const net = makeNet();
  net.train();
  const pre = AbortSignal.abort('early');
  await assert.rejects(tg.evaluate(net, [x, y], { loss: 'crossEntropy', signal: pre }), isAbortError('early'));
  await assert.rejects(tg.predict(net, x, { signal: pre }), isAbortError('early'));
  await settleTensors();
  const live = tg.memory().tensors;
  for (const call of ['evaluate', 'predict']) {
    const ac = new AbortController();
    let n = 0;
    const batches = (function* () {
      for (let i = 0; i < 8; i++) {
        if (++n === 3) ac.abort('midway');
        yield [x, y];
      }
    })();
    const p = call === 'evaluate' ? tg.evaluate(net, batches, { loss: 'crossEntropy', signal: ac.signal }) : tg.predict(net, batches, { signal: ac.signal });
    await assert.rejects(p, isAbortError('midway'), call);
    assert.strictEqual(n, 3, `${call} stopped after the current batch`);
    assert.strictEqual(net.training, true);
  }
  await settleTensors();
  assert.strictEqual(tg.memory().tensors, live);
  net.dispose();
  tg.dispose([x, y]);
});
