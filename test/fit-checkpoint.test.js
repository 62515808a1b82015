'use strict';
// ModelCheckpoint and fit({ resumeFrom }) in one process: which files are written and kept, a failed write that
// leaves the earlier checkpoints as they were, the signal handlers' lifetime, and every bad resume as one coded error.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { ModelCheckpoint } = require('../dist/train');

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fitckpt-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => path.join(root, `run-${counter++}`);
const latest = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'latest.json'), 'utf8'));
const hexOf = (t) => Buffer.from(t.contiguous().dataSync().buffer).toString('hex');
const weightsOf = (net) => Object.fromEntries(Object.entries(net.stateDict()).map(([k, t]) => [k, hexOf(t)]));

function setup({ hidden = 8, optimizer = 'SGD', groups = 1, extra = false } = {}) {
  tg.manualSeed(3);
  const X = tg.randn([32, 4]);
  const Y = tg.randint(0, 2, [32]);
  const net = new tg.nn.Sequential({ fc1: new tg.nn.Linear(4, hidden), act: new tg.nn.ReLU(), fc2: new tg.nn.Linear(hidden, 2), ...(extra ? { extra: new tg.nn.Linear(2, 2) } : {}) });
  const params = groups === 1 ? net.parameters() : [{ params: net.parameters(/^fc1\./) }, { params: net.parameters(/^fc2\./) }];
  const opt = optimizer === 'SGD' ? new tg.optim.SGD(params, { lr: 0.1, momentum: 0.9 }) : new tg.optim.Adam(params, { lr: 0.01 });
  return { X, Y, net, opt, data: [X, Y] };
}
const fitOpts = (s, extra) => ({ batchSize: 8, seed: 5, optimizer: s.opt, loss: 'crossEntropy', verbose: 0, ...extra });

test('ModelCheckpoint writes every `every` epochs, keeps the last keepLast, never deletes best, and points latest.json at the newest', async () => {
  const dir = freshDir();
  const s = setup();
  // val_loss scripted so that the best epoch is 1: best.ckpt must survive pruning of epoch 1's periodic file.
  const script = [0.5, 0.1, 0.7, 0.9, 0.8, 0.6];
  const ckpt = new ModelCheckpoint({ dir, keepLast: 2 });
  const seen = [];
  const h = await tg.fit(s.net, s.data, fitOpts(s, {
    epochs: 6,
    callbacks: [ckpt, { onEpochEnd: (e, logs) => { logs.val_loss = script[e]; seen.push(e); } }],
  }));
  assert.strictEqual(h.length, 6);
  assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['best.ckpt', 'epoch-0004.ckpt', 'epoch-0005.ckpt', 'latest.json']);
  assert.deepStrictEqual(latest(dir), { version: 1, file: 'epoch-0005.ckpt', epoch: 5 });
  assert.strictEqual(ckpt.best, 0.1);
  assert.strictEqual(ckpt.bestEpoch, 1);
  const best = await tg.io.loadCheckpoint(path.join(dir, 'best.ckpt'), { restoreRng: false });
  assert.strictEqual(best.epoch, 1);
  assert.strictEqual(best.extra.fit.best.monitor, 'val_loss');
  // every: 2 writes after epochs 1 and 3 only; 'max' keeps the highest value
  const dir2 = freshDir();
  const c2 = new ModelCheckpoint({ dir: dir2, every: 2, monitor: 'score', mode: 'max', saveBest: true, filename: 'run-{epoch}.tg' });
  const scores = [3, 1, 2, 5];
  await tg.fit(s.net, s.data, fitOpts(s, { epochs: 4, callbacks: [c2, { onEpochEnd: (e, logs) => { logs.score = scores[e]; } }] }));
  assert.deepStrictEqual(fs.readdirSync(dir2).sort(), ['best.ckpt', 'latest.json', 'run-0001.tg', 'run-0003.tg']);
  assert.strictEqual(c2.bestEpoch, 3);
});

