#!/usr/bin/env node
'use strict';
// Benchmark (not a test): time per image of the usual training pipeline, RandomResizedCrop(224) + horizontal flip +
// conversion to float + Normalize, on one 3x375x500 uint8 image, torchgraft vs torchvision (Python) on tensors, one
// thread each, in one run. Two orders: 'uint8' (crop the uint8 tensor, then convert) and 'float' (ToTensor on the
// decoded HWC bytes first). Default 300 images after 20 warm-up; --images N for another count.
const { execFileSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');

const args = process.argv.slice(2);
const at = args.indexOf('--images');
const N = at >= 0 ? Number(args[at + 1]) : 300;
const WARM = 20;
const T = tg.transforms;

tg.setNumThreads(1);
tg.manualSeed(0);
const img = tg.randint(0, 256, [3, 375, 500], { dtype: 'uint8' });
const raw = { data: img.permute([1, 2, 0]).contiguous().dataSync(), width: 500, height: 375, channels: 3 };
const norm = () => new T.Normalize(T.IMAGENET_MEAN, T.IMAGENET_STD);
const pipes = {
  uint8: [new T.Compose([new T.RandomResizedCrop(224, { antialias: true }), new T.RandomHorizontalFlip(), new T.ConvertImageDtype('float32'), norm()]), img],
  float: [new T.Compose([new T.ToTensor(), new T.RandomResizedCrop(224, { antialias: true }), new T.RandomHorizontalFlip(), norm()]), raw],
};
const ours = {};
for (const [name, [pipe, x]] of Object.entries(pipes)) {
  for (let i = 0; i < WARM; i++) pipe.apply(x).dispose();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) pipe.apply(x).dispose();
  ours[name] = Number(process.hrtime.bigint() - t0) / 1e6 / N;
}
const py = JSON.parse(
  execFileSync(process.env.TORCHGRAFT_PYTHON || '/usr/bin/python3', [path.join(__dirname, 'py', 'transforms.py'), String(N), String(WARM)], {
    env: { ...process.env, OMP_NUM_THREADS: '1' },
  }).toString(),
);
console.log(`transforms benchmark: ${N} images 3x375x500 uint8 -> 3x224x224 normalised, one thread each; ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`);
console.log(`torchgraft ${tg.buildInfo().torchVersion ?? ''} vs torch ${py.torch}, torchvision ${py.torchvision}`);
for (const name of Object.keys(pipes)) {
  console.log(`${name.padEnd(6)} torchgraft ${ours[name].toFixed(3)} ms/image, torchvision ${py[name].toFixed(3)} ms/image, ratio (torchvision / torchgraft) ${(py[name] / ours[name]).toFixed(2)}x`);
}
