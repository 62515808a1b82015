'use strict';
// ModelCheckpoint driven directly with the fit context it would get: every option refused word for word, what
// onTrainBegin refuses, other ranks writing nothing, the period and the file names, pruning by epoch, the monitored
// value's direction, and what the checkpoint's fit state records.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { ModelCheckpoint } = require('../dist/train');
const { History } = require('../dist/train/history');

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-mcu-'));
function context(extra = {}) {
  tg.manualSeed(1);
  const model = new tg.nn.Linear(2, 2);
  const optimizer = new tg.optim.SGD(model.parameters(), { lr: 0.1 });
  return { model, optimizer, history: new History(), initialEpoch: 0, endEpoch: 10, ...extra };
}
/** Runs epochs 0..n-1 with the given logs per epoch. */
async function run(cb, ctx, logsOf, n) {
  await cb.onTrainBegin(ctx);
  for (let e = 0; e < n; e++) await cb.onEpochEnd(e, logsOf(e), ctx);
  await cb.onTrainEnd(ctx.history, ctx);
}
const files = (dir) => fs.readdirSync(dir).sort();

test('ModelCheckpoint options refused word for word', () => {
  const fileMessage = (f) => `ModelCheckpoint: filename must be a file name containing {epoch} (no folder), other than latest.json and best.ckpt; got ${f}`;
  const cases = [
    [undefined, TypeError, 'ModelCheckpoint: expected options { dir, every, monitor, mode, keepLast, saveBest }'],
    [null, TypeError, 'ModelCheckpoint: expected options { dir, every, monitor, mode, keepLast, saveBest }'],
    ['ckpt', TypeError, 'ModelCheckpoint: expected options { dir, every, monitor, mode, keepLast, saveBest }'],
    [{ dir: 'x', evry: 2 }, TypeError, "ModelCheckpoint: unknown option 'evry' (did you mean 'every'?); known: dir, every, monitor, mode, keepLast, saveBest, filename, scheduler"],
    [{}, TypeError, 'ModelCheckpoint: dir must be a non-empty string (a folder)'],
    [{ dir: '' }, TypeError, 'ModelCheckpoint: dir must be a non-empty string (a folder)'],
    [{ dir: 'x', every: 0 }, RangeError, 'ModelCheckpoint: every must be an integer >= 1, got 0'],
    [{ dir: 'x', every: 1.5 }, RangeError, 'ModelCheckpoint: every must be an integer >= 1, got 1.5'],
    [{ dir: 'x', monitor: '' }, TypeError, 'ModelCheckpoint: monitor must be a logs key such as val_loss'],
    [{ dir: 'x', monitor: 3 }, TypeError, 'ModelCheckpoint: monitor must be a logs key such as val_loss'],
    [{ dir: 'x', mode: 'up' }, TypeError, "ModelCheckpoint: mode must be 'min', 'max' or 'auto', got up"],
    [{ dir: 'x', keepLast: 0 }, RangeError, 'ModelCheckpoint: keepLast must be an integer >= 1, got 0'],
    [{ dir: 'x', keepLast: 1.5 }, RangeError, 'ModelCheckpoint: keepLast must be an integer >= 1, got 1.5'],
    [{ dir: 'x', saveBest: 'yes' }, TypeError, 'ModelCheckpoint: saveBest must be a boolean'],
    [{ dir: 'x', filename: 3 }, TypeError, fileMessage(3)],
    [{ dir: 'x', filename: 'same.ckpt' }, TypeError, fileMessage('same.ckpt')],
    [{ dir: 'x', filename: 'a/{epoch}.ckpt' }, TypeError, fileMessage('a/{epoch}.ckpt')],
    [{ dir: 'x', filename: 'a\\{epoch}.ckpt' }, TypeError, fileMessage('a\\{epoch}.ckpt')],
    [{ dir: 'x', scheduler: null }, TypeError, 'ModelCheckpoint: scheduler must have stateDict() and loadStateDict() (a tg.optim scheduler)'],
    [{ dir: 'x', scheduler: { stateDict() {} } }, TypeError, 'ModelCheckpoint: scheduler must have stateDict() and loadStateDict() (a tg.optim scheduler)'],
    [{ dir: 'x', scheduler: { loadStateDict() {} } }, TypeError, 'ModelCheckpoint: scheduler must have stateDict() and loadStateDict() (a tg.optim scheduler)'],
  ];
  for (const [options, cls, message] of cases) assert.throws(() => new ModelCheckpoint(options), { name: cls.name, message }, message);
  const ok = new ModelCheckpoint({ dir: 'x', every: 1, monitor: 'acc', mode: 'max', keepLast: 1, saveBest: false, filename: '{epoch}', scheduler: { stateDict() {}, loadStateDict() {} } });
  assert.deepStrictEqual([ok.dir, ok.every, ok.monitor, ok.mode, ok.keepLast, ok.saveBest, ok.filename], [path.resolve('x'), 1, 'acc', 'max', 1, false, '{epoch}']);
  const defaults = new ModelCheckpoint({ dir: 'x' });
  assert.deepStrictEqual([defaults.best, defaults.bestEpoch, defaults.lastSaved], [NaN, -1, undefined], 'nothing seen yet');
  assert.deepStrictEqual([defaults.every, defaults.monitor, defaults.mode, defaults.keepLast, defaults.saveBest, defaults.filename], [1, undefined, 'auto', Infinity, true, 'epoch-{epoch}.ckpt']);
  assert.deepStrictEqual([defaults.fileFor(7), defaults.fileFor(12345), new ModelCheckpoint({ dir: 'x', filename: 'r{epoch}-{epoch}' }).fileFor(3)], ['epoch-0007.ckpt', 'epoch-12345.ckpt', 'r0003-0003']);
});