test('a checkpoint that cannot be written rejects fit with ERR_IO and leaves the earlier checkpoints and latest.json intact', async () => {
  const dir = freshDir();
  const s = setup();
  // A folder where epoch 2's file must go: the rename fails even for root (a read-only folder would not stop root).
  fs.mkdirSync(path.join(dir, 'epoch-0002.ckpt'), { recursive: true });
  const listeners = process.listenerCount('SIGTERM'); // a host (a test runner, an app) may listen too
  await assert.rejects(
    tg.fit(s.net, s.data, fitOpts(s, { epochs: 4, callbacks: [new ModelCheckpoint({ dir, keepLast: 1 })] })),
    (e) => e.code === 'ERR_IO' && e.message.includes('epoch-0002.ckpt'),
  );
  assert.deepStrictEqual(latest(dir), { version: 1, file: 'epoch-0001.ckpt', epoch: 1 });
  const names = fs.readdirSync(dir).sort();
  assert.deepStrictEqual(names, ['best.ckpt', 'epoch-0001.ckpt', 'epoch-0002.ckpt', 'latest.json']); // no temporaries left
  assert.ok(fs.statSync(path.join(dir, 'epoch-0002.ckpt')).isDirectory());
  const info = await tg.io.loadCheckpoint(path.join(dir, 'epoch-0001.ckpt'), { restoreRng: false });
  assert.strictEqual(info.epoch, 1);
  assert.strictEqual(process.listenerCount('SIGTERM'), listeners, 'handlers removed after a failed fit');
});

