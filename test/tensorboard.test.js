'use strict';
// train.TensorBoard: event files (TFRecord framing, masked CRC-32C, Event protobufs) read back by an independent Python reader.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { readPy } = require('./helpers/tfevents');
const { crc32c, maskedCrc32c } = require('../dist/io/crc32c');
// tg.train once lib/index.ts exports the namespace (export * as train from './train')
const tgTrain = require('../dist/train');
const { TinyLinear, TinySGD, separable } = require('./helpers/tiny');

const eventFiles = (dir) => fs.readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.')).map((f) => path.join(dir, f));
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-tb-'));
const f32 = (v) => Math.fround(v);

test('CRC-32C matches RFC 3720 B.4 test vectors, and the mask is TensorFlow\'s', () => {
  const asc = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.strictEqual(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.strictEqual(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.strictEqual(crc32c(asc), 0x46dd794e);
  assert.strictEqual(crc32c(asc.slice().reverse()), 0x113fdb5c);
  assert.strictEqual(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  const c = 0x8a9136aa;
  assert.strictEqual(maskedCrc32c(new Uint8Array(32)), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0);
});

test('fit with TensorBoard writes train/validation scalars, histograms and hparams that a Python reader decodes', async () => {
  const dir = tmp();
  const [x, y] = separable(40, 3);
  const net = new TinyLinear(2, 2);
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const tb = new tgTrain.TensorBoard({ logDir: dir, hparams: { lr: 0.1, optimizer: 'sgd', nesterov: false } });
  const h = await tg.fit(net, [x, y], { verbose: 0, epochs: 3, batchSize: 16, shuffle: false, optimizer: opt, loss: 'crossEntropy', metrics: ['accuracy'], validation: [x, y], callbacks: [tb] });
  assert.deepStrictEqual(fs.readdirSync(dir).sort().filter((f) => !f.startsWith('events')), ['train', 'validation']);

  const train = readPy(eventFiles(path.join(dir, 'train'))[0]);
  assert.strictEqual(train[0].file_version, 'brain.Event:2');
  const scalars = (evs, tag) => evs.flatMap((e) => (e.values || []).filter((v) => v.tag === tag).map((v) => [e.step, v.simple_value]));
  assert.deepStrictEqual(scalars(train, 'epoch_loss'), h.epochs.map((e, i) => [i, f32(e.loss)]));
  assert.deepStrictEqual(scalars(train, 'epoch_accuracy'), h.epochs.map((e, i) => [i, f32(e.accuracy)]));
  assert.deepStrictEqual(scalars(train, 'epoch_learning_rate'), [[0, f32(0.1)], [1, f32(0.1)], [2, f32(0.1)]]);
  // 40 examples in batches of 16: 3 batches an epoch, steps 1..9
  assert.deepStrictEqual(scalars(train, 'batch_loss').map(([s]) => s), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const validation = readPy(eventFiles(path.join(dir, 'validation'))[0]);
  assert.deepStrictEqual(scalars(validation, 'epoch_loss'), h.epochs.map((e, i) => [i, f32(e.val_loss)]));
  assert.deepStrictEqual(scalars(validation, 'epoch_accuracy'), h.epochs.map((e, i) => [i, f32(e.val_accuracy)]));

  // the last epoch's weight histogram describes the final weights exactly
  const w = Array.from(net.weight.dataSync());
  const histos = train.flatMap((e) => (e.values || []).filter((v) => v.tag === 'weight' && v.histo).map((v) => ({ step: e.step, ...v.histo })));
  assert.deepStrictEqual(histos.map((hh) => hh.step), [0, 1, 2]);
  const last = histos[2];
  assert.strictEqual(last.num, w.length);
  assert.strictEqual(last.min, Math.min(...w));
  assert.strictEqual(last.max, Math.max(...w));
  assert.ok(Math.abs(last.sum - w.reduce((a, b) => a + b, 0)) < 1e-9);
  assert.ok(Math.abs(last.sum_squares - w.reduce((a, b) => a + b * b, 0)) < 1e-9);
  assert.strictEqual(last.bucket.reduce((a, b) => a + b, 0), w.length);
  assert.strictEqual(last.bucket_limit.length, last.bucket.length);
  assert.strictEqual(last.bucket_limit.at(-1), last.max);

  const root = readPy(eventFiles(dir)[0]);
  assert.strictEqual(root[0].file_version, 'brain.Event:2');
  const values = root.flatMap((e) => e.values || []);
  const start = values.find((v) => v.tag === '_hparams_/session_start_info');
  assert.strictEqual(start.plugin, 'hparams');
  assert.deepStrictEqual(start.hparams, { lr: 0.1, optimizer: 'sgd', nesterov: false });
  assert.strictEqual(values.find((v) => v.tag === '_hparams_/session_end_info').session_end_status, 1);
  const text = values.find((v) => v.tag === 'hparams');
  assert.strictEqual(text.plugin, 'text');
  assert.match(text.text, /\| optimizer \| sgd \|/);

  // our own reader agrees with Python's
  const ours = await tgTrain.readEventFile(eventFiles(path.join(dir, 'validation'))[0]);
  assert.deepStrictEqual(ours.flatMap((e) => e.values.filter((v) => v.tag === 'epoch_loss').map((v) => v.value)), scalars(validation, 'epoch_loss').map(([, v]) => v));
  tg.dispose([x, y]);
  net.dispose();
});

test('events are appended per epoch: a run that throws keeps every finished epoch in a valid file', async () => {
  const dir = tmp();
  const [x, y] = separable(16, 1);
  const net = new TinyLinear(2, 2);
  const tb = new tgTrain.TensorBoard({ logDir: dir, everyBatches: 0, histograms: { every: 2 } });
  const boom = { onEpochEnd: (e) => { if (e === 2) throw new RangeError('boom'); } };
  await assert.rejects(
    tg.fit(net, [x, y], { verbose: 0, epochs: 5, batchSize: 8, optimizer: new TinySGD(net.parameters(), 0.1), loss: 'crossEntropy', callbacks: [tb, boom] }),
    /boom/,
  );
  const evs = readPy(eventFiles(path.join(dir, 'train'))[0]);
  const tags = evs.flatMap((e) => (e.values || []).map((v) => `${v.tag}@${e.step}`));
  assert.ok(tags.includes('epoch_loss@2'), tags.join(' '));
  assert.ok(!tags.some((t) => t.startsWith('batch_loss')), 'everyBatches 0 writes no batch scalars');
  assert.deepStrictEqual(tags.filter((t) => t.startsWith('weight@')), ['weight@0', 'weight@2']);
  assert.strictEqual(tb.onBatchEnd, undefined, 'no onBatchEnd hook: native epochs stay whole');
  tg.dispose([x, y]);
  net.dispose();
});

test('a logDir that cannot be written is ERR_IO at train begin; bad options are TypeError/RangeError', async () => {
  const file = path.join(tmp(), 'a-file');
  fs.writeFileSync(file, 'x');
  const [x, y] = separable(8, 1);
  const net = new TinyLinear(2, 2);
  await assert.rejects(
    tg.fit(net, [x, y], { verbose: 0, epochs: 1, optimizer: new TinySGD(net.parameters(), 0.1), loss: 'crossEntropy', callbacks: [new tgTrain.TensorBoard({ logDir: path.join(file, 'logs') })] }),
    (e) => e instanceof tg.TorchError && e.code === 'ERR_IO' && /cannot create the log folder/.test(e.message),
  );
  assert.throws(() => new tgTrain.TensorBoard({}), TypeError);
  assert.throws(() => new tgTrain.TensorBoard({ logDir: 'x', everyBatches: -1 }), RangeError);
  assert.throws(() => new tgTrain.TensorBoard({ logDir: 'x', histograms: { every: 0 } }), TypeError);
  assert.throws(() => new tgTrain.TensorBoard({ logDir: 'x', hparams: { a: [1] } }), TypeError);
  tg.dispose([x, y]);
  net.dispose();
});

test('readEventFile refuses a file whose CRC does not match, or that is cut short (ERR_EVENT_FILE)', async () => {
  const dir = tmp();
  const tb = new tgTrain.TensorBoard({ logDir: dir });
  await tb.onTrainBegin();
  const file = tb.files.train;
  const good = fs.readFileSync(file);
  assert.strictEqual((await tgTrain.readEventFile(file))[0].fileVersion, 'brain.Event:2');
  const flipped = Buffer.from(good);
  flipped[14] ^= 1;
  fs.writeFileSync(file, flipped);
  await assert.rejects(tgTrain.readEventFile(file), (e) => e.code === 'ERR_EVENT_FILE' && /data CRC/.test(e.message));
  fs.writeFileSync(file, good.subarray(0, good.length - 3));
  await assert.rejects(tgTrain.readEventFile(file), (e) => e.code === 'ERR_EVENT_FILE' && /runs past the end/.test(e.message));
});

test('one TensorBoard across two fit calls (a second phase on the same history) keeps one file per run, steps running on', async () => {
  const dir = tmp();
  const [x, y] = separable(16, 4);
  const net = new TinyLinear(2, 2);
  const tb = new tgTrain.TensorBoard({ logDir: dir, histograms: false });
  const history = new tgTrain.History();
  const o = { verbose: 0, batchSize: 8, shuffle: false, loss: 'crossEntropy', history, callbacks: [tb] };
  await tg.fit(net, [x, y], { ...o, epochs: 2, optimizer: new TinySGD(net.parameters(), 0.1) });
  await tg.fit(net, [x, y], { ...o, epochs: 4, optimizer: new TinySGD(net.parameters(), 0.01) });
  const files = eventFiles(path.join(dir, 'train'));
  assert.strictEqual(files.length, 1);
  const evs = readPy(files[0]);
  const steps = (tag) => evs.flatMap((e) => (e.values || []).filter((v) => v.tag === tag).map(() => e.step));
  assert.deepStrictEqual(steps('epoch_loss'), [0, 1, 2, 3, 4, 5]);
  assert.deepStrictEqual(steps('batch_loss'), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  assert.strictEqual(evs.filter((e) => e.file_version).length, 1, 'one file_version record, first');
  tg.dispose([x, y]);
  net.dispose();
});