test('onTrainBegin refuses an optimizer or model it cannot save, and a folder it cannot make; other ranks do nothing', async () => {
  const dir = path.join(tmp(), 'ckpt');
  const ctx = context();
  const optMessage = 'ModelCheckpoint: the optimizer must have stateDict() and loadStateDict() (a tg.optim optimizer) to be checkpointed';
  const modelMessage = 'ModelCheckpoint: the model must have stateDict() and loadStateDict() (a tg.nn.Module) to be checkpointed';
  const cb = new ModelCheckpoint({ dir });
  for (const optimizer of [{ loadStateDict() {} }, { stateDict() {} }]) assert.throws(() => cb.onTrainBegin({ ...ctx, optimizer }), { name: 'TypeError', message: optMessage });
  for (const model of [{ loadStateDict() {} }, { stateDict() {} }]) assert.throws(() => cb.onTrainBegin({ ...ctx, model }), { name: 'TypeError', message: modelMessage });
  assert.ok(!fs.existsSync(dir));
  const other = { ...ctx, rank: 1 };
  await run(cb, other, () => ({ loss: 1 }), 3);
  assert.ok(!fs.existsSync(dir), 'rank 1 wrote nothing');
  const file = path.join(tmp(), 'plain');
  fs.writeFileSync(file, 'x');
  const blocked = new ModelCheckpoint({ dir: path.join(file, 'ckpt') });
  await assert.rejects(blocked.onTrainBegin(ctx), (e) => e.code === 'ERR_IO' && e.cause?.code === 'ENOTDIR' &&
    e.message.startsWith(`ModelCheckpoint: cannot create the folder '${path.join(file, 'ckpt')}': ENOTDIR`));
  await cb.onTrainBegin(ctx);
  assert.deepStrictEqual(files(dir), []);
});

test('every 3 epochs, keeping the last 2 by epoch (not by name), with best.ckpt when the loss improves', async () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'c0099-x.ckpt'), 'a later epoch of another run: newer than this run, kept');
  fs.writeFileSync(path.join(dir, 'c0001.ckpt.bak'), 'not a checkpoint name');
  const cb = new ModelCheckpoint({ dir, every: 3, keepLast: 2, filename: 'c{epoch}-x.ckpt' });
  const losses = [5, 4, 6, 3, 7, 8, 2, 9, 9];
  await run(cb, context(), (e) => ({ loss: losses[e] }), 9);
  assert.deepStrictEqual(files(dir), ['best.ckpt', 'c0001.ckpt.bak', 'c0005-x.ckpt', 'c0008-x.ckpt', 'c0099-x.ckpt', 'latest.json']);
  assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8')), { version: 1, file: 'c0008-x.ckpt', epoch: 8 });
  assert.deepStrictEqual([cb.best, cb.bestEpoch, cb.lastSaved], [2, 6, { file: 'c0008-x.ckpt', epoch: 8 }]);
  const best = await tg.io.loadCheckpoint(path.join(dir, 'best.ckpt'), { restoreRng: false });
  assert.strictEqual(best.epoch, 6, 'best.ckpt is the epoch of the lowest loss');
});

