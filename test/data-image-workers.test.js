'use strict';
// ImageFolder's worker threads: the same batches with any number of workers, failing workers, early stops, no leaked threads.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const threads = require('node:worker_threads');
const sharp = require('sharp');
const tg = require('..');
const { picture } = require('./helpers/images');
const { TestToTensor, modulePath } = require('./helpers/image-transforms');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-workers-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Every Worker made while a test runs, to see that each one ended.
const made = [];
const RealWorker = threads.Worker;
threads.Worker = class extends RealWorker {
  constructor(...args) {
    super(...args);
    const rec = { exited: false };
    this.once('exit', () => (rec.exited = true));
    made.push(rec);
  }
};
test.after(() => (threads.Worker = RealWorker));

let root;
async function folder() {
  if (root) return root;
  root = fs.mkdtempSync(path.join(tmp, 'f-'));
  // widths 20..33: a test transform can fail on one image by its width
  for (let i = 0; i < 14; i++) {
    const w = 20 + i;
    const dir = path.join(root, ['ant', 'bee'][i % 2]);
    fs.mkdirSync(dir, { recursive: true });
    await sharp(picture(w, 18, i + 1), { raw: { width: w, height: 18, channels: 3 } }).png().toFile(path.join(dir, `${i}.png`));
  }
  return root;
}

async function epoch(loader) {
  const out = [];
  for await (const [x, y] of loader) {
    out.push({ x: Array.from(x.dataSync()), y: Array.from(y.dataSync(), Number), shape: x.shape });
    tg.dispose([x, y]);
  }
  return out;
}

const allExited = async () => {
  for (let i = 0; i < 100 && made.some((r) => !r.exited); i++) await new Promise((r) => setTimeout(r, 20));
  return made.every((r) => r.exited);
};

test('the same batches with 0, 1 or 2 workers; each epoch its own draws; the caller\'s random stream untouched', async () => {
  const ds = new tg.data.ImageFolder(await folder(), { transform: new TestToTensor({ random: true, size: 16 }), workerModules: [modulePath] });
  const runs = {};
  for (const workers of [0, 1, 2]) {
    tg.manualSeed(123);
    const loader = ds.loader({ batchSize: 4, shuffle: true, seed: 7, workers });
    runs[workers] = [await epoch(loader), await epoch(loader)];
    // reading did not advance or reseed the main thread's generator
    const after = tg.rand([3]).dataSync();
    tg.manualSeed(123);
    assert.deepStrictEqual(Array.from(after), Array.from(tg.rand([3]).dataSync()), `workers ${workers}`);
  }
  assert.deepStrictEqual(runs[1], runs[0]);
  assert.deepStrictEqual(runs[2], runs[0]);
  const [e0, e1] = runs[0];
  assert.deepStrictEqual(e0.map((b) => b.shape), [[4, 3, 16, 16], [4, 3, 16, 16], [4, 3, 16, 16], [2, 3, 16, 16]]);
  assert.notDeepStrictEqual(e0, e1, 'another epoch, another order and other draws');
  // a plain function as transform runs on the main thread, under the same seeds
  const fn = new TestToTensor({ random: true, size: 16 });
  const byFn = new tg.data.ImageFolder(root, { transform: (img) => fn.apply(img) });
  const loader = byFn.loader({ batchSize: 4, shuffle: true, seed: 7, workers: 2 });
  assert.deepStrictEqual(await epoch(loader), e0);
  assert.ok(await allExited(), 'every worker thread ended with its epoch');
});

test('a transform that throws rejects the epoch with ERR_DATA_WORKER naming the file; the next epoch runs', async () => {
  const ds = new tg.data.ImageFolder(await folder(), { transform: new TestToTensor({ size: 16, throwOn: 25 }), workerModules: [modulePath] });
  for (const workers of [0, 2])
    await assert.rejects(epoch(ds.loader({ batchSize: 4, workers })), (e) => e.code === 'ERR_DATA_WORKER' && e.message.includes('5.png') && /refuses width 25/.test(e.message));
  const ok = new tg.data.ImageFolder(root, { transform: new TestToTensor({ size: 16 }), workerModules: [modulePath] });
  assert.strictEqual((await epoch(ok.loader({ batchSize: 7 }))).length, 2);
  assert.ok(await allExited());
});

