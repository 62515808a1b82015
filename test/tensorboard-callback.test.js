'use strict';
// The TensorBoard callback driven directly, with the fit context it would get: which logs become which scalars in which
// run, learning rates per group, histograms of the weights however the model exposes them, batch scalars every N,
// other ranks writing nothing, hyperparameters written once, and every refused option word for word.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { readPy } = require('./helpers/tfevents');
const { TensorBoard, readEventFile } = require('../dist/train');
const { settleTensors } = require('./helpers/settle');

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-tbc-'));
/** Every (tag@step = value or 'histogram') of an event file, in order. */
async function entries(file) {
  const out = [];
  for (const e of await readEventFile(file))
    for (const v of e.values) out.push(`${v.tag}@${e.step}=${v.histogram ? 'histogram' : v.plugin ?? v.value}`);
  return out;
}

test('epoch logs: val_ logs to validation/, the rest to train/, epoch, time, non-numbers and non-finite left out; an lr per group', async () => {
  const dir = tmp();
  const tb = new TensorBoard({ logDir: dir, histograms: false, everyBatches: 0 });
  const optimizer = { paramGroups: [{ lr: 0.5 }, { lr: 0.25 }, { momentum: 0.9 }, { lr: 0.125 }] };
  const ctx = { model: {}, optimizer };
  const startedAt = Date.now() / 1000;
  await tb.onTrainBegin(ctx);
  await tb.onEpochEnd(3, { epoch: 3, time: 1.5, loss: 0.75, acc: 0.5, val_loss: 1.25, val_acc: 0.25, note: 'x', bad: NaN, worse: Infinity }, ctx);
  await tb.onTrainEnd(undefined, ctx);
  assert.deepStrictEqual(Object.keys(tb.files).sort(), ['train', 'validation']);
  assert.deepStrictEqual(await entries(tb.files.train), [
    'epoch_loss@3=0.75', 'epoch_acc@3=0.5', 'epoch_learning_rate@3=0.5', 'epoch_learning_rate_group1@3=0.25', 'epoch_learning_rate_group3@3=0.125',
  ]);
  assert.deepStrictEqual(await entries(tb.files.validation), ['epoch_loss@3=1.25', 'epoch_acc@3=0.25']);
  for (const e of await readEventFile(tb.files.validation)) assert.ok(e.wallTime >= startedAt - 1 && e.wallTime <= Date.now() / 1000 + 1, `wall time ${e.wallTime} s`);
  assert.strictEqual(tb.files.train, path.join(dir, 'train', path.basename(tb.files.train)));
  // an optimizer without parameter groups writes no learning rate
  const plain = new TensorBoard({ logDir: tmp(), histograms: false, everyBatches: 0 });
  await plain.onEpochEnd(0, { loss: 1 }, { model: {}, optimizer: {} });
  assert.deepStrictEqual(await entries(plain.files.train), ['epoch_loss@0=1']);
});

