'use strict';
// The textbook's claim, seeded: with 100 labels per class, greedy pretraining on unlabeled digits plus fine-tuning
// beats the same network trained from scratch on the labels alone. (About +1 point at this small scale.)
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

async function accuracy(pretrain) {
  tg.manualSeed(1);
  const labelled = tg.datasets.loadDigits({ start: 0, end: 100 });
  const unlabeled = tg.datasets.loadDigits({ start: 100, end: 400 }).x;
  const test = tg.datasets.loadDigits({ start: 700, end: 900 });
  const layers = [new tg.nn.Linear(784, 128), new tg.nn.Linear(128, 64)];
  const net = pretrain
    ? await tg.pretrain.greedyLayerwise(layers, unlabeled, { kind: 'denoising', epochs: 3, seed: 1, lr: 3e-3 })
    : new tg.nn.Sequential({ hidden1: layers[0], act1: new tg.nn.Sigmoid(), hidden2: layers[1], act2: new tg.nn.Sigmoid() });
  net.append(new tg.nn.Linear(64, 10), 'outputs');
  tg.manualSeed(2);
  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(labelled.x, labelled.y), { batchSize: 32, shuffle: true });
  await tg.fit(net, loader, { epochs: 15, optimizer: new tg.optim.Adam(net.parameters(), { lr: 3e-3 }), loss: 'crossEntropy', verbose: 0 });
  const r = await tg.evaluate(net, new tg.data.DataLoader(new tg.data.TensorDataset(test.x, test.y), { batchSize: 500 }), { loss: 'crossEntropy', metrics: ['accuracy'] });
  return r.accuracy;
}

test('with 100 labels per class, greedy denoising pretraining then fine-tuning beats training from scratch (seeded)', async () => {
  const pre = await accuracy(true);
  const scratch = await accuracy(false);
  assert.ok(pre > scratch, `pretrained ${pre} vs scratch ${scratch}`);
  assert.ok(pre > 0.8);
});
