'use strict';
// Unknown options of fit, evaluate and predict are TypeErrors that name them, with "did you mean" for near misses.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { TinyLinear, TinySGD } = require('./helpers/tiny');

test('fit names unknown options, suggests the near ones, and runs nothing', async () => {
  const net = new TinyLinear(2, 2);
  const before = net.weight.toArray();
  const x = tg.randn([8, 2]);
  const y = tg.randint(0, 2, [8]);
  const base = { verbose: 0, optimizer: new TinySGD(net.parameters(), 0.1), loss: 'crossEntropy' };
  await assert.rejects(tg.fit(net, [x, y], { ...base, epoch: 3 }), (e) => e instanceof TypeError && e.message.startsWith("fit: unknown option 'epoch' (did you mean 'epochs'?); known: epochs, "));
  await assert.rejects(tg.fit(net, [x, y], { ...base, batchsize: 4, validation_split: 0.2, frobnicate: true }), (e) =>
    e instanceof TypeError &&
    /unknown options 'batchsize' \(did you mean 'batchSize'\?\), 'validation_split' \(did you mean 'validationSplit'\?\), 'frobnicate';/.test(e.message));
  await assert.rejects(tg.fit(net, [x, y], { ...base, clipnorm: 1 }), /'clipnorm' \(did you mean 'clipGradNorm'\?\)/);
  await assert.rejects(tg.fit(net, [x, y], { ...base, acumulate: 2 }), /'acumulate' \(did you mean 'accumulate'\?\)/);
  assert.deepStrictEqual(net.weight.toArray(), before);
  // an explicit undefined of a known key is fine; the known keys all pass the check
  const h = await tg.fit(net, [x, y], { ...base, epochs: undefined, signal: undefined, accumulate: 1, classWeights: undefined });
  assert.strictEqual(h.length, 1);
  net.dispose();
  tg.dispose([x, y]);
});

test('evaluate and predict name unknown options too', async () => {
  const net = new TinyLinear(2, 2);
  const x = tg.randn([4, 2]);
  const y = tg.randint(0, 2, [4]);
  await assert.rejects(tg.evaluate(net, [x, y], { loss: 'crossEntropy', metric: ['accuracy'] }), (e) => e instanceof TypeError && /evaluate: unknown option 'metric' \(did you mean 'metrics'\?\); known: loss, metrics, batchSize, device, signal/.test(e.message));
  await assert.rejects(tg.predict(net, x, { verbose: 0 }), (e) => e instanceof TypeError && /predict: unknown option 'verbose'; known: batchSize, device, signal/.test(e.message));
  await assert.rejects(tg.predict(net, x, { batch_size: 2 }), /'batch_size' \(did you mean 'batchSize'\?\)/);
  const p = await tg.predict(net, x, { batchSize: 2 });
  assert.deepStrictEqual(p.shape, [4, 2]);
  tg.dispose([x, y, p]);
  net.dispose();
});
