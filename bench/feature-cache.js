#!/usr/bin/env node
'use strict';
// Benchmark (not a test): epoch time of training a small head over four frozen 2048-unit layers, uncached vs
// with a feature cache (memory, disk), and the cached epoch vs the floor: the head alone trained on tensors
// already in memory with a bare loop. Default: 6,000 samples; --full: 60,000 (the size). --epochs N.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { nn } = tg;
const { option, fitEpochTimes, floorEpoch, main } = require('./helpers/feature-cache');

const args = process.argv.slice(2);
const N = args.includes('--full') ? 60000 : option(args, '--samples', 6000);
const EPOCHS = option(args, '--epochs', 2);
const BATCH = 512;
const SEED = 3;

function model() {
  tg.manualSeed(1);
  const net = new nn.Sequential({
    hidden1: new nn.Linear(784, 2048), act1: new nn.ReLU(),
    hidden2: new nn.Linear(2048, 2048), act2: new nn.ReLU(),
    hidden3: new nn.Linear(2048, 2048), act3: new nn.ReLU(),
    hidden4: new nn.Linear(2048, 2048), act4: new nn.ReLU(),
    outputs: new nn.Linear(2048, 10),
  });
  return net.freeze(/^hidden/);
}

const run = { epochs: EPOCHS, batch: BATCH, seed: SEED };
const fitEpochs = async (net, ds, cache) => Math.min(...(await fitEpochTimes(tg, net, ds, { ...run, cache })));

main(async () => {
  console.log(`feature cache benchmark: ${N} samples x 784, batch ${BATCH}, 4 frozen Linear(2048) + Linear(2048, 10), best of ${EPOCHS} epochs, ${os.cpus().length} CPUs`);
  tg.manualSeed(0);
  const ds = new tg.data.TensorDataset(tg.randn([N, 784]), tg.randint(0, 10, [N]));

  const uncached = await fitEpochs(model(), ds);

  let net = model();
  let t0 = performance.now();
  const mem = await tg.transfer.cacheFeatures(net, ds, { batchSize: BATCH, verbose: 0 });
  const buildS = (performance.now() - t0) / 1000;
  const cached = await fitEpochs(net, ds, mem);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-cache-'));
  net = model();
  t0 = performance.now();
  const disk = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, batchSize: BATCH, dtype: 'float16', verbose: 0 });
  const diskBuildS = (performance.now() - t0) / 1000;
  const diskCached = await fitEpochs(net, ds, disk);
  disk.dispose();
  fs.rmSync(dir, { recursive: true, force: true });

  const [feats, labels] = mem.examples.tensors;
  const floor = floorEpoch(tg, mem.head(model()), feats, labels, run);
  mem.dispose();

  const f = (s) => `${s.toFixed(3)} s`;
  console.log(`uncached epoch            ${f(uncached)}`);
  console.log(`cache build (memory)      ${f(buildS)}`);
  console.log(`cached epoch (memory)     ${f(cached)}   speed-up over uncached ${(uncached / cached).toFixed(1)}x`);
  console.log(`cache build (disk, f16)   ${f(diskBuildS)}`);
  console.log(`cached epoch (disk, f16)  ${f(diskCached)}   speed-up over uncached ${(uncached / diskCached).toFixed(1)}x`);
  console.log(`floor (head, bare loop)   ${f(floor)}`);
  console.log(`cached / floor            ${(cached / floor).toFixed(2)}x (memory), ${(diskCached / floor).toFixed(2)}x (disk)   target <= 1.2x`);
});
