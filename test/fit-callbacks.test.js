'use strict';
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { TinyLinear, TinySGD, separable } = require('./helpers/tiny');

const quiet = { verbose: 0 };

// A loss that, in eval mode, returns the next scripted value: validation (one batch per epoch) logs exactly the script.
function scriptedLoss(net, script) {
  let k = 0;
  return (out, y) => (net.training ? tg.nn.functional.crossEntropy(out, y) : tg.tensor(script[k++], { dtype: 'float32' }));
}

test('callbacks are called in order: train begin, epoch begin, batch ends, epoch end, train end', async () => {
  const [x, y] = separable(12, 1);
  const net = new TinyLinear(2, 2);
  const events = [];
  const cb = {
    onTrainBegin: (ctx) => events.push(`trainBegin ${ctx.initialEpoch}-${ctx.endEpoch}`),
    onEpochBegin: (e) => events.push(`epochBegin ${e}`),
    onBackward: (ctx) => events.push(`backward ${ctx.model.weight.grad ? 'grad' : 'none'}`),
    onBatchEnd: (b, logs) => events.push(`batchEnd ${b} ${logs.size} ${typeof logs.loss}`),
    onEpochEnd: async (e, logs) => {
      await new Promise((r) => setTimeout(r, 1)); // async hooks are awaited
      events.push(`epochEnd ${e} ${'val_loss' in logs}`);
    },
    onTrainEnd: (h) => events.push(`trainEnd ${h.length}`),
  };
  await tg.fit(net, [x, y], { ...quiet, epochs: 2, batchSize: 8, shuffle: false, optimizer: new TinySGD(net.parameters(), 0.1), loss: 'crossEntropy', validation: [x, y], callbacks: [cb] });
  const epoch = (e) => [`epochBegin ${e}`, 'backward grad', 'batchEnd 0 8 number', 'backward grad', 'batchEnd 1 4 number', `epochEnd ${e} true`];
  assert.deepStrictEqual(events, ['trainBegin 0-2', ...epoch(0), ...epoch(1), 'trainEnd 2']);
  tg.dispose([x, y]);
  net.dispose();
});

test('a callback stops training: mid-epoch from onBatchEnd, or before the next epoch from onEpochEnd', async () => {
  const [x, y] = separable(32, 2);
  const net = new TinyLinear(2, 2);
  const opt = new TinySGD(net.parameters(), 0.1);
  let batches = 0;
  const h = await tg.fit(net, [x, y], {
    ...quiet, epochs: 5, batchSize: 4, optimizer: opt, loss: 'crossEntropy',
    callbacks: [{ onBatchEnd: (b, logs, ctx) => (batches++, b === 2 && ctx.stop('enough')) }],
  });
  assert.strictEqual(batches, 3);
  assert.strictEqual(h.length, 1);
  assert.deepStrictEqual(h.stopped, { epoch: 0, reason: 'enough' });
  const h2 = await tg.fit(net, [x, y], {
    ...quiet, epochs: 5, batchSize: 8, optimizer: opt, loss: 'crossEntropy',
    callbacks: [{ onEpochEnd: (e, logs, ctx) => e === 1 && ctx.stop() }],
  });
  assert.deepStrictEqual(h2.series('epoch'), [0, 1]);
  assert.strictEqual(h2.stopped.reason, 'stopped by a callback');
  tg.dispose([x, y]);
  net.dispose();
});

