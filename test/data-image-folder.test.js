'use strict';
// tg.data.ImageFolder: the listing against torchvision.datasets.ImageFolder on the same folder, bad folders and files, fit.
const test = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const sharp = require('sharp');
const tg = require('..');
const { PYTHON, picture } = require('./helpers/images');
const { TestToTensor, modulePath } = require('./helpers/image-transforms');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-folder-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function hasTorchvision() {
  try {
    execFileSync(PYTHON, ['-c', 'import torchvision'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function writeImage(file, { w = 12, h = 10, seed = 1, format } = {}) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const ext = format ?? path.extname(file).slice(1).toLowerCase();
  const s = sharp(picture(w, h, seed), { raw: { width: w, height: h, channels: 3 } });
  const f = { jpg: 'jpeg', jpeg: 'jpeg', tif: 'tiff' }[ext] ?? ext;
  fs.writeFileSync(file, await s.toFormat(f).toBuffer());
}

let n = 0;
const newRoot = () => fs.mkdtempSync(path.join(tmp, `r${n++}-`));

test('ImageFolder lists classes, classToIdx, samples and targets as torchvision 0.14 does', { skip: !hasTorchvision() && 'no torchvision' }, async () => {
  const root = newRoot();
  const files = ['b_class/z.png', 'b_class/a.jpg', 'b_class/A2.PNG', 'b_class/sub/c.png', 'b_class/sub2/deeper/d.webp', 'b_class/sub-x/e.jpeg',
    'a_class/x.jpg', 'a_class/y.tiff', 'a_class/y.tif', 'Z_upper/q.png', 'b_class/notes.txt.png.bak'];
  for (const [i, f] of files.entries()) await writeImage(path.join(root, f), { seed: i + 1, format: f.endsWith('.bak') ? 'png' : undefined });
  fs.writeFileSync(path.join(root, 'b_class', 'readme.txt'), 'not listed: no image extension');
  fs.writeFileSync(path.join(root, 'stray.jpg'), 'a file at the top is no class');
  const py = `
import json, sys, torchvision
ds = torchvision.datasets.ImageFolder(sys.argv[1], loader=lambda p: p)
print(json.dumps({'classes': ds.classes, 'class_to_idx': ds.class_to_idx, 'samples': ds.samples, 'targets': ds.targets}))`;
  const want = JSON.parse(execFileSync(PYTHON, ['-c', py, root], { encoding: 'utf8' }));
  const ds = new tg.data.ImageFolder(root);
  assert.deepStrictEqual(ds.classes, want.classes);
  assert.deepStrictEqual(ds.classToIdx, want.class_to_idx);
  assert.deepStrictEqual(ds.samples, want.samples);
  assert.deepStrictEqual(ds.targets, want.targets);
  assert.strictEqual(ds.length, 10);
  // an example without a transform: PIL's pixels as uint8 [C, H, W] (PILToTensor), label its class index
  const [x, y] = await ds.getItemAsync(3);
  const img = await tg.data.decodeImage(ds.samples[3][0]);
  assert.deepStrictEqual(x.shape, [3, img.height, img.width]);
  assert.strictEqual(x.dtype, 'uint8');
  const chw = x.dataSync();
  for (const [c, r, q] of [[0, 0, 0], [1, 2, 5], [2, img.height - 1, img.width - 1]])
    assert.strictEqual(chw[c * img.height * img.width + r * img.width + q], img.data[(r * img.width + q) * 3 + c]);
  assert.strictEqual(y, ds.targets[3]);
  x.dispose();
});

test('ImageFolder: hidden files and folders are skipped; links out of the root are not followed unless asked', async () => {
  const outside = newRoot();
  await writeImage(path.join(outside, 'secret.png'));
  await writeImage(path.join(outside, 'cls', 'o.png'));
  const root = newRoot();
  await writeImage(path.join(root, 'cat', 'a.png'));
  await writeImage(path.join(root, 'cat', '.hidden.png'));
  await writeImage(path.join(root, '.ipynb_checkpoints', 'b.png'));
  await writeImage(path.join(root, 'dog', 'b.png'));
  fs.symlinkSync(path.join(root, 'cat', 'a.png'), path.join(root, 'dog', 'inside-link.png'));
  fs.symlinkSync(path.join(outside, 'cls'), path.join(root, 'outside-class'));
  const ds = new tg.data.ImageFolder(root);
  assert.deepStrictEqual(ds.classes, ['cat', 'dog']);
  assert.deepStrictEqual(ds.samples.map(([p, k]) => [path.relative(root, p), k]), [['cat/a.png', 0], ['dog/b.png', 1], ['dog/inside-link.png', 1]]);
  fs.symlinkSync(path.join(outside, 'secret.png'), path.join(root, 'dog', 'secret.png'));
  assert.throws(() => new tg.data.ImageFolder(root), (e) => e.code === 'ERR_IMAGE_FOLDER' && e.message.includes('secret.png') && /out of the root/.test(e.message));
  const skipped = new tg.data.ImageFolder(root, { onInvalid: 'skip' });
  assert.strictEqual(skipped.length, 3);
  const all = new tg.data.ImageFolder(root, { followLinksOutside: true });
  assert.deepStrictEqual(all.classes, ['cat', 'dog', 'outside-class']);
  assert.strictEqual(all.length, 5);
});

test('ImageFolder: no class folder, a class without valid images, a root that is no folder: ERR_IMAGE_FOLDER', async () => {
  const empty = newRoot();
  assert.throws(() => new tg.data.ImageFolder(empty), (e) => e.code === 'ERR_IMAGE_FOLDER' && /couldn't find any class folder/.test(e.message));
  fs.writeFileSync(path.join(empty, 'a.png'), 'x');
  assert.throws(() => new tg.data.ImageFolder(empty), (e) => e.code === 'ERR_IMAGE_FOLDER');
  assert.throws(() => new tg.data.ImageFolder(path.join(empty, 'nope')), (e) => e.code === 'ERR_IMAGE_FOLDER' && e.message.includes('nope'));
  const root = newRoot();
  await writeImage(path.join(root, 'good', 'a.png'));
  fs.mkdirSync(path.join(root, 'texts'));
  fs.writeFileSync(path.join(root, 'texts', 'a.txt'), 'no image here');
  assert.throws(() => new tg.data.ImageFolder(root), (e) => e.code === 'ERR_IMAGE_FOLDER' && /no valid file for the classes texts/.test(e.message));
  fs.writeFileSync(path.join(root, 'texts', 'b.jpg'), 'a text named .jpg');
  // the text file named .jpg is refused; the class is still empty, with 'skip' as without
  for (const onInvalid of ['error', 'skip'])
    assert.throws(() => new tg.data.ImageFolder(root, { onInvalid }), (e) => e.code === 'ERR_IMAGE_FOLDER' && /no valid file for the classes texts/.test(e.message));
  assert.throws(() => new tg.data.ImageFolder(root, { onInvalid: 'maybe' }), TypeError);
  assert.throws(() => new tg.data.ImageFolder(root, { extensions: [] }), TypeError);
  assert.throws(() => new tg.data.ImageFolder(root, { transform: 3 }), TypeError);
});

test("ImageFolder: bad files are listed in one error (first 10 and a count), or skipped with one warning", async () => {
  const root = newRoot();
  await writeImage(path.join(root, 'a', 'good.png'));
  await writeImage(path.join(root, 'b', 'good.jpg'));
  const good = fs.readFileSync(path.join(root, 'a', 'good.png'));
  fs.writeFileSync(path.join(root, 'b', 'zero.jpg'), Buffer.alloc(0));
  fs.writeFileSync(path.join(root, 'b', 'text.png'), 'hello');
  fs.writeFileSync(path.join(root, 'b', 'bitmap.bmp'), Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]));
  for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(root, 'b', `rand${i}.jpg`), Buffer.from(Array.from({ length: 64 }, (_, k) => (k * 31 + i) % 256)));
  fs.mkdirSync(path.join(root, 'b', 'folder.png'));
  assert.throws(
    () => new tg.data.ImageFolder(root),
    (e) => e.code === 'ERR_IMAGE_FOLDER' && /13 file\(s\)/.test(e.message) && /and 3 more/.test(e.message) && e.message.includes('bitmap.bmp') && /BMP/.test(e.message),
  );
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const ds = new tg.data.ImageFolder(root, { onInvalid: 'skip' });
    await new Promise((r) => setImmediate(r));
    assert.strictEqual(ds.length, 2);
    assert.strictEqual(ds.invalid.length, 13);
    assert.strictEqual(warnings.filter((w) => w.code === 'TORCHGRAFT_IMAGE_SKIPPED').length, 1);
    assert.match(warnings[0].message, /skipped 13 file/);
  } finally {
    process.off('warning', onWarning);
  }
  assert.ok(good.length > 0);
});