test("the monitored value's direction: accuracies and top-k up, the rest down, NaN never an improvement; the fit state it saves", async () => {
  const cases = [
    [{}, (e) => ({ loss: [3, 1, 2][e], val_loss: [1, 2, 0.5][e] }), 'val_loss', 0.5, 2],
    [{ monitor: 'acc' }, (e) => ({ loss: 1, acc: [0.5, 0.9, 0.7][e] }), 'acc', 0.9, 1],
    [{ monitor: 'val_top5' }, (e) => ({ loss: 1, val_top5: [0.5, 0.4, 0.6][e] }), 'val_top5', 0.6, 2],
    [{ monitor: 'acc', mode: 'min' }, (e) => ({ loss: 1, acc: [0.5, 0.9, 0.7][e] }), 'acc', 0.5, 0],
    [{ monitor: 'loss', mode: 'max' }, (e) => ({ loss: [1, 3, 2][e] }), 'loss', 3, 1],
    [{ monitor: 'loss' }, (e) => ({ loss: [NaN, 2, NaN][e] }), 'loss', 2, 1],
  ];
  for (const [options, logsOf, monitor, best, bestEpoch] of cases) {
    const dir = tmp();
    const cb = new ModelCheckpoint({ dir, ...options });
    const ctx = context({ initialEpoch: 0, endEpoch: 3 });
    await run(cb, ctx, logsOf, 3);
    assert.deepStrictEqual([cb.best, cb.bestEpoch], [best, bestEpoch], JSON.stringify(options));
    const info = await tg.io.loadCheckpoint(path.join(dir, 'epoch-0002.ckpt'), { restoreRng: false });
    assert.deepStrictEqual(info.extra.fit.best, { monitor, value: best, epoch: bestEpoch });
    assert.deepStrictEqual([info.extra.fit.runStart, info.extra.fit.endEpoch, info.extra.fit.optimizerKind, info.extra.fit.schedulerKind], [0, 3, 'SGD', undefined]);
  }
  const nan = tmp();
  await run(new ModelCheckpoint({ dir: nan, every: 5 }), context(), () => ({ loss: NaN }), 2);
  assert.deepStrictEqual(files(nan), [], 'a NaN loss is no improvement: no best.ckpt');
  const dir = tmp();
  class WarmUp { stateDict() { return { step: 1 }; } loadStateDict() {} }
  const cb = new ModelCheckpoint({ dir, scheduler: new WarmUp() });
  const ctx = context({ initialEpoch: 4, endEpoch: 6 });
  const bare = Object.assign(Object.create(null), { step() {}, zeroGrad() {}, stateDict: () => ctx.optimizer.stateDict(), loadStateDict: (sd) => ctx.optimizer.loadStateDict(sd), paramGroups: ctx.optimizer.paramGroups });
  await cb.onTrainBegin({ ...ctx, optimizer: bare });
  await cb.onEpochEnd(4, { loss: 1 }, { ...ctx, optimizer: bare });
  const info = await tg.io.loadCheckpoint(path.join(dir, 'epoch-0004.ckpt'), { restoreRng: false });
  assert.deepStrictEqual([info.extra.fit.runStart, info.extra.fit.endEpoch, info.extra.fit.optimizerKind, info.extra.fit.schedulerKind], [4, 6, 'Object', 'WarmUp']);
});

test('an improvement between periodic checkpoints writes best.ckpt only; latest.json ends in a newline; an equal value is no improvement', async () => {
  const dir = tmp();
  const cb = new ModelCheckpoint({ dir, every: 3 });
  await run(cb, context(), (e) => ({ loss: [5, 5, 4, 4, 4, 3, 1][e] }), 7);
  assert.deepStrictEqual(files(dir), ['best.ckpt', 'epoch-0002.ckpt', 'epoch-0005.ckpt', 'latest.json']);
  const text = fs.readFileSync(path.join(dir, 'latest.json'), 'utf8');
  assert.strictEqual(text, JSON.stringify({ version: 1, file: 'epoch-0005.ckpt', epoch: 5 }) + '\n', 'the pointer still names the last periodic checkpoint');
  assert.deepStrictEqual([cb.best, cb.bestEpoch, cb.lastSaved], [1, 6, { file: 'epoch-0005.ckpt', epoch: 5 }]);
  assert.strictEqual((await tg.io.loadCheckpoint(path.join(dir, 'best.ckpt'), { restoreRng: false })).epoch, 6);
  const ties = new ModelCheckpoint({ dir: tmp(), every: 10 });
  await run(ties, context(), () => ({ loss: 2 }), 3);
  assert.strictEqual(ties.bestEpoch, 0, 'the first of equal values stays the best');
  const up = new ModelCheckpoint({ dir: tmp(), every: 10, monitor: 'acc' });
  await run(up, context(), () => ({ loss: 1, acc: 0.5 }), 3);
  assert.strictEqual(up.bestEpoch, 0);
});

test('copying a periodic checkpoint to best.ckpt leaves no descriptor open; a missing monitored key is named with the keys there are', async () => {
  const openFiles = () => fs.readdirSync('/proc/self/fd').length;
  const dir = tmp();
  const cb = new ModelCheckpoint({ dir });
  const ctx = context();
  await cb.onTrainBegin(ctx);
  await cb.onEpochEnd(0, { loss: 1 }, ctx);
  const before = openFiles();
  for (let e = 1; e < 4; e++) await cb.onEpochEnd(e, { loss: 1 / (e + 1) }, ctx);
  assert.strictEqual(openFiles(), before);
  const missing = (monitor, logs) => run(new ModelCheckpoint({ dir: tmp(), monitor }), context(), () => logs, 1);
  await assert.rejects(missing('val_acc', { loss: 1, acc: 0.5 }), { code: 'ERR_MISSING_METRIC',
    message: "ModelCheckpoint: 'val_acc' is not in the epoch logs (loss, acc); validation keys need fit({ validation })" });
  await assert.rejects(missing('f1', { loss: 1, acc: 0.5 }), { code: 'ERR_MISSING_METRIC', message: "ModelCheckpoint: 'f1' is not in the epoch logs (loss, acc)" });
});
