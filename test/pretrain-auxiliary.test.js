'use strict';
// Auxiliary-task pretraining: corrupted-vs-real discrimination, max-margin scoring, siamese same/different towers.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

const tower = () => new tg.nn.Sequential({ hidden1: new tg.nn.Linear(784, 32), act1: new tg.nn.ReLU() });

test('corruption task: the discriminator learns real from corrupted digits and its encoder is the trained tower', async () => {
  tg.manualSeed(0);
  const { x } = tg.datasets.loadDigits({ end: 50 });
  const enc = tower();
  const before = enc.get('hidden1').weight.clone();
  // corruption: flip the image left to right
  const res = await tg.pretrain.auxiliary.corruptionTask(enc, x, (b) => b.reshape([-1, 28, 28]).flip([2]).reshape([-1, 784]), { epochs: 3, seed: 1 });
  assert.strictEqual(res.encoder, enc);
  assert.strictEqual(res.discriminator.get('encoder'), enc);
  assert.ok(!enc.get('hidden1').weight.equal(before));
  assert.ok(res.history.epochs[2] < res.history.initial, `${res.history.initial} -> ${res.history.epochs}`);
  assert.ok(res.accuracy > 0.8, `accuracy ${res.accuracy}`);
  await assert.rejects(tg.pretrain.auxiliary.corruptionTask(tower(), x, (b) => b.narrow(1, 0, 10)), RangeError);
});

test('max-margin scorer ranks good instances above bad ones with marginRankingLoss', async () => {
  tg.manualSeed(1);
  const { x } = tg.datasets.loadDigits({ end: 30 });
  const bad = x.mul(0.3).add(tg.randLike(x).mul(0.5));
  const scorer = new tg.nn.Sequential({ h: new tg.nn.Linear(784, 16), a: new tg.nn.ReLU(), s: new tg.nn.Linear(16, 1) });
  const h = await tg.pretrain.auxiliary.trainScorer(scorer, x, bad, { epochs: 3, margin: 1, seed: 2 });
  assert.ok(h.epochs[2] < h.initial);
  assert.ok(h.pairAccuracy > 0.95, `pair accuracy ${h.pairAccuracy}`);
});

test('pairs are half same, half different; triplets put positives with the anchor\'s label', () => {
  const x = tg.arange(20, undefined, 1, { dtype: 'float32' }).reshape([20, 1]);
  const y = tg.tensor(Array.from({ length: 20 }, (_, i) => i % 4), { dtype: 'int64' });
  const { a, b, same } = tg.pretrain.auxiliary.makePairs(x, y, 400, { seed: 3 });
  const s = same.toArray();
  const frac = s.reduce((t, v) => t + v, 0) / s.length;
  assert.ok(frac > 0.4 && frac < 0.6);
  const av = a.toArray().flat(), bv = b.toArray().flat();
  s.forEach((v, i) => assert.strictEqual(av[i] % 4 === bv[i] % 4, v === 1));
  const t = tg.pretrain.auxiliary.makeTriplets(x, y, 50, { seed: 4 });
  const [an, po, ne] = [t.anchor, t.positive, t.negative].map((z) => z.toArray().flat());
  an.forEach((v, i) => { assert.strictEqual(v % 4, po[i] % 4); assert.notStrictEqual(v % 4, ne[i] % 4); });
});

test('a siamese pair classifier shares one tower and learns same vs different digits; triplet training lowers its loss', async () => {
  tg.manualSeed(5);
  const { x, y } = tg.datasets.loadDigits({ end: 60 });
  const t = tower();
  const s = new tg.pretrain.auxiliary.Siamese(t, { sample: x });
  assert.deepStrictEqual(s.namedParameters().map(([n]) => n), ['tower.hidden1.weight', 'tower.hidden1.bias', 'head.weight', 'head.bias']);
  const { a, b, same } = tg.pretrain.auxiliary.makePairs(x, y, 1500, { seed: 6 });
  const h = await s.fitPairs(a, b, same, { epochs: 4, lr: 3e-3, seed: 7 });
  assert.ok(h.epochs[3] < h.initial);
  assert.ok(h.accuracy > 0.75, `pair accuracy ${h.accuracy}`);
  const tr = tg.pretrain.auxiliary.makeTriplets(x, y, 600, { seed: 8 });
  const th = await s.fitTriplets(tr.anchor, tr.positive, tr.negative, { epochs: 2, margin: 1 });
  assert.ok(th.epochs[1] < th.initial, `${th.initial} -> ${th.epochs}`);
});
