'use strict';
// The fine-tuning recipes' options (lib/transfer/recipes): every refusal with its message, before anything is frozen,
// and the options that change what runs: stages from step, a disk cache's options reaching cacheFeatures, the
// ProgressiveUnfreezing callback's monitor, patience and minDelta (mutation testing found these paths unchecked).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');

function model() {
  tg.manualSeed(8);
  const pre = new tg.nn.Sequential({ l1: new tg.nn.Linear(4, 6), a1: new tg.nn.ReLU(), l2: new tg.nn.Linear(6, 6), a2: new tg.nn.ReLU(), l3: new tg.nn.Linear(6, 6), a3: new tg.nn.ReLU() });
  return tg.transfer.reuse(pre, { head: { out: new tg.nn.Linear(6, 3) } });
}
const data = () => {
  tg.manualSeed(9);
  return [tg.randn([24, 4]), tg.randint(0, 3, [24])];
};
const quiet = { verbose: 0 };
const rejectsWith = (p, Type, re) => assert.rejects(p, (e) => e instanceof Type && re.test(e.message), `${Type.name} matching ${re}`);
const refuses = (fn, Type, re) => assert.throws(fn, (e) => e instanceof Type && re.test(e.message), `${Type.name} matching ${re}`);

test('fineTune refuses bad options with messages naming them, and freezes nothing then', async () => {
  const m = model();
  const d = data();
  for (const bad of [null, 5]) await rejectsWith(tg.transfer.fineTune(m, d, bad), TypeError, /^fineTune: expected options with at least \{ loss \}$/);
  for (const baseLr of [0, -1, 'x']) await rejectsWith(tg.transfer.fineTune(m, d, { loss: 'crossEntropy', baseLr }), RangeError, new RegExp(`^fineTune: baseLr must be a positive number, got ${baseLr}$`));
  await rejectsWith(tg.transfer.fineTune(m, d, { loss: 'crossEntropy', epochs: 1.5 }), RangeError, /^fineTune: epochs must be a non-negative integer, got 1.5$/);
  // four layer groups (l1, l2, l3, out): unfreeze takes 1 to 4
  for (const unfreeze of [0, 1.5, 5]) await rejectsWith(tg.transfer.fineTune(m, d, { loss: 'crossEntropy', unfreeze }), RangeError, new RegExp(`^fineTune: unfreeze must be an integer from 1 to 4 \\(the layer groups\\), got ${unfreeze}$`));
  for (const [cache, got] of [['yes', 'yes'], [5, '5'], [null, 'null']]) await rejectsWith(tg.transfer.fineTune(m, d, { loss: 'crossEntropy', cache }), TypeError, new RegExp(`^fineTune: cache must be true, false or cacheFeatures' options, got ${got}$`));
  assert.ok(m.parameters().every((p) => p.requiresGrad), 'nothing frozen by a refused call');
  // phase 2's options are checked only when it runs
  await tg.transfer.fineTune(m, d, { loss: 'crossEntropy', epochs: 0, unfreeze: 9, ...quiet });
  await tg.transfer.fineTune(m, d, { loss: 'crossEntropy', epochs: 1, freezeEpochs: 0, unfreeze: 4, ...quiet });
});