test('histograms: of named parameters, or of a state dict (object or Map) without its integer tensors, every N epochs', async () => {
  tg.manualSeed(1);
  const net = new tg.nn.Sequential({ fc: new tg.nn.Linear(2, 3) });
  const tb = new TensorBoard({ logDir: tmp(), histograms: { every: 2 }, everyBatches: 0 });
  for (let epoch = 0; epoch < 5; epoch++) await tb.onEpochEnd(epoch, {}, { model: net, optimizer: {} });
  assert.deepStrictEqual((await entries(tb.files.train)), ['fc/weight@0=histogram', 'fc/bias@0=histogram', 'fc/weight@2=histogram', 'fc/bias@2=histogram', 'fc/weight@4=histogram', 'fc/bias@4=histogram']);
  const state = { 'enc.w': tg.tensor([1.5, 2, 3]), 'enc.steps': tg.tensor([4], { dtype: 'int64' }), 'enc.h': tg.tensor([0.5], { dtype: 'float64' }) };
  for (const stateDict of [() => state, () => new Map(Object.entries(state))]) {
    const viaState = new TensorBoard({ logDir: tmp(), everyBatches: 0 });
    await viaState.onEpochEnd(0, {}, { model: { stateDict }, optimizer: {} });
    assert.deepStrictEqual(await entries(viaState.files.train), ['enc/w@0=histogram', 'enc/h@0=histogram']);
  }
  const withBn = new tg.nn.Sequential({ fc: new tg.nn.Linear(2, 3), bn: new tg.nn.BatchNorm1d(3) });
  const params = new TensorBoard({ logDir: tmp(), everyBatches: 0 });
  await params.onEpochEnd(0, {}, { model: withBn, optimizer: {} });
  assert.deepStrictEqual(await entries(params.files.train), ['fc/weight@0=histogram', 'fc/bias@0=histogram', 'bn/weight@0=histogram', 'bn/bias@0=histogram'],
    'a module: its parameters, not its running statistics');
  withBn.dispose();
  // 16-bit weights are drawn from their values (widened to float32), and drawing leaves no tensor behind
  const halves = { 'h.half': tg.tensor([0.5, -2, 3], { dtype: 'float16' }), 'h.brain': tg.tensor([1, 4], { dtype: 'bfloat16' }) };
  const sixteen = new TensorBoard({ logDir: tmp(), everyBatches: 0 });
  await settleTensors();
  const before = tg.memory().tensors;
  await sixteen.onEpochEnd(0, {}, { model: { stateDict: () => halves }, optimizer: {} });
  assert.strictEqual(tg.memory().tensors, before, 'the float32 copies are freed');
  const histos = readPy(sixteen.files.train).flatMap((e) => (e.values || []).filter((v) => v.histo).map((v) => [v.tag, v.histo.min, v.histo.max, v.histo.num]));
  assert.deepStrictEqual(histos, [['h/half', -2, 3, 3], ['h/brain', 1, 4, 2]]);
  const none = new TensorBoard({ logDir: tmp(), everyBatches: 0 });
  await none.onEpochEnd(0, { loss: 2 }, { model: {}, optimizer: {} });
  assert.deepStrictEqual(await entries(none.files.train), ['epoch_loss@0=2'], 'a model without weights to draw: no histogram');
  const off = new TensorBoard({ logDir: tmp(), histograms: false, everyBatches: 0 });
  await off.onEpochEnd(0, { loss: 2 }, { model: net, optimizer: {} });
  assert.deepStrictEqual(await entries(off.files.train), ['epoch_loss@0=2']);
  net.dispose();
});

test('batch losses every N batches, numbered from the first fit, non-finite ones left out; no batch hook at everyBatches 0', async () => {
  const tb = new TensorBoard({ logDir: tmp(), everyBatches: 2, histograms: false });
  const ctx = { model: {}, optimizer: {} };
  await tb.onTrainBegin(ctx);
  [0.5, 0.25, 1, NaN, 2, 4].forEach((loss, b) => tb.onBatchEnd(b, { loss }, ctx));
  await tb.onEpochEnd(0, {}, ctx);
  assert.deepStrictEqual(await entries(tb.files.train), ['batch_loss@2=0.25', 'batch_loss@6=4']);
  assert.strictEqual(new TensorBoard({ logDir: tmp(), everyBatches: 0 }).onBatchEnd, undefined);
});

