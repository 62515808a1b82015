'use strict';
// EarlyStopping driven directly, epoch by epoch (lib/train/early-stopping.ts): option checks at their boundaries, when
// it stops (patience, minDelta, mode), and which weights restoreBest leaves (mutation testing found these unchecked).
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

/** A FitContext stand-in that records stop() calls. */
const context = (model = {}) => {
  const ctx = { model, stops: [], stop: (reason) => ctx.stops.push(reason) };
  return ctx;
};
/** Feeds the values as epochs 0, 1, ...; returns the epoch of the first stop() (or -1) and the context. */
const feed = (es, values, key = es.monitor, model) => {
  const ctx = context(model);
  es.onTrainBegin(ctx);
  let stoppedAt = -1;
  values.forEach((v, epoch) => {
    es.onEpochEnd(epoch, { epoch, [key]: v }, ctx);
    if (ctx.stops.length && stoppedAt < 0) stoppedAt = epoch;
  });
  return { stoppedAt, ctx };
};

test('defaults: val_loss, patience 3, minDelta 0, mode min (max for accuracies and topK), no restore', () => {
  const es = new tg.EarlyStopping();
  assert.deepStrictEqual([es.monitor, es.patience, es.minDelta, es.mode, es.restoreBest], ['val_loss', 3, 0, 'min', false]);
  assert.strictEqual(new tg.EarlyStopping({ monitor: 'val_accuracy' }).mode, 'max');
  assert.strictEqual(new tg.EarlyStopping({ monitor: 'ACC' }).mode, 'max');
  assert.strictEqual(new tg.EarlyStopping({ monitor: 'val_top5' }).mode, 'max');
  assert.strictEqual(new tg.EarlyStopping({ monitor: 'val_top' }).mode, 'min', 'top without k is not a topK key');
  assert.strictEqual(new tg.EarlyStopping({ monitor: 'val_accuracy', mode: 'min' }).mode, 'min');
  assert.strictEqual(new tg.EarlyStopping({ patience: 0 }).patience, 0);
  assert.ok(Number.isNaN(es.best));
  assert.strictEqual(es.bestEpoch, -1, 'no best epoch yet');
});

test('bad options are TypeErrors or RangeErrors that name them', () => {
  const refuses = (opts, Type, re) => assert.throws(() => new tg.EarlyStopping(opts), (e) => e instanceof Type && re.test(e.message));
  refuses(null, TypeError, /^earlyStopping: expected options such as \{ monitor, patience \}$/);
  refuses('val_loss', TypeError, /expected options/);
  refuses({ monitor: 3 }, TypeError, /^earlyStopping: monitor must be a logs key/);
  refuses({ patience: -1 }, RangeError, /^earlyStopping: patience must be a non-negative integer, got -1$/);
  refuses({ patience: 1.5 }, RangeError, /patience must be a non-negative integer, got 1.5/);
  refuses({ minDelta: -0.1 }, RangeError, /^earlyStopping: minDelta must be a number >= 0, got -0.1$/);
  refuses({ minDelta: NaN }, RangeError, /minDelta must be a number >= 0, got NaN/);
  refuses({ minDelta: '0.1' }, RangeError, /minDelta must be a number >= 0/);
  refuses({ mode: 'lowest' }, TypeError, /^earlyStopping: mode must be 'min' or 'max', got lowest$/);
  assert.strictEqual(new tg.EarlyStopping({ minDelta: 0 }).minDelta, 0);
});

test('min mode stops after exactly `patience` epochs without improvement, with a reason naming the best epoch', () => {
  const es = new tg.EarlyStopping({ monitor: 'loss', patience: 2 });
  const { stoppedAt, ctx } = feed(es, [1.0, 0.8, 0.8, 0.9, 0.1]);
  assert.strictEqual(stoppedAt, 3, 'epochs 2 and 3 did not improve on 0.8 (equal is not better)');
  assert.strictEqual(ctx.stops[0], 'earlyStopping: loss did not improve for 2 epoch(s); best 0.8 at epoch 1');
  assert.strictEqual(es.best, 0.1, 'epochs after a stop request still count');
  assert.strictEqual(es.bestEpoch, 4);
});

test('an improvement resets the wait', () => {
  const es = new tg.EarlyStopping({ monitor: 'loss', patience: 2 });
  assert.strictEqual(feed(es, [1.0, 1.1, 0.9, 1.0, 0.8, 0.85]).stoppedAt, -1);
  assert.strictEqual(feed(es, [1.0, 1.1, 0.9, 1.0, 0.8, 0.85, 0.85]).stoppedAt, 6, 'onTrainBegin resets the state');
  es.onTrainBegin(context());
  assert.ok(Number.isNaN(es.best));
  assert.strictEqual(es.bestEpoch, -1, 'onTrainBegin forgets the last run\'s best epoch');
});

test('patience 0 stops at the first epoch that does not improve', () => {
  const es = new tg.EarlyStopping({ monitor: 'loss', patience: 0 });
  assert.strictEqual(feed(es, [1.0, 0.9, 0.95]).stoppedAt, 2);
});

test('minDelta: an improvement must exceed it, in either mode', () => {
  const min = new tg.EarlyStopping({ monitor: 'loss', patience: 1, minDelta: 0.25 });
  assert.strictEqual(feed(min, [1.0, 0.75]).stoppedAt, 1, 'exactly minDelta lower is not an improvement');
  assert.strictEqual(feed(min, [1.0, 0.7, 0.4]).stoppedAt, -1);
  assert.strictEqual(min.best, 0.4);
  const max = new tg.EarlyStopping({ monitor: 'acc', patience: 1, minDelta: 0.25 });
  assert.strictEqual(max.mode, 'max');
  assert.strictEqual(feed(max, [0.5, 0.75]).stoppedAt, 1, 'exactly minDelta higher is not an improvement');
  assert.strictEqual(feed(max, [0.25, 0.55, 0.85]).stoppedAt, -1);
  assert.strictEqual(max.best, 0.85);
});

