#!/usr/bin/env node
// Benchmark (not a test): images/s through ImageFolder + loader (decode, RandomResizedCrop(224), RandomHorizontalFlip,
// ToTensor, Normalize, batches of 32) with 2 worker threads, against torchvision's ImageFolder + DataLoader(num_workers=2)
// on the same folder of 1,000 JPEGs (375x500, written once into a cache folder), in one run. One LibTorch thread on
// both sides (torch's workers set it; here it is the process's). Epoch 1 includes starting the workers.
// Uses tg.transforms' classes when they exist, else a stand-in with the same work (bench/helpers/image-standin.js).
// --persistent keeps the workers between epochs (persistentWorkers; torch's side keeps its default, new workers each epoch).
// Usage: node bench/image-folder.js [--images 1000] [--workers 2] [--epochs 3] [--persistent] [--dir CACHE] [--json FILE]
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sharp = require('sharp');
const tg = require('..');

const { arg } = require('./helpers/args');
const N = Number(arg('images', '1000'));
const WORKERS = Number(arg('workers', '2'));
const EPOCHS = Number(arg('epochs', '3'));
const BATCH = 32;
const DIR = arg('dir', path.join(os.tmpdir(), `torchgraft-bench-images-${N}`));
const PERSISTENT = process.argv.includes('--persistent');
const PYTHON = process.env.TORCHGRAFT_PYTHON || '/usr/bin/python3';

// 10 classes of smooth pictures with noise (JPEG quality 90), written once.
async function makeFolder() {
  const done = path.join(DIR, '.complete');
  if (fs.existsSync(done)) return;
  const w = 500;
  const h = 375;
  for (let i = 0; i < N; i++) {
    const px = Buffer.alloc(w * h * 3);
    let s = i + 1;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        s = (s * 1103515245 + 12345) >>> 0;
        const n = ((s >>> 24) % 41) - 20;
        const k = 3 * (y * w + x);
        px[k] = Math.max(0, Math.min(255, ((x * (i % 7 + 1)) % 256) + n));
        px[k + 1] = Math.max(0, Math.min(255, ((y * 2 + i) % 256) - n));
        px[k + 2] = (x + y + i * 13) % 256;
      }
    const dir = path.join(DIR, `class${i % 10}`);
    fs.mkdirSync(dir, { recursive: true });
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(path.join(dir, `${i}.jpg`));
  }
  fs.writeFileSync(done, '');
}

function pipeline() {
  const T = tg.transforms;
  if (typeof T.RandomResizedCrop === 'function') {
    const steps = [new T.ToImageTensor(), new T.RandomResizedCrop(224, { antialias: true }), new T.RandomHorizontalFlip(), new T.ConvertImageDtype('float32'), new T.Normalize(T.IMAGENET_MEAN, T.IMAGENET_STD)];
    return { transform: new T.Compose(steps), modules: [], name: 'tg.transforms' };
  }
  const { BenchStandIn } = require('./helpers/image-standin');
  return { transform: new BenchStandIn(), modules: [require.resolve('./helpers/image-standin')], name: 'stand-in (no tg.transforms.RandomResizedCrop on this tree)' };
}

async function ours() {
  tg.setNumThreads(1);
  tg.manualSeed(0);
  const p = pipeline();
  const ds = new tg.data.ImageFolder(DIR, { transform: p.transform, workerModules: p.modules });
  const loader = ds.loader({ batchSize: BATCH, shuffle: true, seed: 0, workers: WORKERS, persistentWorkers: PERSISTENT });
  const epochs = [];
  for (let e = 0; e < EPOCHS; e++) {
    const t0 = performance.now();
    let n = 0;
    for await (const [x, y] of loader) {
      n += x.shape[0];
      tg.dispose([x, y]);
    }
    epochs.push({ seconds: (performance.now() - t0) / 1000, images: n });
  }
  await loader.close();
  return { pipeline: p.name, epochs };
}

(async () => {
  await makeFolder();
  const tgRes = await ours();
  const py = JSON.parse(execFileSync(PYTHON, [path.join(__dirname, 'py', 'image_folder.py'), DIR, String(WORKERS), String(EPOCHS), String(BATCH)], { encoding: 'utf8' }));
  const rate = (e) => e.images / e.seconds;
  console.log(`image folder benchmark: ${N} JPEGs 375x500 in ${DIR}, batch ${BATCH}, ${WORKERS} workers; ${os.cpus().length} CPUs (${os.cpus()[0].model}), load ${os.loadavg()[0].toFixed(1)}`);
  console.log(`torchgraft pipeline: ${tgRes.pipeline}${PERSISTENT ? ', persistent workers' : ''}; torch ${py.torch}, torchvision ${py.torchvision} (PIL decode + PIL resize)`);
  const rows = tgRes.epochs.map((e, k) => ({ epoch: k + 1, torchgraft: rate(e), torchvision: rate(py.epochs[k]), ratio: rate(e) / rate(py.epochs[k]) }));
  for (const r of rows)
    console.log(`epoch ${r.epoch}: torchgraft ${r.torchgraft.toFixed(1)} images/s, torchvision ${r.torchvision.toFixed(1)} images/s, ratio (torchgraft / torchvision) ${r.ratio.toFixed(2)}x`);
  const file = arg('json');
  if (file) fs.writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), images: N, workers: WORKERS, rows, pipeline: tgRes.pipeline }, null, 2));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