test('ranks other than 0 write nothing; hyperparameters are written once, as given at construction', async () => {
  const dir = tmp();
  const hparams = { lr: 0.1, name: 'a' };
  const other = new TensorBoard({ logDir: dir, hparams, everyBatches: 1 });
  const ctx1 = { model: {}, optimizer: { paramGroups: [{ lr: 1 }] }, rank: 1 };
  await other.onTrainBegin(ctx1);
  other.onBatchEnd(0, { loss: 1 }, ctx1);
  await other.onEpochEnd(0, { loss: 1 }, ctx1);
  await other.onTrainEnd(undefined, ctx1);
  assert.deepStrictEqual(fs.readdirSync(dir), [], 'rank 1 created nothing');
  const tb = new TensorBoard({ logDir: dir, hparams, everyBatches: 0, histograms: false });
  hparams.lr = 99;
  const ctx = { model: {}, optimizer: {}, rank: 0 };
  await tb.onTrainBegin(ctx);
  await tb.onTrainEnd(undefined, ctx);
  await tb.onTrainBegin(ctx);
  await tb.onTrainEnd(undefined, ctx);
  const root = await readEventFile(tb.files['.']);
  const tags = root.flatMap((e) => e.values.map((v) => v.tag));
  assert.deepStrictEqual(tags, ['_hparams_/session_start_info', 'hparams', '_hparams_/session_end_info', '_hparams_/session_end_info']);
  const text = fs.readFileSync(tb.files['.']);
  assert.ok(text.includes('| hyperparameter | value |\n|---|---|\n| lr | 0.1 |\n| name | a |') && !text.includes('99'), 'the hyperparameters as given at construction');
  const byHand = new TensorBoard({ logDir: tmp(), hparams: { a: 1 }, everyBatches: 0 });
  await byHand.onTrainBegin();
  await byHand.onTrainEnd();
  assert.deepStrictEqual((await readEventFile(byHand.files['.'])).flatMap((e) => e.values.map((v) => v.tag)),
    ['_hparams_/session_start_info', 'hparams', '_hparams_/session_end_info'], 'driven by hand, without a fit context');
  const noHparams = new TensorBoard({ logDir: tmp(), everyBatches: 0 });
  await noHparams.onTrainBegin(ctx);
  await noHparams.onTrainEnd(undefined, ctx);
  assert.deepStrictEqual(Object.keys(noHparams.files), ['train'], 'no hyperparameters: no file in the run folder');
});

test('TensorBoard options refused word for word', () => {
  const cases = [
    [null, TypeError, 'TensorBoard: options must be an object with a logDir'],
    ['runs', TypeError, 'TensorBoard: options must be an object with a logDir'],
    [{}, TypeError, 'TensorBoard: logDir must be a non-empty string'],
    [{ logDir: '' }, TypeError, 'TensorBoard: logDir must be a non-empty string'],
    [{ logDir: 'x', everyBatches: 1.5 }, RangeError, 'TensorBoard: everyBatches must be an integer >= 0, got 1.5'],
    [{ logDir: 'x', everyBatches: -1 }, RangeError, 'TensorBoard: everyBatches must be an integer >= 0, got -1'],
    [{ logDir: 'x', histograms: { every: 0 } }, TypeError, 'TensorBoard: histograms must be a boolean or { every: N } with N an integer >= 1'],
    [{ logDir: 'x', histograms: { every: 1.5 } }, TypeError, 'TensorBoard: histograms must be a boolean or { every: N } with N an integer >= 1'],
    [{ logDir: 'x', histograms: 2 }, TypeError, 'TensorBoard: histograms must be a boolean or { every: N } with N an integer >= 1'],
    [{ logDir: 'x', hparams: null }, TypeError, 'TensorBoard: hparams must be an object of numbers, strings and booleans'],
    [{ logDir: 'x', hparams: [1] }, TypeError, 'TensorBoard: hparams must be an object of numbers, strings and booleans'],
    [{ logDir: 'x', hparams: 'lr=1' }, TypeError, 'TensorBoard: hparams must be an object of numbers, strings and booleans'],
    [{ logDir: 'x', hparams: { lr: 0.1, layers: [1, 2] } }, TypeError, 'TensorBoard: hparams.layers must be a number, string or boolean, got object'],
  ];
  for (const [options, cls, message] of cases) assert.throws(() => new TensorBoard(options), { name: cls.name, message }, message);
  for (const ok of [{ logDir: 'x', histograms: true }, { logDir: 'x', histograms: { every: 1 } }, { logDir: 'x', histograms: { every: 3 } }, { logDir: 'x', everyBatches: 0, hparams: { a: 1, b: 'c', d: false } }])
    assert.ok(new TensorBoard(ok) instanceof TensorBoard);
});
