#!/usr/bin/env node
'use strict';
// Benchmark (not a test): a convolutional base where the frozen part dominates. ResNet-18's structure
// (random weights) on 3x32x32 images, everything up to the flatten frozen (reused with tg.transfer.reuse),
// a trainable head Linear(512, 10). Epoch time uncached vs cached (memory) vs the floor (the head alone
// trained with a bare loop on features already in memory), printed as ratios.
// Default: 2,000 images; --samples N for another count; --epochs N (default 2); --batch N (default 128).
const os = require('node:os');
const tg = require('..');
const { nn } = tg;
const { option, fitEpochTimes, floorEpoch, main } = require('./helpers/feature-cache');

const args = process.argv.slice(2);
const opt = (name, def) => option(args, name, def);
const N = opt('--samples', 2000);
const EPOCHS = opt('--epochs', 2);
const BATCH = opt('--batch', 128);
const SEED = 3;

function model() {
  tg.manualSeed(1);
  const resnet = nn.models.resnet18({ numClasses: 10 });
  return tg.transfer.reuse(resnet, { upTo: 'flatten', freeze: true, head: { fc: new nn.Linear(512, 10) } });
}

const run = { epochs: EPOCHS, batch: BATCH, seed: SEED };
const fitEpochs = (net, ds, cache) => fitEpochTimes(tg, net, ds, { ...run, cache });

main(async () => {
  const probe = model();
  const frozen = probe.parameters().filter((p) => !p.requiresGrad).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  const trainable = probe.trainableParameters().reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  console.log(`conv feature cache benchmark: ${N} images 3x32x32, batch ${BATCH}, ResNet-18 structure frozen up to flatten ` +
    `(${frozen} frozen parameters) + fc Linear(512, 10) (${trainable} trainable), ${EPOCHS} epochs, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`);
  tg.manualSeed(0);
  const ds = new tg.data.TensorDataset(tg.randn([N, 3, 32, 32]), tg.randint(0, 10, [N]));

  const uncachedTimes = await fitEpochs(model(), ds);

  const net = model();
  const t0 = performance.now();
  const mem = await tg.transfer.cacheFeatures(net, ds, { batchSize: BATCH, verbose: 0 });
  const buildS = (performance.now() - t0) / 1000;
  const cachedTimes = await fitEpochs(net, ds, mem);

  const [feats, labels] = mem.examples.tensors;
  const floor = floorEpoch(tg, mem.head(model()), feats, labels, run);
  mem.dispose();

  const uncached = Math.min(...uncachedTimes);
  const cached = Math.min(...cachedTimes);
  const f = (s) => `${s.toFixed(3)} s`;
  const all = (ts) => ts.map((t) => t.toFixed(3)).join(', ');
  console.log(`uncached epoch            ${f(uncached)}   (epochs: ${all(uncachedTimes)})`);
  console.log(`cache build (memory)      ${f(buildS)}   (${(buildS / uncached).toFixed(2)}x an uncached epoch)`);
  console.log(`cached epoch (memory)     ${f(cached)}   (epochs: ${all(cachedTimes)})`);
  console.log(`floor (head, bare loop)   ${f(floor)}`);
  console.log(`uncached / cached         ${(uncached / cached).toFixed(1)}x`);
  console.log(`cached / floor            ${(cached / floor).toFixed(2)}x   target <= 1.2x`);
  console.log(`uncached / floor          ${(uncached / floor).toFixed(1)}x`);
});
