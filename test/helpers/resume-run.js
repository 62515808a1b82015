// A small training run for the resume test, run in its own process:
//   node resume-run.js full <out>                 trains 3 epochs and saves the weights to <out>
//   node resume-run.js stop <ckpt> <step>         trains until global step <step>, saves a checkpoint, exits
//   node resume-run.js resume <ckpt> <out>        a fresh process: restores the checkpoint, finishes, saves to <out>
// Dropout, the shuffled DataLoader (seed drawn from LibTorch's generator), Adam and StepLR all carry state.
'use strict';
const tg = require('../..');

const EPOCHS = 3;

async function main() {
  const [mode, a, b] = process.argv.slice(2);
  tg.manualSeed(0);
  const X = tg.randn([40, 6]);
  const Y = tg.randint(0, 3, [40]);
  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(X, Y), { batchSize: 8, shuffle: true });
  const net = new tg.nn.Sequential({
    fc1: new tg.nn.Linear(6, 16),
    act: new tg.nn.ReLU(),
    drop: new tg.nn.Dropout(0.3),
    fc2: new tg.nn.Linear(16, 3),
  });
  const opt = new tg.optim.Adam(net.parameters(), { lr: 0.01 });
  const scheduler = new tg.optim.StepLR(opt, { stepSize: 1, gamma: 0.5 });
  const perEpoch = loader.length;
  let step = 0;
  let startEpoch = 0;
  let skip = 0;
  if (mode === 'resume') {
    const info = await tg.io.loadCheckpoint(a, { model: net, optimizer: opt, scheduler, loader });
    step = info.extra.step;
    startEpoch = info.epoch;
    skip = step - startEpoch * perEpoch; // batches of this epoch already trained
  }
  for (let epoch = startEpoch; epoch < EPOCHS; epoch++) {
    loader.setEpoch(epoch);
    net.train();
    let batch = 0;
    for (const [x, y] of loader) {
      if (batch++ >= skip) {
        tg.tidy(() => {
          opt.zeroGrad();
          tg.nn.functional.crossEntropy(net.call(x), y).backward();
          opt.step();
        });
        step++;
      }
      tg.dispose([x, y]);
      if (mode === 'stop' && step === Number(b)) {
        await tg.io.saveCheckpoint(a, { model: net, optimizer: opt, scheduler, loader, epoch, extra: { step } });
        return;
      }
    }
    skip = 0;
    scheduler.step();
  }
  await tg.io.save(net.stateDict(), mode === 'full' ? a : b);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
