// Reuse a TorchScript model's lower layers under a new head: freeze the backbone, train the head, save the result.
//   node examples/torchscript-finetune.js model.pt [backbone=features] [classes=3]
// model.pt comes from Python: torch.jit.script(net).save('model.pt') (or torch.jit.trace).
'use strict';
const tg = require('torchgraft');

async function main() {
  const [file, backboneName = 'features', classes = '3'] = process.argv.slice(2);
  if (!file) throw new Error('usage: node examples/torchscript-finetune.js model.pt [backbone] [classes]');
  const net = await tg.io.loadTorchScript(file);
  console.log(net.toString()); // the module tree, with TorchScript class names
  const backbone = net.submodule(backboneName);
  for (const p of backbone.parameters()) p.requiresGrad = false; // frozen: the optimizer will not move it
  backbone.eval(); // a frozen BatchNorm keeps its running statistics

  // The input shape is the model's own business; here, a batch of 3x32x32 images.
  const x = tg.randn([16, 3, 32, 32]);
  const width = tg.noGrad(() => backbone.call(x)).reshape([16, -1]).shape[1];
  const model = new tg.nn.Sequential({
    backbone,
    flat: new tg.nn.Flatten(),
    head: new tg.nn.Linear(width, Number(classes)),
  });
  const y = tg.randint(0, Number(classes), [16]);
  const opt = new tg.optim.Adam(model.parameters().filter((p) => p.requiresGrad), { lr: 1e-3 });
  model.train();
  backbone.eval();
  for (let step = 0; step < 20; step++) {
    const loss = tg.tidy(() => {
      opt.zeroGrad();
      const l = tg.nn.functional.crossEntropy(model.call(x), y);
      l.backward();
      opt.step();
      return l.item();
    });
    if (step % 5 === 0) console.log(`step ${step}: loss ${loss.toFixed(4)}`);
  }
  await tg.io.save(model.stateDict(), 'finetuned.safetensors'); // the new head and the frozen backbone, by name
  await net.save('backbone.pt'); // the TorchScript model itself, for torch.jit.load in Python
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