test('ImageFolder: a truncated file or one over the pixel limit fails its batch with the file named, or is skipped', async () => {
  const root = newRoot();
  for (let i = 0; i < 5; i++) await writeImage(path.join(root, i % 2 ? 'a' : 'b', `${i}.jpg`), { w: 40, h: 30, seed: i + 1 });
  const jpg = fs.readFileSync(path.join(root, 'a', '1.jpg'));
  fs.writeFileSync(path.join(root, 'a', 'trunc.jpg'), jpg.subarray(0, jpg.length >> 1));
  const transform = new TestToTensor({ size: 8 });
  const ds = new tg.data.ImageFolder(root, { transform, workerModules: [modulePath] });
  for (const workers of [0, 2]) {
    const it = ds.loader({ batchSize: 2, workers });
    await assert.rejects(
      (async () => {
        for await (const b of it) tg.dispose(b);
      })(),
      (e) => e.code === 'ERR_IMAGE_DECODE' && e.message.includes('trunc.jpg'),
    );
  }
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const skip = new tg.data.ImageFolder(root, { transform, workerModules: [modulePath], onInvalid: 'skip' });
    let seen = 0;
    for await (const [x, y] of skip.loader({ batchSize: 2, workers: 2 })) {
      seen += x.shape[0];
      assert.strictEqual(y.shape[0], x.shape[0]);
      tg.dispose([x, y]);
    }
    await new Promise((r) => setImmediate(r));
    assert.strictEqual(seen, 5);
    assert.ok(warnings.some((w) => /1 file\(s\) could not be decoded/.test(w.message) && w.message.includes('trunc.jpg')));
  } finally {
    process.off('warning', onWarning);
  }
  const big = newRoot();
  await writeImage(path.join(big, 'x', 'ok.png'));
  fs.copyFileSync(path.join(root, 'a', '1.jpg'), path.join(big, 'x', 'big.jpg'));
  const limited = new tg.data.ImageFolder(big, { limitInputPixels: 500 });
  await assert.rejects(limited.getItemAsync(0), (e) => e.code === 'ERR_IMAGE_TOO_LARGE' && e.message.includes('big.jpg'));
  assert.throws(() => limited.getItem(0), /getItemAsync/);
  await assert.rejects(limited.getItemAsync(9), RangeError);
});

