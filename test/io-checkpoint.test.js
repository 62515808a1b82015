'use strict';
// Checkpoints: everything a run needs round-trips exactly, a run stopped and resumed in a fresh process ends with
// the same weights bit for bit, and a process killed while writing leaves the previous checkpoint readable.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');
const tg = require('..');
const { CUDA_SKIP } = require('./helpers/cuda');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-ckpt-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const file = (name = 'run') => path.join(dir, `${name}-${counter++}.ckpt`);
const bytesOf = (t) => Buffer.from(t.detach().contiguous().dataSync().buffer);
const HELPERS = path.join(__dirname, 'helpers');

function makeRun(seed) {
  tg.manualSeed(seed);
  const net = new tg.nn.Sequential({
    fc1: new tg.nn.Linear(4, 8),
    bn: new tg.nn.BatchNorm1d(8),
    drop: new tg.nn.Dropout(0.5),
    fc2: new tg.nn.Linear(8, 2),
  });
  const opt = new tg.optim.Adam(
    [
      { params: net.parameters(/^fc1\./), lr: 0.01 },
      { params: net.parameters(/^(bn|fc2)\./), lr: 0.001, weightDecay: 0.1 },
    ],
    { betas: [0.8, 0.9] },
  );
  const plateau = new tg.optim.ReduceLROnPlateau(opt, { patience: 1 });
  return { net, opt, plateau };
}

function trainSteps({ net, opt }, n) {
  net.train();
  for (let i = 0; i < n; i++) {
    tg.tidy(() => {
      opt.zeroGrad();
      const x = tg.randn([6, 4]);
      net.call(x).square().mean().backward();
      opt.step();
    });
  }
}

function assertSameStateDict(a, b, what) {
  assert.deepStrictEqual(Object.keys(a), Object.keys(b), `${what}: keys`);
  for (const k of Object.keys(a)) assert.ok(bytesOf(a[k]).equals(bytesOf(b[k])), `${what}: ${k} differs`);
}

test('a checkpoint restores model, optimizer, scheduler, epoch, extra and the random generator exactly', async () => {
  const run = makeRun(1);
  trainSteps(run, 3);
  run.plateau.step(0.5); // best becomes 0.5; before, it was Infinity
  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(tg.zeros([10, 1])), { batchSize: 3, shuffle: true, seed: 9 });
  loader.setEpoch(4);
  const marker = tg.tensor([1.5, -2]);
  const f = file();
  const extra = { step: 3, note: 'warm-up done', nested: { list: [1, null, true], inf: -Infinity, $dollar: 'kept' }, marker };
  await tg.io.saveCheckpoint(f, { model: run.net, optimizer: run.opt, scheduler: run.plateau, loader, epoch: 7, extra });
  const expectedNext = tg.rand([5]); // what the generator gives right after the save

  const fresh = makeRun(2);
  const loader2 = new tg.data.DataLoader(new tg.data.TensorDataset(tg.zeros([10, 1])), { batchSize: 3, shuffle: true, seed: 9 });
  const info = await tg.io.loadCheckpoint(f, { model: fresh.net, optimizer: fresh.opt, scheduler: fresh.plateau, loader: loader2 });
  assert.strictEqual(info.epoch, 7);
  assert.deepStrictEqual({ ...info.extra, marker: undefined }, { ...extra, marker: undefined });
  assert.deepStrictEqual(Array.from(info.extra.marker.dataSync()), [1.5, -2]);
  assert.strictEqual(loader2.epoch, 4);
  assert.ok(bytesOf(tg.rand([5])).equals(bytesOf(expectedNext)), 'the CPU generator continues where it was saved');
  assertSameStateDict(fresh.net.stateDict(), run.net.stateDict(), 'model');
  const [sa, sb] = [run.opt.stateDict(), fresh.opt.stateDict()];
  assert.deepStrictEqual(sb.paramGroups, sa.paramGroups);
  assert.deepStrictEqual(Object.keys(sb.state), Object.keys(sa.state));
  for (const [name, s] of Object.entries(sa.state)) {
    for (const [k, v] of Object.entries(s)) {
      if (typeof v === 'number') assert.strictEqual(sb.state[name][k], v);
      else assert.ok(bytesOf(v).equals(bytesOf(sb.state[name][k])), `optimizer ${name}.${k}`);
    }
  }
  assert.deepStrictEqual(fresh.plateau.stateDict(), run.plateau.stateDict());
  // Both continue identically.
  tg.manualSeed(5);
  trainSteps(run, 2);
  tg.manualSeed(5);
  trainSteps(fresh, 2);
  assertSameStateDict(fresh.net.stateDict(), run.net.stateDict(), 'after two more steps');
  tg.dispose([marker, info.extra.marker, expectedNext, sa, sb]);
});

test('Infinity in a scheduler state and a model without optimizer round-trip', async () => {
  const run = makeRun(3);
  assert.strictEqual(run.plateau.best, Infinity);
  const f = file();
  await tg.io.saveCheckpoint(f, { model: run.net, scheduler: run.plateau });
  const fresh = makeRun(4);
  fresh.plateau.best = 0;
  const info = await tg.io.loadCheckpoint(f, { model: fresh.net, scheduler: fresh.plateau });
  assert.strictEqual(fresh.plateau.best, Infinity);
  assert.strictEqual(info.epoch, undefined);
  assert.strictEqual(info.extra, undefined);
  assert.deepStrictEqual(info.cudaRngStates.saved, tg.cuda.isAvailable() ? tg.cuda.deviceCount() : 0);
  await assert.rejects(tg.io.loadCheckpoint(f, { optimizer: fresh.opt }), (e) => e.code === 'ERR_CHECKPOINT' && /no optimizer state/.test(e.message) && e.message.includes(f));
});

