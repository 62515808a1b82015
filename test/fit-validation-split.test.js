'use strict';
// fit's validationSplit: a seeded random split into disjoint training and validation parts of Keras' sizes, the same on
// every call with the same seed, for tensors and datasets, usable by the native engine; bad input named.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { TinyLinear, TinySGD } = require('./helpers/tiny');
const { settleTensors } = require('./helpers/settle.js');

const quiet = { verbose: 0 };

/** A model whose input is an example's index: it records the indices it sees, in training and in eval mode. */
class Recorder extends TinyLinear {
  constructor() {
    super(1, 2);
    this.seen = { train: [], eval: [] };
  }
  forward(x) {
    this.seen[this.training ? 'train' : 'eval'].push(...x.reshape([-1]).toArray());
    return super.forward(x);
  }
}

async function splitOf(data, options = {}) {
  const net = new Recorder();
  const opt = new TinySGD(net.parameters(), 0.01);
  const h = await tg.fit(net, data, { ...quiet, batchSize: 4, shuffle: false, optimizer: opt, loss: 'crossEntropy', validationSplit: 0.3, ...options });
  net.dispose();
  return { train: net.seen.train, val: net.seen.eval, history: h };
}

const indexData = (n) => [tg.arange(0, n).reshape([n, 1]).to('float32'), tg.arange(0, n).remainder(2)];

test("validationSplit: Keras' sizes, disjoint parts in data order, drawn at random from the seed and the same on every call", async () => {
  const [x, y] = indexData(23);
  const a = await splitOf([x, y]);
  assert.strictEqual(a.val.length, 23 - Math.floor(23 * 0.7)); // 7
  assert.strictEqual(a.train.length, 16);
  assert.deepStrictEqual([...a.train, ...a.val].sort((p, q) => p - q), Array.from({ length: 23 }, (_, i) => i));
  assert.deepStrictEqual(a.train, [...a.train].sort((p, q) => p - q), 'the training part keeps the data order');
  assert.deepStrictEqual(a.val, [...a.val].sort((p, q) => p - q));
  assert.notDeepStrictEqual(a.val, [16, 17, 18, 19, 20, 21, 22], 'not the last fraction');
  assert.ok(Number.isFinite(a.history.last().val_loss));
  assert.deepStrictEqual((await splitOf([x, y])).val, a.val, 'the same split on a second call');
  assert.deepStrictEqual((await splitOf([x, y], { seed: 0 })).val, a.val, 'default seed 0');
  assert.deepStrictEqual((await splitOf([x, y], { seed: 7, shuffle: true })).val, (await splitOf([x, y], { seed: 7 })).val, 'split before shuffling');
  assert.notDeepStrictEqual((await splitOf([x, y], { seed: 7 })).val, a.val, 'another seed, another split');
  // a dataset that is not a TensorDataset is split through index views, the same way
  const ds = { length: 23, getItem: (i) => [tg.tensor([i], { dtype: 'float32' }), tg.tensor(i % 2)] };
  assert.deepStrictEqual((await splitOf(ds)).val, a.val);
  tg.dispose([x, y]);
});

test('validationSplit trains natively on tensor data and leaves no tensor behind', async () => {
  const [x, y] = indexData(40);
  tg.manualSeed(3);
  const net = new tg.nn.Linear(1, 2);
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.01 });
  await tg.fit(net, [x, y], { ...quiet, optimizer: opt, loss: 'crossEntropy', validationSplit: 0.25 }); // warm-up
  await settleTensors();
  const live = tg.memory().tensors;
  const h = await tg.fit(net, [x, y], { ...quiet, epochs: 2, batchSize: 8, optimizer: opt, loss: 'crossEntropy', validationSplit: 0.25, engine: 'native' });
  assert.strictEqual(h.engine, 'native');
  assert.strictEqual(h.length, 2);
  assert.ok(Number.isFinite(h.last().val_loss));
  await settleTensors();
  assert.strictEqual(tg.memory().tensors, live);
  opt.dispose();
  net.dispose();
  tg.dispose([x, y]);
});

test('validationSplit: bad fractions, with validation, data without a length, too few examples', async () => {
  const [x, y] = indexData(10);
  const net = new TinyLinear(1, 2);
  const base = { ...quiet, optimizer: new TinySGD(net.parameters(), 0.01), loss: 'crossEntropy' };
  for (const bad of [0, 1, -0.1, 1.5, '0.2', NaN]) {
    await assert.rejects(tg.fit(net, [x, y], { ...base, validationSplit: bad }), (e) => e instanceof RangeError && /validationSplit must be a fraction between 0 and 1/.test(e.message), String(bad));
  }
  await assert.rejects(tg.fit(net, [x, y], { ...base, validationSplit: 0.2, validation: [x, y] }), (e) => e instanceof TypeError && /not both/.test(e.message));
  await assert.rejects(tg.fit(net, [x, y], { ...base, validationSplit: 0.2, cache: { prepareFit() {} } }), (e) => e instanceof TypeError && /with a feature cache is not supported/.test(e.message));
  await assert.rejects(tg.fit(net, new tg.data.DataLoader(new tg.data.TensorDataset(x, y)), { ...base, validationSplit: 0.2 }), (e) => e instanceof TypeError && /validationSplit needs data given as tensors/.test(e.message));
  await assert.rejects(tg.fit(net, [x.narrow(0, 0, 1), y.narrow(0, 0, 1)], { ...base, validationSplit: 0.5 }), (e) => e instanceof RangeError && /leaves no training examples/.test(e.message));
  await assert.rejects(tg.fit(net, [x, y], { ...base, validationSplit: 1e-17 }), (e) => e instanceof RangeError && /leaves no validation examples/.test(e.message));
  net.dispose();
  tg.dispose([x, y]);
});