test('max mode: a rise improves, a fall does not', () => {
  const es = new tg.EarlyStopping({ monitor: 'val_accuracy', patience: 1 });
  assert.strictEqual(feed(es, [0.5, 0.6, 0.55]).stoppedAt, 2);
  assert.deepStrictEqual([es.best, es.bestEpoch], [0.6, 1]);
});

test('a monitored key missing from the logs is a TypeError listing the keys, with a hint for val_ keys', () => {
  const es = new tg.EarlyStopping();
  const ctx = context();
  es.onTrainBegin(ctx);
  assert.throws(() => es.onEpochEnd(0, { epoch: 0, loss: 1 }, ctx), (e) => e instanceof TypeError && e.message === "earlyStopping: 'val_loss' is not in the epoch logs (epoch, loss); validation keys need fit({ validation })");
  const es2 = new tg.EarlyStopping({ monitor: 'acc' });
  es2.onTrainBegin(ctx);
  assert.throws(() => es2.onEpochEnd(0, { epoch: 0, loss: 1 }, ctx), (e) => e instanceof TypeError && e.message === "earlyStopping: 'acc' is not in the epoch logs (epoch, loss)");
});

test('restoreBest needs stateDict and loadStateDict', () => {
  const es = new tg.EarlyStopping({ restoreBest: true });
  assert.throws(() => es.onTrainBegin(context({ stateDict: () => ({}) })), (e) => e instanceof TypeError && /restoreBest needs a model with stateDict\(\) and loadStateDict\(\)/.test(e.message));
  assert.throws(() => es.onTrainBegin(context({ loadStateDict: () => {} })), TypeError);
  assert.doesNotThrow(() => new tg.EarlyStopping().onTrainBegin(context({})), 'without restoreBest any model does');
});

test('restoreBest loads the best epoch\'s weights back, a copy taken then, and only when the last epoch was not the best', () => {
  const net = new tg.nn.Linear(2, 1);
  const weightAt = [];
  const setWeight = (v) => tg.noGrad(() => net.weight.copy_(tg.full([1, 2], v)));
  const run = (values) => {
    const es = new tg.EarlyStopping({ monitor: 'loss', patience: 10, restoreBest: true });
    const ctx = context(net);
    let loads = 0;
    const load = net.loadStateDict.bind(net);
    net.loadStateDict = (sd, o) => (loads++, load(sd, o));
    es.onTrainBegin(ctx);
    const history = new tg.History();
    values.forEach((v, epoch) => {
      setWeight(epoch + 1); // the weights "trained" in this epoch
      weightAt[epoch] = epoch + 1;
      const logs = { epoch, loss: v };
      history.push(logs);
      es.onEpochEnd(epoch, logs, ctx);
    });
    es.onTrainEnd(history, ctx);
    delete net.loadStateDict;
    return loads;
  };
  assert.strictEqual(run([0.9, 0.5, 0.7, 0.8]), 1);
  assert.deepStrictEqual(Array.from(net.weight.dataSync()), [2, 2], 'epoch 1 was the best');
  assert.strictEqual(run([0.9, 0.5, 0.4]), 0, 'the last epoch was the best: nothing to load');
  assert.deepStrictEqual(Array.from(net.weight.dataSync()), [3, 3]);
});

test('restoreBest accepts a Map state dict and refuses a non-tensor entry', () => {
  const w = tg.tensor([1.5, 2.5]);
  let loaded;
  const model = { stateDict: () => new Map([['w', w]]), loadStateDict: (sd) => (loaded = sd) };
  const es = new tg.EarlyStopping({ monitor: 'loss', restoreBest: true, patience: 5 });
  const ctx = context(model);
  es.onTrainBegin(ctx);
  es.onEpochEnd(0, { epoch: 0, loss: 1 }, ctx);
  tg.noGrad(() => w.copy_(tg.tensor([5.5, 6.5])));
  es.onEpochEnd(1, { epoch: 1, loss: 2 }, ctx);
  const history = new tg.History();
  history.push({ epoch: 0, loss: 1 });
  history.push({ epoch: 1, loss: 2 });
  let seen;
  model.loadStateDict = (sd) => (seen = Array.from(sd.get('w').dataSync()));
  es.onTrainEnd(history, ctx);
  assert.deepStrictEqual(seen, [1.5, 2.5], 'the snapshot is a copy taken at the best epoch');
  assert.strictEqual(loaded, undefined);
  const bad = new tg.EarlyStopping({ monitor: 'loss', restoreBest: true });
  const badCtx = context({ stateDict: () => ({ w: 3 }), loadStateDict: () => {} });
  bad.onTrainBegin(badCtx);
  assert.throws(() => bad.onEpochEnd(0, { epoch: 0, loss: 1 }, badCtx), (e) => e instanceof TypeError && /stateDict\(\) must map names to tensors/.test(e.message));
});

test('restoreBest with an empty history still loads the snapshot back', () => {
  const w = tg.tensor([1.5, 2.5]);
  let loads = 0;
  const model = { stateDict: () => ({ w }), loadStateDict: () => void loads++ };
  const es = new tg.EarlyStopping({ monitor: 'loss', restoreBest: true });
  const ctx = context(model);
  es.onTrainBegin(ctx);
  es.onEpochEnd(0, { epoch: 0, loss: 1 }, ctx);
  es.onTrainEnd(new tg.History(), ctx);
  assert.strictEqual(loads, 1);
  es.onTrainEnd(new tg.History(), ctx);
  assert.strictEqual(loads, 1, 'the snapshot is used once');
});
