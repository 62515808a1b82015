// Writes checkpoints in a loop, for the kill test: checkpoint n holds a model whose every weight equals n.
//   node checkpoint-writer.js <ckpt>    prints "SAVED n" after each complete write
'use strict';
const tg = require('../..');

async function main() {
  const file = process.argv[2];
  const net = new tg.nn.Sequential({ a: new tg.nn.Linear(2048, 2048), b: new tg.nn.Linear(2048, 2048) });
  for (let n = 1; ; n++) {
    tg.noGrad(() => net.parameters().forEach((p) => p.fill_(n)));
    await tg.io.saveCheckpoint(file, { model: net, epoch: n });
    console.log(`SAVED ${n}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