test('a worker that exits, a module that does not load, an unregistered transform: ERR_DATA_WORKER, never a hang', async () => {
  const exits = new tg.data.ImageFolder(await folder(), { transform: new TestToTensor({ size: 16, exitOn: 30 }), workerModules: [modulePath] });
  await assert.rejects(epoch(exits.loader({ batchSize: 2, workers: 2 })), (e) => e.code === 'ERR_DATA_WORKER' && /exited \(code 7\)/.test(e.message));
  const badModule = new tg.data.ImageFolder(root, { transform: new TestToTensor(), workerModules: [path.join(tmp, 'missing-module.js')] });
  await assert.rejects(epoch(badModule.loader({ batchSize: 2 })), (e) => e.code === 'ERR_DATA_WORKER' && /could not start/.test(e.message) && e.message.includes('missing-module'));
  const unregistered = new tg.data.ImageFolder(root, { transform: { apply: (x) => x, toJSON: () => ({ name: 'NotRegisteredAnywhere' }) } });
  await assert.rejects(epoch(unregistered.loader({ batchSize: 2 })), (e) => e.code === 'ERR_DATA_WORKER' && /NotRegisteredAnywhere/.test(e.message));
  const throwingModule = path.join(tmp, 'throws.js');
  fs.writeFileSync(throwingModule, "throw new Error('this module refuses to load');\n");
  const bad2 = new tg.data.ImageFolder(root, { transform: new TestToTensor(), workerModules: [throwingModule] });
  await assert.rejects(epoch(bad2.loader({ batchSize: 2 })), (e) => e.code === 'ERR_DATA_WORKER' && /refuses to load/.test(e.message));
  assert.ok(await allExited());
});

test('breaking out of for await stops the workers; DataLoader options are checked', async () => {
  const ds = new tg.data.ImageFolder(await folder(), { transform: new TestToTensor({ size: 16 }), workerModules: [modulePath] });
  const first = made.length;
  for await (const b of ds.loader({ batchSize: 2, workers: 2, prefetch: 3 })) {
    tg.dispose(b);
    break;
  }
  assert.strictEqual(made.length - first, 2);
  assert.ok(made.slice(first).every((r) => r.exited), 'both workers ended when the loop was left');
  assert.throws(() => ds.loader({ workers: -1 }), RangeError);
  assert.throws(() => ds.loader({ prefetch: 0 }), RangeError);
  const t = new tg.data.TensorDataset(tg.zeros([4, 2]), tg.zeros([4]));
  assert.throws(() => new tg.data.DataLoader(t, { workers: 2 }), TypeError);
  tg.dispose(t.tensors);
  // uint8 images without a transform, collated by a custom collate on the main thread
  const raw = new tg.data.ImageFolder(root);
  const sizes = [];
  for await (const [x, y] of raw.loader({ batchSize: 3, workers: 1, collate: (ex) => [tg.tensor(ex.map((e) => e[0].shape[2])), tg.tensor(ex.map((e) => e[1]))] })) {
    sizes.push(...Array.from(x.dataSync(), Number));
    tg.dispose([x, y]);
  }
  assert.deepStrictEqual(sizes.sort((a, b) => a - b), Array.from({ length: 14 }, (_, i) => 20 + i));
});

test('persistentWorkers keeps the same workers from one epoch to the next, with the same batches; close() ends them', async () => {
  const ds = new tg.data.ImageFolder(await folder(), { transform: new TestToTensor({ random: true, size: 16 }), workerModules: [modulePath] });
  const fresh = ds.loader({ batchSize: 4, shuffle: true, seed: 9, workers: 2 });
  const want = [await epoch(fresh), await epoch(fresh)];
  const first = made.length;
  const kept = ds.loader({ batchSize: 4, shuffle: true, seed: 9, workers: 2, persistentWorkers: true });
  assert.deepStrictEqual([await epoch(kept), await epoch(kept)], want);
  assert.strictEqual(made.length - first, 2, 'two workers for both epochs');
  assert.ok(made.slice(first).every((r) => !r.exited), 'still there between epochs');
  await kept.close();
  assert.ok(await allExited(), 'close() ended them');
  assert.throws(() => ds.loader({ persistentWorkers: 'yes' }), TypeError);
});
