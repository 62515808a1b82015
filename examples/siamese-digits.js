#!/usr/bin/env node
// Pretraining on an auxiliary task (the textbook's exercise): train two towers (one set of weights) to tell whether
// two digits are the same or different, from many pairs; then reuse the tower, frozen, under a 10-way softmax
// trained on a small labelled split, against the same network trained from scratch on that split.
//   node examples/siamese-digits.js
'use strict';
const tg = require('torchgraft');

const makeTower = () => new tg.nn.Sequential({
  hidden1: new tg.nn.Linear(784, 128), act1: new tg.nn.ELU(),
  hidden2: new tg.nn.Linear(128, 64), act2: new tg.nn.ELU(),
});

async function classify(tower, freeze, small, test) {
  const net = new tg.nn.Sequential({ tower, outputs: new tg.nn.Linear(64, 10) });
  if (freeze) net.freeze('tower');
  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(small.x, small.y), { batchSize: 32, shuffle: true });
  await tg.fit(net, loader, { epochs: 20, optimizer: new tg.optim.Adam(net.parameters().filter((p) => p.requiresGrad), { lr: 3e-3 }), loss: 'crossEntropy', verbose: 0 });
  const testLoader = new tg.data.DataLoader(new tg.data.TensorDataset(test.x, test.y), { batchSize: 500 });
  return (await tg.evaluate(net, testLoader, { loss: 'crossEntropy', metrics: ['accuracy'] })).accuracy;
}

(async () => {
  tg.manualSeed(42);
  const big = tg.datasets.loadDigits({ start: 100, end: 600 });     // pairs are drawn from here
  const small = tg.datasets.loadDigits({ start: 0, end: 50 });      // 50 labels per class
  const test = tg.datasets.loadDigits({ start: 700, end: 900 });

  const tower = makeTower();
  const siamese = new tg.pretrain.auxiliary.Siamese(tower, { features: 64 });
  const train = tg.pretrain.auxiliary.makePairs(big.x, big.y, 20000, { seed: 1 });
  const held = tg.pretrain.auxiliary.makePairs(test.x, test.y, 2000, { seed: 2 });
  await siamese.fitPairs(train.a, train.b, train.same, { epochs: 5, lr: 1e-3, batchSize: 128, verbose: true });
  console.log(`same/different accuracy on test pairs: ${(100 * siamese.pairAccuracy(held.a, held.b, held.same)).toFixed(1)}%`);

  tg.manualSeed(7);
  const reused = await classify(tower, true, small, test);
  tg.manualSeed(7);
  const scratch = await classify(makeTower(), false, small, test);
  console.log(`10-way accuracy, 50 labels per class: reused frozen tower ${(100 * reused).toFixed(1)}%, from scratch ${(100 * scratch).toFixed(1)}%`);
})();
