#!/usr/bin/env node
'use strict';
// Benchmark (not a test): eval forward time of torchvision's mobile architectures in torchgraft and in PyTorch
// (/usr/bin/python3 with torchvision), model by model, one thread each, batch 1, 3x224x224, in one run: the fastest of --reps (default 20)
// after 3 warm-up passes. Prints ms per forward and the ratio (torchgraft / PyTorch; below 1 is faster).
const { execFileSync } = require('node:child_process');
const os = require('node:os');
const tg = require('..');

const args = process.argv.slice(2);
const at = args.indexOf('--reps');
const REPS = at >= 0 ? Number(args[at + 1]) : 20;
const MODELS = ['mobilenet_v2', 'mobilenet_v3_small', 'mobilenet_v3_large', 'efficientnet_b0', 'resnet18'];
// The fastest pass: on a shared machine the other passes measure the neighbours' load as much as the model.
const best = (a) => Math.min(...a);

function ours(name) {
  tg.manualSeed(0);
  const m = tg.nn.models[name]().eval();
  const x = tg.randn([1, 3, 224, 224]);
  const times = [];
  tg.noGrad(() => {
    for (let i = 0; i < 3 + REPS; i++) {
      const t0 = process.hrtime.bigint();
      tg.tidy(() => m.forward(x).dataSync());
      if (i >= 3) times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  });
  return best(times);
}

function theirs(names) {
  const code = `
import json, time, torch, torchvision
torch.set_num_threads(1)
out = {}
for name in ${JSON.stringify(names)}:
    m = getattr(torchvision.models, name)(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    ts = []
    with torch.no_grad():
        for i in range(3 + ${REPS}):
            t0 = time.perf_counter(); m(x).numpy(); t = (time.perf_counter() - t0) * 1000
            if i >= 3: ts.append(t)
    out[name] = min(ts)
print(json.dumps(out))`;
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', code], { env: { ...process.env, OMP_NUM_THREADS: '1' } }).toString());
}

tg.setNumThreads(1);
console.log(`mobile architectures, eval forward, batch 1, 3x224x224, one thread, fastest of ${REPS}; ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`);
for (const name of MODELS) {
  // Side by side per model, so that load from elsewhere hits both alike.
  const py = theirs([name]);
  const t = ours(name);
  console.log(`${name.padEnd(20)} torchgraft ${t.toFixed(1).padStart(7)} ms   PyTorch ${py[name].toFixed(1).padStart(7)} ms   ratio ${(t / py[name]).toFixed(2)}`);
}