test('SIGINT and SIGTERM handlers exist only during a fit with a ModelCheckpoint', async () => {
  const before = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
  const s = setup();
  const during = [];
  const probe = { onEpochBegin: () => during.push([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]) };
  await tg.fit(s.net, s.data, fitOpts(s, { epochs: 1, callbacks: [new ModelCheckpoint({ dir: freshDir() }), probe] }));
  assert.deepStrictEqual(during, [[before[0] + 1, before[1] + 1]]);
  assert.deepStrictEqual([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], before);
  during.length = 0;
  await tg.fit(s.net, s.data, fitOpts(s, { epochs: 1, callbacks: [probe] }));
  assert.deepStrictEqual(during, [before], 'no handlers without a ModelCheckpoint');
  const boom = { onEpochEnd: () => { throw new RangeError('boom'); } };
  await assert.rejects(tg.fit(s.net, s.data, fitOpts(s, { epochs: 2, callbacks: [new ModelCheckpoint({ dir: freshDir() }), boom] })), /boom/);
  assert.deepStrictEqual([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')], before, 'removed after a fit that threw');
});

test('resumeFrom restores weights, optimizer, history and best, and runs the remaining epochs of the interrupted call', async () => {
  const dir = freshDir();
  const full = setup();
  const hFull = await tg.fit(full.net, full.data, fitOpts(full, { epochs: 4 }));
  const a = setup();
  await tg.fit(a.net, a.data, fitOpts(a, { epochs: 4, callbacks: [new ModelCheckpoint({ dir }), { onEpochEnd: (e, l, ctx) => e === 1 && ctx.stop('test') }] }));
  const b = setup();
  const ckpt = new ModelCheckpoint({ dir });
  const epochs = [];
  const h = await tg.fit(b.net, b.data, fitOpts(b, { epochs: 4, resumeFrom: dir, callbacks: [ckpt, { onEpochBegin: (e) => epochs.push(e) }] }));
  assert.deepStrictEqual(epochs, [2, 3]);
  assert.deepStrictEqual(weightsOf(b.net), weightsOf(full.net));
  const strip = (hist) => hist.epochs.map(({ time, ...r }) => r); // eslint-disable-line no-unused-vars
  assert.deepStrictEqual(strip(h), strip(hFull));
  assert.strictEqual(h.stopped, null);
  assert.strictEqual(ckpt.bestEpoch, hFull.epochs.reduce((bi, e, i, all) => (e.loss < all[bi].loss ? i : bi), 0));
  // resuming a finished run trains nothing more
  const c = setup();
  const again = [];
  await tg.fit(c.net, c.data, fitOpts(c, { epochs: 4, resumeFrom: path.join(dir, 'epoch-0003.ckpt'), callbacks: [{ onEpochBegin: (e) => again.push(e) }] }));
  assert.deepStrictEqual(again, []);
  assert.deepStrictEqual(weightsOf(c.net), weightsOf(full.net));
});

test('a run that began at initialEpoch 3, resumed twice, keeps its first epoch and its end in every checkpoint', async () => {
  const dir = freshDir();
  const stopAfter = (last) => ({ onEpochEnd: (e, l, ctx) => e === last && ctx.stop('test') });
  const a = setup();
  await tg.fit(a.net, a.data, fitOpts(a, { initialEpoch: 3, epochs: 4, callbacks: [new ModelCheckpoint({ dir }), stopAfter(3)] }));
  const b = setup();
  await tg.fit(b.net, b.data, fitOpts(b, { epochs: 4, resumeFrom: dir, callbacks: [new ModelCheckpoint({ dir }), stopAfter(4)] }));
  const c = setup();
  const epochs = [];
  await tg.fit(c.net, c.data, fitOpts(c, { epochs: 4, resumeFrom: dir, callbacks: [new ModelCheckpoint({ dir }), { onEpochBegin: (e) => epochs.push(e) }] }));
  assert.deepStrictEqual(epochs, [5, 6], 'the run of epochs 3..6 finished where the first call would have');
  for (const [file, epoch] of [['epoch-0003.ckpt', 3], ['epoch-0004.ckpt', 4], ['epoch-0006.ckpt', 6]]) {
    const info = await tg.io.loadCheckpoint(path.join(dir, file), { restoreRng: false });
    assert.deepStrictEqual([info.epoch, info.extra.fit.runStart, info.extra.fit.endEpoch], [epoch, 3, 7], file);
  }
});

test('resumeFrom a folder without a checkpoint: ERR_CHECKPOINT, or a fresh start with ifMissing: startFresh', async () => {
  const dir = freshDir();
  const s = setup();
  await assert.rejects(tg.fit(s.net, s.data, fitOpts(s, { resumeFrom: dir })), (e) => e.code === 'ERR_CHECKPOINT' && /no checkpoint in/.test(e.message) && /startFresh/.test(e.message));
  fs.mkdirSync(dir);
  await assert.rejects(tg.fit(s.net, s.data, fitOpts(s, { resumeFrom: dir })), (e) => e.code === 'ERR_CHECKPOINT');
  const h = await tg.fit(s.net, s.data, fitOpts(s, { epochs: 2, resumeFrom: { path: dir, ifMissing: 'startFresh' } }));
  assert.deepStrictEqual(h.epochs.map((e) => e.epoch), [0, 1]);
  // a pointer to a file that is gone never means "start over"
  fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify({ version: 1, file: 'epoch-0009.ckpt', epoch: 9 }));
  await assert.rejects(tg.fit(s.net, s.data, fitOpts(s, { resumeFrom: { path: dir, ifMissing: 'startFresh' } })), (e) => e.code === 'ERR_CHECKPOINT' && e.message.includes('epoch-0009.ckpt'));
  await assert.rejects(tg.fit(s.net, s.data, fitOpts(s, { resumeFrom: dir, initialEpoch: 2 })), TypeError);
  await assert.rejects(tg.fit(s.net, s.data, fitOpts(s, { resumeFrom: { path: dir, ifMisssing: 'startFresh' } })), /unknown option 'ifMisssing' \(did you mean 'ifMissing'\?\)/);
  // a checkpoint that tg.io.saveCheckpoint wrote by hand has no fit state
  const plain = path.join(dir, 'plain.ckpt');
  await tg.io.saveCheckpoint(plain, { model: s.net, optimizer: s.opt, epoch: 0 });
  await assert.rejects(tg.fit(s.net, s.data, fitOpts(s, { resumeFrom: plain })), (e) => e.code === 'ERR_CHECKPOINT' && /ModelCheckpoint/.test(e.message));
});

test('a checkpoint of another architecture or optimizer: one ERR_CHECKPOINT_MISMATCH listing every difference, nothing changed', async () => {
  const dir = freshDir();
  const s = setup();
  await tg.fit(s.net, s.data, fitOpts(s, { epochs: 1, callbacks: [new ModelCheckpoint({ dir })] }));
  const other = setup({ hidden: 6, optimizer: 'Adam', groups: 2, extra: true });
  const before = weightsOf(other.net);
  await assert.rejects(tg.fit(other.net, other.data, fitOpts(other, { resumeFrom: dir })), (e) => {
    assert.strictEqual(e.code, 'ERR_CHECKPOINT_MISMATCH');
    assert.match(e.message, /missing from the checkpoint: extra\.weight, extra\.bias/);
    assert.match(e.message, /'fc1\.weight' is \[8, 4\] in the checkpoint, \[6, 4\] in the model/);
    assert.match(e.message, /'fc2\.weight' is \[2, 8\] in the checkpoint, \[2, 6\] in the model/);
    assert.match(e.message, /holds a SGD's state, the optimizer is a Adam/);
    assert.match(e.message, /1 parameter group\(s\), the optimizer 2/);
    return true;
  });
  assert.deepStrictEqual(weightsOf(other.net), before);
  // a model lacking layers the checkpoint has: the unexpected names are listed
  const small = setup();
  small.net.drop('fc2');
  await assert.rejects(tg.fit(small.net, [small.X, small.Y], fitOpts(small, { loss: (o) => o.sum(), resumeFrom: dir })), (e) => e.code === 'ERR_CHECKPOINT_MISMATCH' && /in the checkpoint but not in the model: fc2\.weight, fc2\.bias/.test(e.message));
  // a scheduler in the checkpoint that the resumed run does not carry, and another shuffling seed
  const dir2 = freshDir();
  const t = setup();
  const sched = new tg.optim.StepLR(t.opt, { stepSize: 1 });
  await tg.fit(t.net, t.data, fitOpts(t, { epochs: 1, callbacks: [new ModelCheckpoint({ dir: dir2, scheduler: sched })] }));
  const u = setup();
  await assert.rejects(tg.fit(u.net, u.data, fitOpts(u, { seed: 6, resumeFrom: dir2 })), (e) => e.code === 'ERR_CHECKPOINT_MISMATCH' && /holds a StepLR's state/.test(e.message) && /shuffling seed is 6, the checkpoint's 5/.test(e.message));
});

test('a corrupt or truncated checkpoint is a coded error and no checkpoint file is touched', async () => {
  const dir = freshDir();
  const s = setup();
  await tg.fit(s.net, s.data, fitOpts(s, { epochs: 2, callbacks: [new ModelCheckpoint({ dir })] }));
  const f = path.join(dir, 'epoch-0001.ckpt');
  const whole = fs.readFileSync(f);
  fs.writeFileSync(f, whole.subarray(0, whole.length - 100));
  const snapshot = () => Object.fromEntries(fs.readdirSync(dir).map((n) => [n, fs.readFileSync(path.join(dir, n)).toString('hex')]));
  const before = snapshot();
  await assert.rejects(tg.fit(s.net, s.data, fitOpts(s, { resumeFrom: dir })), (e) => e instanceof tg.TorchError && e.code === 'ERR_SAFETENSORS_TRUNCATED');
  const garbage = Buffer.from(whole);
  garbage.fill(0x7b, 8, 40); // the JSON header destroyed
  fs.writeFileSync(f, garbage);
  await assert.rejects(tg.fit(s.net, s.data, fitOpts(s, { resumeFrom: dir })), (e) => e instanceof tg.TorchError && /^ERR_SAFETENSORS/.test(e.code));
  fs.writeFileSync(path.join(dir, 'latest.json'), '{"file": ');
  await assert.rejects(tg.fit(s.net, s.data, fitOpts(s, { resumeFrom: dir })), (e) => e.code === 'ERR_CHECKPOINT' && /not valid JSON/.test(e.message));
  const after = snapshot();
  delete before['epoch-0001.ckpt'];
  delete before['latest.json'];
  delete after['epoch-0001.ckpt'];
  delete after['latest.json'];
  assert.deepStrictEqual(after, before);
  // the earlier checkpoint still resumes
  const t = setup();
  const h = await tg.fit(t.net, t.data, fitOpts(t, { epochs: 2, resumeFrom: path.join(dir, 'epoch-0000.ckpt') }));
  assert.deepStrictEqual(h.epochs.map((e) => e.epoch), [0, 1]);
});

test('ModelCheckpoint options are checked', () => {
  assert.throws(() => new ModelCheckpoint(), TypeError);
  assert.throws(() => new ModelCheckpoint({}), /dir must be/);
  assert.throws(() => new ModelCheckpoint({ dir: 'x', every: 0 }), RangeError);
  assert.throws(() => new ModelCheckpoint({ dir: 'x', keepLast: 1.5 }), RangeError);
  assert.throws(() => new ModelCheckpoint({ dir: 'x', mode: 'up' }), TypeError);
  assert.throws(() => new ModelCheckpoint({ dir: 'x', filename: 'a/{epoch}.ckpt' }), TypeError);
  assert.throws(() => new ModelCheckpoint({ dir: 'x', filename: 'same.ckpt' }), /\{epoch\}/);
  assert.throws(() => new ModelCheckpoint({ dir: 'x', keeplast: 2 }), /unknown option 'keeplast' \(did you mean 'keepLast'\?\)/);
  assert.throws(() => new ModelCheckpoint({ dir: 'x', scheduler: {} }), TypeError);
});

test('an unknown monitored key is ERR_MISSING_METRIC naming the keys there are', async () => {
  const s = setup();
  await assert.rejects(
    tg.fit(s.net, s.data, fitOpts(s, { callbacks: [new ModelCheckpoint({ dir: freshDir(), monitor: 'val_acc' })] })),
    (e) => e.code === 'ERR_MISSING_METRIC' && /loss/.test(e.message) && /validation/.test(e.message),
  );
});
