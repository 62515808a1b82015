#!/usr/bin/env node
// Reuse a TorchScript model's lower layers under a new head: freeze the backbone, train the head, save the result.
//   node examples/torchscript-finetune.js model.pt [--backbone NAME] [--input-shape 3,32,32] [--classes 3] [--out DIR]
// model.pt comes from Python: torch.jit.script(net).save('model.pt') (or torch.jit.trace). The backbone is the
// submodule NAME (default: `features` when there is one, else the model's first child); the input shape of one example
// is --input-shape, else read from the backbone's first weight: [in] for a Linear, [channels, 32, 32] for a Conv2d.
// It trains on random data: the point is the mechanics (freeze, new head, save), not the accuracy.
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');
const tg = require('torchgraft');

const USAGE = 'usage: node examples/torchscript-finetune.js model.pt [--backbone NAME] [--input-shape 3,32,32] [--classes 3] [--out DIR]';

/** A clean one-line reason from a TorchScript error, whose message carries the scripted (and Python) traceback. */
function reason(e) {
  const lines = String(e.message).split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.reverse().find((l) => /^[A-Z]\w*Error: /.test(l)) ?? lines[lines.length - 1] ?? String(e);
}

/** The shape of one example: from --input-shape, else from the first weight of the backbone. */
function inputShape(backbone, given) {
  if (given !== undefined) {
    const dims = given.split(',').map(Number);
    if (!dims.length || !dims.every((d) => Number.isInteger(d) && d > 0)) throw new RangeError(`--input-shape '${given}': expected positive integers like 3,32,32`);
    return dims;
  }
  const first = backbone.namedParameters().find(([, p]) => p.shape.length >= 2);
  if (!first) throw new RangeError(`the backbone has no weight to read an input shape from: pass --input-shape\n${USAGE}`);
  const [name, w] = first;
  if (w.shape.length === 2) return console.log(`input: [${w.shape[1]}] features (from ${name}, shape [${w.shape.join(', ')}])`), [w.shape[1]];
  if (w.shape.length === 4) return console.log(`input: [${w.shape[1]}, 32, 32] (channels from ${name}; 32x32 by default, --input-shape to change)`), [w.shape[1], 32, 32];
  throw new RangeError(`cannot tell the input shape from ${name} (shape [${w.shape.join(', ')}]): pass --input-shape\n${USAGE}`);
}

async function main() {
  const { values, positionals } = parseArgs({
    options: { backbone: { type: 'string' }, 'input-shape': { type: 'string' }, classes: { type: 'string', default: '3' }, out: { type: 'string', default: '.' } },
    allowPositionals: true,
  });
  const [file] = positionals;
  const classes = Number(values.classes);
  if (!file || positionals.length > 1) throw new TypeError(USAGE);
  if (!Number.isInteger(classes) || classes < 2) throw new RangeError(`--classes must be an integer >= 2, got '${values.classes}'`);

  const net = await tg.io.loadTorchScript(file);
  console.log(net.toString()); // the module tree, with TorchScript class names
  const children = net.namedChildren().map(([n]) => n);
  const backboneName = values.backbone ?? (children.includes('features') ? 'features' : children[0]);
  if (backboneName === undefined) throw new RangeError(`${file} has no submodules to reuse as a backbone`);
  const backbone = net.submodule(backboneName);
  for (const p of backbone.parameters()) p.requiresGrad = false; // frozen: the optimizer will not move it
  backbone.eval(); // a frozen BatchNorm keeps its running statistics

  const batch = 16;
  const x = tg.randn([batch, ...inputShape(backbone, values['input-shape'])]);
  let width;
  try {
    width = tg.noGrad(() => backbone.call(x)).reshape([batch, -1]).shape[1];
  } catch (e) {
    throw new RangeError(`backbone '${backboneName}' does not take inputs of shape [${x.shape.join(', ')}]: ${reason(e)}\n(pass --input-shape, or another --backbone)`, { cause: e });
  }
  console.log(`backbone '${backboneName}' (frozen): [${x.shape.join(', ')}] -> ${width} features; new head: Linear(${width}, ${classes})`);
  const model = new tg.nn.Sequential({
    backbone,
    flat: new tg.nn.Flatten(),
    head: new tg.nn.Linear(width, classes),
  });
  const y = tg.randint(0, classes, [batch]);
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
  const saved = path.join(values.out, 'finetuned.safetensors');
  await tg.io.save(model.stateDict(), saved); // the new head and the frozen backbone, by name
  await net.save(path.join(values.out, 'backbone.pt')); // the TorchScript model itself, for torch.jit.load in Python
  console.log(`saved ${saved} and ${path.join(values.out, 'backbone.pt')}`);
}

main().catch((e) => {
  console.error(`torchscript-finetune: ${e.message}`);
  process.exit(1);
});