test('loading refuses what is not a checkpoint of this run, naming the file', async () => {
  const run = makeRun(5);
  const plain = path.join(dir, 'weights.safetensors');
  await tg.io.save(run.net.stateDict(), plain);
  await assert.rejects(tg.io.loadCheckpoint(plain, { model: run.net }), (e) => e instanceof tg.TorchError && e.code === 'ERR_CHECKPOINT' && e.message.includes(plain));

  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(tg.zeros([4, 1])), { shuffle: true, seed: 1 });
  const f = file();
  await tg.io.saveCheckpoint(f, { model: run.net, loader });
  const other = new tg.data.DataLoader(new tg.data.TensorDataset(tg.zeros([4, 1])), { shuffle: true, seed: 2 });
  await assert.rejects(tg.io.loadCheckpoint(f, { loader: other }), (e) => e.code === 'ERR_CHECKPOINT' && /seed/.test(e.message));

  const bytes = fs.readFileSync(f);
  const cut = file('cut');
  fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
  await assert.rejects(tg.io.loadCheckpoint(cut, { model: run.net }), (e) => e instanceof tg.TorchError && e.message.includes(cut));

  const wrongModel = new tg.nn.Linear(3, 3);
  await assert.rejects(tg.io.loadCheckpoint(f, { model: wrongModel }), (e) => e instanceof tg.TorchError && e.code === 'ERR_STATE_DICT');
  await assert.rejects(tg.io.saveCheckpoint(file(), { model: run.net, extra: { fn: () => 1 } }), (e) => e instanceof TypeError && /extra\.fn/.test(e.message));
  await assert.rejects(tg.io.saveCheckpoint(file(), { model: {} }), TypeError);
});

test('training stopped at step k and resumed in a fresh process ends with bitwise the same weights as an unbroken run', async () => {
  const run = (...args) => execFileSync(process.execPath, [path.join(HELPERS, 'resume-run.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const full = path.join(dir, 'full.safetensors');
  run('full', full);
  const expected = await tg.io.load(full);
  // Mid-epoch (step 7 of 5 per epoch) and at an epoch boundary (step 10).
  for (const k of [7, 10]) {
    const ckpt = path.join(dir, `stop-${k}.ckpt`);
    const resumed = path.join(dir, `resumed-${k}.safetensors`);
    run('stop', ckpt, String(k));
    run('resume', ckpt, resumed);
    const got = await tg.io.load(resumed);
    assertSameStateDict(got, expected, `resumed at step ${k}`);
    tg.dispose(got);
  }
  tg.dispose(expected);
});

test('a process killed (SIGKILL) while writing a checkpoint leaves the previous checkpoint readable', async () => {
  const ckpt = path.join(dir, 'killed.ckpt');
  const child = spawn(process.execPath, [path.join(HELPERS, 'checkpoint-writer.js'), ckpt], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const temporaries = () => fs.readdirSync(dir).filter((f) => f.startsWith('killed.ckpt.tmp-'));
  const deadline = Date.now() + 120000;
  let killedMidWrite = false;
  while (Date.now() < deadline) {
    // After the first complete checkpoint, kill as soon as the next one's temporary file has started to grow.
    const tmps = out.includes('SAVED 1') ? temporaries() : [];
    if (tmps.length && fs.statSync(path.join(dir, tmps[0]), { throwIfNoEntry: false })?.size > 0) {
      child.kill('SIGKILL');
      killedMidWrite = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  if (!killedMidWrite) child.kill('SIGKILL');
  const { signal } = await exited;
  assert.ok(killedMidWrite, 'the child should be caught mid-write');
  assert.strictEqual(signal, 'SIGKILL');
  const saved = [...out.matchAll(/SAVED (\d+)/g)].map((m) => Number(m[1]));
  const net = new tg.nn.Sequential({ a: new tg.nn.Linear(2048, 2048), b: new tg.nn.Linear(2048, 2048) });
  const info = await tg.io.loadCheckpoint(ckpt, { model: net, restoreRng: false });
  assert.ok(info.epoch >= saved[saved.length - 1], `epoch ${info.epoch} is a complete checkpoint (last reported ${saved[saved.length - 1]})`);
  for (const p of net.parameters()) {
    const [lo, hi] = [p.min().item(), p.max().item()];
    assert.strictEqual(lo, info.epoch);
    assert.strictEqual(hi, info.epoch);
  }
  net.dispose();
});

test('the CUDA generators are saved and restored, one per device', { skip: CUDA_SKIP }, async () => {
  const run = makeRun(6);
  const f = file();
  await tg.io.saveCheckpoint(f, { model: run.net });
  const expected = tg.rand([5], { device: 'cuda' }).cpu();
  const info = await tg.io.loadCheckpoint(f, { model: run.net });
  assert.deepStrictEqual(info.cudaRngStates, { saved: tg.cuda.deviceCount(), restored: tg.cuda.deviceCount() });
  assert.ok(bytesOf(tg.rand([5], { device: 'cuda' }).cpu()).equals(bytesOf(expected)));
});
