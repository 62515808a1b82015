// A training run that survives being stopped: a checkpoint after every epoch, resumed exactly when the file exists.
//   node examples/checkpoint-resume.js   (stop it with Ctrl-C, run it again: it goes on where it left off)
'use strict';
const fs = require('node:fs');
const tg = require('torchgraft');

const CKPT = 'run.ckpt';
const EPOCHS = 20;

async function main() {
  tg.manualSeed(0);
  const X = tg.randn([512, 10]);
  const Y = X.sum(1).gt(0).long();
  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(X, Y), { batchSize: 32, shuffle: true, seed: 1 });
  const net = new tg.nn.Sequential({ fc1: new tg.nn.Linear(10, 32), act: new tg.nn.ReLU(), drop: new tg.nn.Dropout(0.2), fc2: new tg.nn.Linear(32, 2) });
  const optimizer = new tg.optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
  const scheduler = new tg.optim.StepLR(optimizer, { stepSize: 5, gamma: 0.5 });

  let start = 0;
  if (fs.existsSync(CKPT)) {
    // Weights, optimizer momentum, schedule, the loader's next epoch and the random generators: the run goes on
    // exactly as if it had never stopped.
    const { epoch } = await tg.io.loadCheckpoint(CKPT, { model: net, optimizer, scheduler, loader });
    start = epoch + 1;
    console.log(`resumed after epoch ${epoch}`);
  }
  for (let epoch = start; epoch < EPOCHS; epoch++) {
    const history = await tg.fit(net, loader, { epochs: 1, initialEpoch: epoch, optimizer, loss: 'crossEntropy', verbose: 0 });
    scheduler.step();
    await tg.io.saveCheckpoint(CKPT, { model: net, optimizer, scheduler, loader, epoch }); // atomic: a kill leaves the last one
    console.log(`epoch ${epoch}: loss ${history.epochs[0].loss.toFixed(4)}`);
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