test('earlyStopping stops at the right epoch for a scripted validation loss', async () => {
  const [x, y] = separable(8, 3);
  const net = new TinyLinear(2, 2);
  const run = (script, es) =>
    tg.fit(net, [x, y], {
      ...quiet, epochs: script.length, batchSize: 8, optimizer: new TinySGD(net.parameters(), 0.01),
      loss: scriptedLoss(net, script), validation: [x, y], earlyStopping: es,
    });
  // best 0.8 at epoch 1; epochs 2 and 3 do not improve: patience 2 stops after epoch 3
  const h = await run([1.0, 0.8, 0.9, 0.85, 0.1, 0.1], { monitor: 'val_loss', patience: 2 });
  assert.deepStrictEqual(h.series('val_loss').map((v) => Math.round(v * 100) / 100), [1.0, 0.8, 0.9, 0.85]);
  assert.strictEqual(h.stopped.epoch, 3);
  assert.match(h.stopped.reason, /val_loss did not improve for 2 epoch\(s\); best 0\.8.* at epoch 1/);
  // minDelta: 0.79 is not better than 0.8 by more than 0.05, so epoch 2 counts as no improvement
  const h2 = await run([1.0, 0.8, 0.79, 0.7, 0.5, 0.5], { patience: 1, minDelta: 0.05 });
  assert.strictEqual(h2.length, 3);
  // never stops while improving
  const h3 = await run([5, 4, 3, 2], { patience: 1 });
  assert.strictEqual(h3.length, 4);
  assert.strictEqual(h3.stopped, null);
  // 'max' mode is inferred for accuracies
  const h4 = await tg.fit(net, [x, y], {
    ...quiet, epochs: 6, batchSize: 8, optimizer: new TinySGD(net.parameters(), 0.01), loss: 'crossEntropy',
    metrics: [{ name: 'acc', fn: (() => { const s = [0.5, 0.7, 0.6, 0.65, 0.9, 0.9]; let k = 0; return () => s[k++]; })() }],
    earlyStopping: { monitor: 'acc', patience: 2 },
  });
  assert.strictEqual(h4.length, 4);
  tg.dispose([x, y]);
  net.dispose();
});

test('earlyStopping restoreBest loads the weights of the best epoch back', async () => {
  const [x, y] = separable(16, 4);
  const net = new TinyLinear(2, 2);
  const weights = [];
  const h = await tg.fit(net, [x, y], {
    ...quiet, epochs: 6, batchSize: 4, optimizer: new TinySGD(net.parameters(), 0.2),
    loss: scriptedLoss(net, [1.0, 0.5, 0.7, 0.8, 0.9, 0.9]), validation: [[x, y]], // one batch
    earlyStopping: { patience: 2, restoreBest: true },
    callbacks: [{ onEpochEnd: () => weights.push(net.weight.toArray()) }],
  });
  assert.strictEqual(h.length, 4);
  assert.notDeepStrictEqual(weights[3], weights[1], 'weights moved after the best epoch');
  assert.deepStrictEqual(net.weight.toArray(), weights[1], 'best weights restored');
  tg.dispose([x, y]);
  net.dispose();
});

test('history exports JSON and CSV with every key, callback-added keys included', async () => {
  const [x, y] = separable(16, 5);
  const net = new TinyLinear(2, 2);
  const h = await tg.fit(net, [x, y], {
    ...quiet, epochs: 3, batchSize: 8, optimizer: new TinySGD(net.parameters(), 0.1), loss: 'crossEntropy',
    metrics: ['accuracy'], validation: [x, y], callbacks: [{ onEpochEnd: (e, logs) => (logs.lr = 0.1 / (e + 1)) }],
  });
  const json = JSON.parse(JSON.stringify(h));
  assert.strictEqual(json.epochs.length, 3);
  assert.deepStrictEqual(Object.keys(json.epochs[0]).sort(), ['accuracy', 'epoch', 'loss', 'lr', 'time', 'val_accuracy', 'val_loss']);
  assert.strictEqual(json.stopped, null);
  for (const e of json.epochs) for (const v of Object.values(e)) assert.strictEqual(typeof v, 'number');
  const csv = h.toCSV().trimEnd().split('\n');
  assert.strictEqual(csv[0], 'epoch,loss,accuracy,lr,val_loss,val_accuracy,time');
  assert.strictEqual(csv.length, 4);
  const row1 = csv[2].split(',').map(Number);
  assert.strictEqual(row1[0], 1);
  assert.strictEqual(row1[1], h.epochs[1].loss);
  assert.strictEqual(row1[3], 0.05);
  assert.ok(row1[6] > 0, 'time in seconds');
  assert.deepStrictEqual(h.series('lr'), [0.1, 0.05, 0.1 / 3]);
  tg.dispose([x, y]);
  net.dispose();
});