test('tg.fit trains on an ImageFolder (given directly, and as a loader with workers); memory stays flat', async () => {
  const root = newRoot();
  for (let i = 0; i < 12; i++) await writeImage(path.join(root, ['r', 's', 't'][i % 3], `${i}.png`), { w: 9, h: 9, seed: i + 1 });
  const ds = new tg.data.ImageFolder(root, { transform: new TestToTensor({ size: 8 }), workerModules: [modulePath] });
  tg.manualSeed(0);
  const net = new tg.nn.Sequential({ flat: new tg.nn.Flatten(), fc: new tg.nn.Linear(3 * 8 * 8, 3) });
  const optimizer = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const w0 = net.parameters()[0].detach().clone();
  const before = tg.memory().tensors;
  const h1 = await tg.fit(net, ds, { epochs: 2, batchSize: 4, optimizer, loss: 'crossEntropy', verbose: 0 });
  const h2 = await tg.fit(net, ds.loader({ batchSize: 4, shuffle: true, seed: 1, workers: 2 }), { epochs: 2, optimizer, loss: 'crossEntropy', verbose: 0 });
  assert.strictEqual(h1.length + h2.length, 4);
  for (const h of [h1, h2]) for (const e of h.epochs) assert.ok(Number.isFinite(e.loss), `loss ${e.loss}`);
  assert.strictEqual(tg.memory().tensors, before, 'no batch left behind');
  const moved = tg.tidy(() => net.parameters()[0].sub(w0).abs().sum().item());
  assert.ok(moved > 0, 'the weights were trained');
  w0.dispose();
  assert.throws(() => [...new tg.data.DataLoader(ds)], /for await/);
});

test('toTensors reads the whole folder in order (same as the loader without shuffle), for caches and the native engine', async () => {
  const root = newRoot();
  for (let i = 0; i < 7; i++) await writeImage(path.join(root, ['p', 'q'][i % 2], `${i}.png`), { w: 9, h: 9, seed: i + 1 });
  const ds = new tg.data.ImageFolder(root, { transform: new TestToTensor({ size: 8 }), workerModules: [modulePath] });
  const before = tg.memory().tensors;
  const [x, y] = await ds.toTensors({ batchSize: 3 });
  assert.deepStrictEqual(x.shape, [7, 3, 8, 8]);
  assert.deepStrictEqual(Array.from(y.dataSync(), Number), ds.targets);
  const [x0] = await ds.getItemAsync(4);
  const [a, b] = tg.tidy(() => [Array.from(x.narrow(0, 4, 1).reshape([-1]).dataSync()), Array.from(x0.reshape([-1]).dataSync())]);
  assert.deepStrictEqual(a, b);
  tg.dispose([x, y, x0]);
  assert.strictEqual(tg.memory().tensors, before);
});
