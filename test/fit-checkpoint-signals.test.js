'use strict';
// A checkpointed fit's signal handling in one process: the signal is delivered with process.emit, and process.exit
// and process.kill are replaced for the test, so what the handlers would do to the process is recorded instead.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { ModelCheckpoint } = require('../dist/train');

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fitsig-'));
const files = (dir) => fs.readdirSync(dir).sort();
const latest = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8'));

/**
 * Runs fn with process.exit and process.kill recorded instead of done, and without the host's own SIGINT/SIGTERM
 * listeners (a test runner's), which process.emit would call too.
 */
async function recordingExits(fn) {
  const calls = [];
  const [exit, kill] = [process.exit, process.kill];
  const hosts = ['SIGINT', 'SIGTERM'].map((sig) => [sig, process.listeners(sig)]);
  for (const [sig] of hosts) process.removeAllListeners(sig);
  process.exit = (code) => calls.push(['exit', code]);
  process.kill = (pid, sig) => calls.push(['kill', pid === process.pid ? 'self' : pid, sig]);
  try {
    return { calls, result: await fn().then((v) => ({ value: v }), (e) => ({ error: e })) };
  } finally {
    process.exit = exit;
    process.kill = kill;
    for (const [sig, listeners] of hosts) for (const l of listeners) process.on(sig, l);
  }
}

/** A 5-epoch checkpointed fit of 4 batches an epoch; `atBatch(epoch, batch)` runs after each batch. */
function checkpointedFit(dir, atBatch) {
  tg.manualSeed(2);
  const net = new tg.nn.Sequential({ fc: new tg.nn.Linear(3, 2) });
  const x = tg.randn([32, 3]);
  const y = tg.randint(0, 2, [32]);
  let epoch = 0;
  const probe = { onEpochBegin: (e) => { epoch = e; }, onBatchEnd: (b) => atBatch(epoch, b) };
  return tg.fit(net, [x, y], {
    epochs: 5, batchSize: 8, seed: 1, verbose: 0, engine: 'js', loss: 'crossEntropy',
    optimizer: new tg.optim.SGD(net.parameters(), { lr: 0.1 }), callbacks: [probe, new ModelCheckpoint({ dir })],
  });
}

for (const sig of ['SIGTERM', 'SIGINT']) {
  test(`${sig} in a program with its own ${sig} listener: fit stops after the batch, returns, and latest.json notes the cut epoch`, async () => {
    const dir = tmp();
    const own = () => undefined;
    let after;
    try {
      const { calls, result } = await recordingExits(() => {
        process.on(sig, own);
        return checkpointedFit(dir, (e, b) => {
          if (e === 2 && b === 1) process.emit(sig, sig);
        }).finally(() => {
          after = process.listeners(sig);
        });
      });
      assert.deepStrictEqual(calls, [], 'the program listens: it decides, nothing ends the process');
      const h = result.value;
      assert.strictEqual(h.epochs.length, 3, 'epochs 0 and 1, and the logs of the cut epoch 2 (not checkpointed)');
      assert.deepStrictEqual(h.stopped?.reason, `interrupted by ${sig}`);
      assert.deepStrictEqual(files(dir), ['best.ckpt', 'epoch-0000.ckpt', 'epoch-0001.ckpt', 'latest.json']);
      assert.deepStrictEqual(latest(dir), { file: 'epoch-0001.ckpt', epoch: 1, version: 1, interrupted: { signal: sig, epoch: 2 } });
      assert.deepStrictEqual(after, [own], "fit's handler removed, the program's kept");
    } finally {
      process.removeListener(sig, own);
    }
  });
}

test('with no listener of its own, a finished interrupted fit ends the process by the signal; a second signal at once', async () => {
  const dir = tmp();
  const { calls } = await recordingExits(() => checkpointedFit(dir, (e, b) => {
    if (e === 1 && b === 0) process.emit('SIGTERM', 'SIGTERM');
  }));
  assert.deepStrictEqual(calls, [['kill', 'self', 'SIGTERM'], ['exit', 128 + os.constants.signals.SIGTERM]], 'after the checkpoint work, as the signal would');
  assert.deepStrictEqual(latest(dir).interrupted, { signal: 'SIGTERM', epoch: 1 });
  const second = (own) => recordingExits(() => checkpointedFit(tmp(), (e, b) => {
    if (e === 1 && b === 0) {
      if (own) process.on('SIGINT', own);
      process.emit('SIGINT', 'SIGINT');
      process.emit('SIGINT', 'SIGINT');
      process.exit('marker: the batch went on'); // recorded: shows whether the exit came first
      if (own) process.removeListener('SIGINT', own);
    }
  }));
  const again = await second();
  assert.deepStrictEqual(again.calls.slice(0, 3), [['kill', 'self', 'SIGINT'], ['exit', 128 + os.constants.signals.SIGINT], ['exit', 'marker: the batch went on']],
    'the second signal: at once, before the batch goes on');
  const listened = await second(() => undefined);
  assert.deepStrictEqual(listened.calls.slice(0, 2), [['exit', 128 + os.constants.signals.SIGINT], ['exit', 'marker: the batch went on']],
    'a program listening for the signal: exit without re-raising it');
});

test('one signal stops every checkpointed fit running; the process ends once, after the last of them', async () => {
  const dirs = [tmp(), tmp()];
  const { calls, result } = await recordingExits(() => Promise.all([
    checkpointedFit(dirs[0], (e, b) => {
      if (e === 1 && b === 0) process.emit('SIGTERM', 'SIGTERM');
    }),
    checkpointedFit(dirs[1], () => undefined),
  ]));
  assert.ok(result.value, String(result.error));
  assert.deepStrictEqual(calls.filter(([what]) => what === 'exit'), [['exit', 128 + os.constants.signals.SIGTERM]]);
  for (const dir of dirs) assert.strictEqual(latest(dir).interrupted?.signal, 'SIGTERM');
});

test('an interrupted fit that then fails rejects with its error and does not end the process', async () => {
  const dir = tmp();
  const { calls, result } = await recordingExits(() => checkpointedFit(dir, (e, b) => {
    if (e === 1 && b === 0) {
      process.emit('SIGTERM', 'SIGTERM');
      throw new RangeError('the callback fails after the signal');
    }
  }));
  assert.match(String(result.error), /the callback fails after the signal/);
  assert.deepStrictEqual(calls, []);
});
