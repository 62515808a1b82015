#!/usr/bin/env node
// Greedy layer-wise pretraining when no pretrained model fits: pretrain a 784-128-64 stack on unlabeled digits
// (denoising autoencoders, or RBMs with `--rbm`), then fine-tune it with a softmax head on only 100 labels per
// class, against the same network trained from scratch on those labels.   node examples/pretrain-greedy.js [--rbm]
'use strict';
const tg = require('torchgraft');

const kind = process.argv.includes('--rbm') ? 'rbm' : 'denoising';
const seed = 1;

async function train(pretrain) {
  tg.manualSeed(seed);
  const labelled = tg.datasets.loadDigits({ start: 0, end: 100 });       // 100 labels per class
  const unlabeled = tg.datasets.loadDigits({ start: 100, end: 400 }).x;  // 3,000 images, labels unused
  const test = tg.datasets.loadDigits({ start: 700, end: 900 });
  const layers = [new tg.nn.Linear(784, 128), new tg.nn.Linear(128, 64)];
  const net = pretrain
    ? await tg.pretrain.greedyLayerwise(layers, unlabeled, { kind, epochs: 3, seed, lr: kind === 'rbm' ? 0.05 : 3e-3, verbose: true })
    : new tg.nn.Sequential({ hidden1: layers[0], act1: new tg.nn.Sigmoid(), hidden2: layers[1], act2: new tg.nn.Sigmoid() });
  net.append(new tg.nn.Linear(64, 10), 'outputs');
  tg.manualSeed(seed + 1);
  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(labelled.x, labelled.y), { batchSize: 32, shuffle: true });
  await tg.fit(net, loader, { epochs: 15, optimizer: new tg.optim.Adam(net.parameters(), { lr: 3e-3 }), loss: 'crossEntropy', verbose: 0 });
  const testLoader = new tg.data.DataLoader(new tg.data.TensorDataset(test.x, test.y), { batchSize: 500 });
  return (await tg.evaluate(net, testLoader, { loss: 'crossEntropy', metrics: ['accuracy'] })).accuracy;
}

(async () => {
  const pre = await train(true);
  const scratch = await train(false);
  console.log(`test accuracy with 100 labels per class: greedy ${kind} pretraining + fine-tuning ${(100 * pre).toFixed(1)}%, from scratch ${(100 * scratch).toFixed(1)}%`);
})();