test("fineTune's cache options reach cacheFeatures: a disk cache where asked, built in fit's batch size", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-finetune-cache-'));
  try {
    await tg.transfer.fineTune(model(), data(), { loss: 'crossEntropy', epochs: 0, batchSize: 8, cache: { store: 'disk', dir }, ...quiet });
    assert.ok(fs.readdirSync(dir).length > 0, 'the disk cache was written where asked');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('progressiveUnfreeze refuses bad options; stages follow step', async () => {
  const d = data();
  const m = model();
  for (const bad of [null, 5]) await rejectsWith(tg.transfer.progressiveUnfreeze(m, d, bad), TypeError, /^progressiveUnfreeze: expected options with at least \{ loss \}$/);
  await rejectsWith(tg.transfer.progressiveUnfreeze(m, d, {}), TypeError, /^progressiveUnfreeze: options.loss is required/);
  await rejectsWith(tg.transfer.progressiveUnfreeze(m, d, { loss: 'crossEntropy', callbacks: {} }), TypeError, /^progressiveUnfreeze: callbacks must be an array/);
  await rejectsWith(tg.transfer.progressiveUnfreeze(m, d, { loss: 'crossEntropy', step: 0 }), RangeError, /^progressiveUnfreeze: step must be an integer >= 1, got 0$/);
  for (const stages of [-1, 1.5]) await rejectsWith(tg.transfer.progressiveUnfreeze(m, d, { loss: 'crossEntropy', stages }), RangeError, new RegExp(`^progressiveUnfreeze: stages must be a non-negative integer, got ${stages}$`));
  assert.ok(m.parameters().every((p) => p.requiresGrad), 'nothing frozen by a refused call');
  // three base groups below the head, two a stage: stage 0 (head) and two more
  const h = await tg.transfer.progressiveUnfreeze(model(), d, { loss: 'crossEntropy', step: 2, ...quiet });
  assert.deepStrictEqual(h.epochs.map((e) => e.stage), [0, 1, 2]);
  const none = await tg.transfer.progressiveUnfreeze(model(), d, { loss: 'crossEntropy', stages: 0, ...quiet });
  assert.deepStrictEqual(none.epochs.map((e) => e.stage), [0]);
  // early stopping ends a stage, not the run; the last stage's stop is the run's
  const stopping = await tg.transfer.progressiveUnfreeze(model(), d, { loss: 'crossEntropy', epochsPerStage: 3, earlyStopping: { monitor: 'loss', patience: 1, minDelta: 1e9 }, ...quiet });
  assert.deepStrictEqual(stopping.epochs.map((e) => e.stage), [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.ok(stopping.stopped && stopping.stopped.epoch !== undefined, `the last stage's stop is kept (${JSON.stringify(stopping.stopped)})`);
});

test('discriminativeLrs and discriminativeGroups refuse bad counts and rates', () => {
  for (const k of [0, 1.5, -2]) refuses(() => tg.transfer.discriminativeLrs(k, { baseLr: 0.1 }), RangeError, new RegExp(`^discriminativeLrs: the number of groups must be a positive integer, got ${k}$`));
  for (const baseLr of [0, -0.1, Infinity, '1']) refuses(() => tg.transfer.discriminativeLrs(2, { baseLr }), RangeError, new RegExp(`^discriminativeLrs: baseLr must be a positive number, got ${baseLr}$`));
  for (const [k, v] of [['lrMult', 0], ['factor', -2], ['lrMult', Infinity], ['factor', 'x']]) {
    refuses(() => tg.transfer.discriminativeLrs(2, { baseLr: 0.1, [k]: v }), RangeError, new RegExp(`^discriminativeLrs: ${k} must be a positive number, got ${v}$`));
  }
  assert.deepStrictEqual(tg.transfer.discriminativeLrs(1, { baseLr: 0.1, lrMult: 100 }), [0.1]);
  assert.deepStrictEqual(tg.transfer.discriminativeLrs(3, { baseLr: 0.8, factor: 2 }), [0.2, 0.4, 0.8]);
  for (const bad of [null, 3]) refuses(() => tg.transfer.discriminativeGroups(model(), bad), TypeError, /^discriminativeGroups: expected options \{ baseLr, lrMult \| factor \}$/);
  refuses(() => tg.transfer.discriminativeGroups(model(), { baseLr: 0.1, groups: ['nope'] }), Error, /^discriminativeGroups: /);
});

test('ProgressiveUnfreezing: option checks, the monitored key, patience, minDelta, and a missing lr', async () => {
  refuses(() => new tg.transfer.ProgressiveUnfreezing(model(), { step: 0 }), RangeError, /^ProgressiveUnfreezing: step must be an integer >= 1, got 0$/);
  refuses(() => new tg.transfer.ProgressiveUnfreezing(model(), { patience: -1 }), RangeError, /^ProgressiveUnfreezing: patience must be an integer >= 0, got -1$/);
  refuses(() => new tg.transfer.ProgressiveUnfreezing(model(), { patience: 0.5 }), RangeError, /^ProgressiveUnfreezing: patience must be an integer >= 0, got 0.5$/);
  new tg.transfer.ProgressiveUnfreezing(model(), { patience: 0, step: 1 });

  // the callback driven by hand: 4 groups (l1, l2, l3, out), out trainable
  const m = model();
  m.freeze();
  m.unfreeze('out');
  const opt = new tg.optim.SGD(m.trainableParameters(), { lr: 0.1 });
  const ctx = { optimizer: opt };
  const cb = new tg.transfer.ProgressiveUnfreezing(m, { monitor: 'acc_loss', patience: 2, minDelta: 0.5 });
  cb.onTrainBegin(ctx);
  const epoch = (v) => {
    const logs = { loss: 0, acc_loss: v };
    cb.onEpochEnd(0, logs, ctx);
    return logs.unfrozen;
  };
  assert.strictEqual(epoch(10), 0);
  assert.strictEqual(epoch(9.5), 0, 'an improvement of exactly minDelta is no improvement: wait 1');
  assert.strictEqual(epoch(9.6), 1, 'no improvement on 10 by more than 0.5 for 2 epochs: l3 unfrozen');
  assert.strictEqual(epoch(5), 1);
  assert.throws(() => cb.onEpochEnd(0, { loss: 1 }, ctx), (e) => e.code === 'ERR_MISSING_METRIC' && e.message === "ProgressiveUnfreezing: the epoch logs have no 'acc_loss' (keys: loss)");
  opt.dispose();

  const bare = new tg.transfer.ProgressiveUnfreezing(model());
  const noLr = { optimizer: { step() {}, zeroGrad() {}, addParamGroup() {} } };
  assert.throws(() => bare.onTrainBegin(noLr), (e) => e instanceof TypeError && e.message === 'ProgressiveUnfreezing: give baseLr (the optimizer does not report a learning rate)');
  assert.throws(() => bare.onTrainBegin({ optimizer: { step() {}, zeroGrad() {}, paramGroups: [{ lr: 0.1 }] } }), (e) => e instanceof TypeError && e.message === "ProgressiveUnfreezing: the optimizer must support addParamGroup (tg.optim's do)");
});
