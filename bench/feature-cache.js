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

const args = process.argv.slice(2);
const N = args.includes('--full') ? 60000 : Number(args[args.indexOf('--samples') + 1] || 6000) || 6000;
const EPOCHS = Number(args[args.indexOf('--epochs') + 1] || 2) || 2;
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

async function fitEpochs(net, ds, cache) {
  const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.01, momentum: 0.9 });
  const h = await tg.fit(net, ds, { epochs: EPOCHS, batchSize: BATCH, seed: SEED, optimizer, loss: 'crossEntropy', cache, verbose: 0 });
  return Math.min(...h.epochs.map((e) => e.time));
}

// The floor: the head alone on features already in memory, the same shuffled batches, a bare loop.
function floorEpoch(head, feats, labels) {
  const optimizer = new tg.optim.SGD(head.parameters(), { lr: 0.01, momentum: 0.9 });
  let best = Infinity;
  for (let e = 0; e < EPOCHS; e++) {
    const order = new tg.data.Generator(SEED, e).permutation(N);
    const t0 = performance.now();
    for (let s = 0; s < N; s += BATCH) {
      tg.tidy(() => {
        const idx = tg.tensor(Int32Array.from(order.slice(s, s + BATCH)), { dtype: 'int64' });
        const x = feats.indexSelect(0, idx);
        const y = labels.indexSelect(0, idx);
        optimizer.zeroGrad();
        const loss = tg.nn.functional.crossEntropy(head.forward(x), y);
        loss.backward();
        optimizer.step();
      });
    }
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

(async () => {
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
  const floor = floorEpoch(mem.head(model()), feats, labels);
  mem.dispose();

  const f = (s) => `${s.toFixed(3)} s`;
  console.log(`uncached epoch            ${f(uncached)}`);
  console.log(`cache build (memory)      ${f(buildS)}`);
  console.log(`cached epoch (memory)     ${f(cached)}   speed-up over uncached ${(uncached / cached).toFixed(1)}x`);
  console.log(`cache build (disk, f16)   ${f(diskBuildS)}`);
  console.log(`cached epoch (disk, f16)  ${f(diskCached)}   speed-up over uncached ${(uncached / diskCached).toFixed(1)}x`);
  console.log(`floor (head, bare loop)   ${f(floor)}`);
  console.log(`cached / floor            ${(cached / floor).toFixed(2)}x (memory), ${(diskCached / floor).toFixed(2)}x (disk)   target <= 1.2x`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
