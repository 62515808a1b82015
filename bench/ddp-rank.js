'use strict';
// One rank of bench/ddp.js's torchgraft side: DistributedDataParallel over Gloo, the same MLP and steps as ddp_rank.py.
const tg = require('..');

(async () => {
  const [steps, batch] = process.argv.slice(2).map(Number);
  tg.setNumThreads(1);
  await tg.distributed.init({ initMethod: `tcp://127.0.0.1:${process.env.MASTER_PORT}` });
  tg.manualSeed(0);
  const net = new tg.nn.Sequential([new tg.nn.Linear(784, 300), new tg.nn.ReLU(), new tg.nn.Linear(300, 100), new tg.nn.ReLU(), new tg.nn.Linear(100, 10)]);
  const ddp = new tg.nn.parallel.DistributedDataParallel(net);
  await ddp.ready;
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  const x = tg.randn([batch, 784]);
  const y = tg.randint(0, 10, [batch]);
  const step = async () => {
    opt.zeroGrad();
    tg.tidy(() => tg.nn.functional.crossEntropy(ddp.call(x), y).backward());
    await ddp.syncGradients();
    opt.step();
  };
  for (let i = 0; i < 5; i++) await step();
  await tg.distributed.barrier();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await step();
  await tg.distributed.barrier();
  console.log(JSON.stringify({ seconds: (performance.now() - t0) / 1000 }));
  tg.distributed.destroy();
})();
