'use strict';
// TensorBoard's parts as units: our event reader against the independent Python reader on every file a run writes
// (plugins, histograms, text), TFRecord framing errors with their offsets, the histogram's buckets at their edges, and
// the event file writer's names, collisions and I/O errors.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { readPy } = require('./helpers/tfevents');
const tgTrain = require('../dist/train');
const { frameRecord, readRecords } = require('../dist/train/tensorboard/record');
const { decodeEvent } = require('../dist/train/tensorboard/event-reader');
const { histogramOf } = require('../dist/train/tensorboard/histogram');
const { EventFileWriter } = require('../dist/train/tensorboard/event-writer');
const { scalarEvent, textEvent } = require('../dist/train/tensorboard/event');
const { maskedCrc32c } = require('../dist/io/crc32c');
const { TinyLinear, separable } = require('./helpers/tiny');

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-tbu-'));
const eventFile = (dir) => path.join(dir, fs.readdirSync(dir).find((f) => f.startsWith('events.out.tfevents.')));

test('readEventFile reads every file of a run as the Python reader does: steps, wall times, scalars, histograms, plugins', async () => {
  const dir = tmp();
  const [x, y] = separable(24, 3);
  const net = new TinyLinear(2, 2);
  const optimizer = new tg.optim.SGD([{ params: [net.weight], lr: 0.1 }, { params: [net.bias], lr: 0.05 }]);
  const tb = new tgTrain.TensorBoard({ logDir: dir, everyBatches: 2, hparams: { lr: 0.1, depth: 2, name: 'tiny' } });
  await tg.fit(net, [x, y], { verbose: 0, epochs: 2, batchSize: 8, optimizer, loss: 'crossEntropy', validation: [x, y], callbacks: [tb] });
  for (const sub of ['', 'train', 'validation']) {
    const file = eventFile(path.join(dir, sub));
    const ours = (await tgTrain.readEventFile(file)).map((e) => ({
      wallTime: e.wallTime, step: e.step, fileVersion: e.fileVersion,
      values: e.values.map((v) => ({ tag: v.tag, value: v.value, plugin: v.plugin, histogram: v.histogram === true })),
    }));
    const theirs = readPy(file).map((e) => ({
      wallTime: e.wall_time, step: e.step ?? 0, fileVersion: e.file_version,
      values: (e.values || []).map((v) => ({ tag: v.tag, value: v.simple_value, plugin: v.plugin, histogram: v.histo !== undefined })),
    }));
    assert.deepStrictEqual(ours, theirs, `${sub || 'the run folder'}`);
    assert.ok(ours.length > 1, `${sub}: more than the file version`);
  }
  const root = await tgTrain.readEventFile(eventFile(dir));
  const plugins = root.flatMap((e) => e.values.map((v) => `${v.tag}:${v.plugin}`));
  assert.deepStrictEqual(plugins, ['_hparams_/session_start_info:hparams', 'hparams:text', '_hparams_/session_end_info:hparams']);
  const train = await tgTrain.readEventFile(eventFile(path.join(dir, 'train')));
  const tags = new Set(train.flatMap((e) => e.values.map((v) => v.tag)));
  for (const t of ['batch_loss', 'epoch_loss', 'epoch_learning_rate', 'epoch_learning_rate_group1', 'weight', 'bias']) assert.ok(tags.has(t), t);
  const lr1 = train.flatMap((e) => e.values.filter((v) => v.tag === 'epoch_learning_rate_group1').map((v) => [e.step, v.value]));
  assert.deepStrictEqual(lr1, [[0, Math.fround(0.05)], [1, Math.fround(0.05)]]);
  tg.dispose([x, y]);
  net.dispose();
});

test('decodeEvent: a step past 2^53 keeps its sign, fields of other wire types are skipped, and a malformed message is ERR_EVENT_FILE', () => {
  const ev = decodeEvent(scalarEvent(1.5, 7, 'loss', 0.25), 'f');
  assert.deepStrictEqual(ev, { wallTime: 1.5, step: 7, values: [{ tag: 'loss', value: 0.25 }] });
  const text = decodeEvent(textEvent(2, 3, 'notes', '# hi'), 'f');
  assert.deepStrictEqual(text.values, [{ tag: 'notes', plugin: 'text' }]);
  // step -1 as a 64-bit varint
  const negative = Uint8Array.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.strictEqual(decodeEvent(negative, 'f').step, -1);
  // field 1 as a varint (wall_time is a double) and field 3 as a fixed32: neither is what the reader knows
  assert.deepStrictEqual(decodeEvent(Uint8Array.from([0x08, 0x05, 0x1d, 0, 0, 0, 0]), 'f'), { wallTime: 0, step: 0, values: [] });
  for (const bad of [[0x0b], [0x0b, 0x00], [0x0c, 0x00], [0x0a, 0x05, 0x01], [0x2a, 0x02, 0x0a, 0x09]])
    assert.throws(() => decodeEvent(Uint8Array.from(bad), 'run/events'), { code: 'ERR_EVENT_FILE', message: 'run/events: not a valid event file: a malformed protobuf message' });
});

/** Protobuf by hand: a length-delimited field, a varint field (small values), and a message of fields. */
const lenField = (field, bytes) => [(field << 3) | 2, bytes.length, ...bytes];
const varintField = (field, v) => [(field << 3) | 0, v];
const utf8 = (s) => [...Buffer.from(s)];
/** An Event with one summary value made of `valueFields`. */
const eventWith = (...valueFields) => Uint8Array.from(lenField(5, lenField(1, valueFields.flat())));

test("decodeEvent: a value's plugin is the name inside its metadata's plugin_data, whatever the order of their fields", () => {
  const tag = lenField(1, utf8('a'));
  const decode = (...f) => decodeEvent(eventWith(tag, ...f), 'f').values;
  // metadata (9) { display_name (2), plugin_data (1) { content (2), plugin_name (1) } }
  assert.deepStrictEqual(decode(lenField(9, [...lenField(2, utf8('d')), ...lenField(1, [...lenField(2, utf8('zz')), ...lenField(1, utf8('p'))])])), [{ tag: 'a', plugin: 'p' }]);
  // plugin_data without a name, metadata without plugin_data: no plugin
  assert.deepStrictEqual(decode(lenField(9, lenField(1, lenField(2, utf8('zz'))))), [{ tag: 'a' }]);
  assert.deepStrictEqual(decode(lenField(9, lenField(2, utf8('d')))), [{ tag: 'a' }]);
  // the same nesting under another field (7), and a metadata field that is a varint: not metadata, skipped
  assert.deepStrictEqual(decode(lenField(7, lenField(1, lenField(1, utf8('x'))))), [{ tag: 'a' }]);
  assert.deepStrictEqual(decode(varintField(9, 5)), [{ tag: 'a' }]);
  // a plugin_data or a plugin_name that is a varint is not one
  assert.deepStrictEqual(decode(lenField(9, varintField(1, 5))), [{ tag: 'a' }]);
  assert.deepStrictEqual(decode(lenField(9, lenField(1, varintField(1, 5)))), [{ tag: 'a' }]);
});

test('decodeEvent: a known field number with another wire type, or an unknown number, is skipped wherever it sits', () => {
  const f64 = (field, v) => { const b = Buffer.alloc(8); b.writeDoubleLE(v); return [(field << 3) | 1, ...b]; };
  const f32 = (field, v) => { const b = Buffer.alloc(4); b.writeFloatLE(v); return [(field << 3) | 5, ...b]; };
  const value = [
    ...varintField(1, 3), // a tag as a varint
    ...f32(2, 0.25), // the scalar
    ...varintField(2, 9), ...f32(3, 0.5), // a scalar as a varint, a float under another number
    ...varintField(5, 1), // a histogram as a varint
  ];
  const summary = [...lenField(1, value), ...lenField(2, lenField(1, utf8('zz'))), ...varintField(1, 4)];
  const event = Uint8Array.from([
    ...f64(1, 2.5), ...f64(4, 99), // the wall time; a double under another number
    ...varintField(2, 7), ...f32(2, 3), // the step; a step as a float
    ...lenField(5, summary), ...lenField(6, lenField(1, lenField(1, utf8('zz')))), ...varintField(5, 1),
  ]);
  assert.deepStrictEqual(decodeEvent(event, 'f'), { wallTime: 2.5, step: 7, values: [{ tag: '', value: 0.25 }] });
});

test('readRecords: records framed back to back, and each framing fault named with its offset', () => {
  const a = frameRecord(Uint8Array.from([1, 2, 3]));
  const b = frameRecord(new Uint8Array(0));
  const both = Buffer.concat([a, b]);
  assert.deepStrictEqual(readRecords(both, 'f').map((r) => Array.from(r)), [[1, 2, 3], []]);
  assert.deepStrictEqual(readRecords(new Uint8Array(0), 'f'), []);
  const bad = (why, at) => ({ code: 'ERR_EVENT_FILE', message: `f: not a valid event file: ${why} at byte ${at}` });
  assert.throws(() => readRecords(Buffer.concat([a, Buffer.alloc(11)]), 'f'), bad('a record header is cut short', a.length));
  // a whole header with no data CRC after it
  assert.throws(() => readRecords(Buffer.concat([a, b.subarray(0, 12)]), 'f'), bad('a record of 0 bytes runs past the end of the file', a.length));
  const lengthFlipped = Buffer.from(a);
  lengthFlipped[0] ^= 4;
  assert.throws(() => readRecords(lengthFlipped, 'f'), bad('the length CRC does not match', 0));
  const long = Buffer.alloc(12);
  long.writeBigUInt64LE(1000n, 0);
  long.writeUInt32LE(maskedCrc32c(long.subarray(0, 8)), 8);
  assert.throws(() => readRecords(Buffer.concat([a, long, Buffer.alloc(4)]), 'f'), bad('a record of 1000 bytes runs past the end of the file', a.length));
  const dataFlipped = Buffer.concat([a, Buffer.from(a)]);
  dataFlipped[a.length + 13] ^= 1;
  assert.throws(() => readRecords(dataFlipped, 'f'), bad('the data CRC does not match', a.length));
  const crcFlipped = Buffer.from(a);
  crcFlipped[a.length - 1] ^= 1;
  assert.throws(() => readRecords(crcFlipped, 'f'), bad('the data CRC does not match', 0));
});

test('histogramOf: non-finite values left out, one bucket for equal values, the max in the last bucket', () => {
  const empty = { min: 0, max: 0, num: 0, sum: 0, sumSquares: 0, bucketLimit: [], bucket: [] };
  assert.deepStrictEqual(histogramOf([]), empty);
  assert.deepStrictEqual(histogramOf([NaN, Infinity, -Infinity]), empty);
  assert.deepStrictEqual(histogramOf([2, NaN, 2, 2]), { min: 2, max: 2, num: 3, sum: 6, sumSquares: 12, bucketLimit: [2], bucket: [3] });
  assert.deepStrictEqual(histogramOf([3, 0, Infinity, 1, 2, -Infinity], 3), { min: 0, max: 3, num: 4, sum: 6, sumSquares: 14, bucketLimit: [1, 2, 3], bucket: [1, 1, 2] });
  assert.deepStrictEqual(histogramOf(Float32Array.from([-1, 1, 0.5]), 2), { min: -1, max: 1, num: 3, sum: 0.5, sumSquares: 2.25, bucketLimit: [0, 1], bucket: [1, 2] });
  // a bucket width other than 1, and a last limit that is the max itself, not min + 3 x width (0.30000000000000004)
  assert.deepStrictEqual(histogramOf([0, 0.5, 1, 2], 4).bucket, [1, 1, 1, 1]);
  assert.deepStrictEqual(histogramOf([0.1, 0.3], 3).bucketLimit.at(-1), 0.3);
  const h = histogramOf(Array.from({ length: 100 }, (_, i) => i));
  assert.strictEqual(h.bucket.length, 30, 'thirty buckets by default');
  assert.strictEqual(h.bucket.reduce((s, c) => s + c, 0), 100);
});

test('EventFileWriter: writers started in the same second get their own files; a folder of 101 taken names is ERR_IO', async () => {
  const dir = tmp();
  const now = Date.now;
  Date.now = () => 1700000000123;
  try {
    const base = `events.out.tfevents.1700000000.${os.hostname()}`;
    const files = [new EventFileWriter(dir), new EventFileWriter(dir), new EventFileWriter(dir)].map((w) => path.basename(w.file));
    assert.deepStrictEqual(files, [base, `${base}.${process.pid}.1`, `${base}.${process.pid}.2`]);
    for (const f of files) assert.deepStrictEqual((await tgTrain.readEventFile(path.join(dir, f)))[0], { wallTime: 1700000000.123, step: 0, fileVersion: 'brain.Event:2', values: [] });
    for (let n = 3; n <= 101; n++) fs.writeFileSync(path.join(dir, `${base}.${process.pid}.${n}`), '');
    assert.throws(() => new EventFileWriter(dir), (e) => e.code === 'ERR_IO' &&
      e.message === `TensorBoard: cannot write in the log folder '${dir}': EEXIST: file already exists, open '${path.join(dir, `${base}.${process.pid}.101`)}'`);
  } finally {
    Date.now = now;
  }
});

test('EventFileWriter: a folder that cannot be made, a file that cannot be created, and a failed append are ERR_IO naming them', async () => {
  const file = path.join(tmp(), 'plain');
  fs.writeFileSync(file, 'x');
  assert.throws(() => new EventFileWriter(path.join(file, 'logs')), (e) => e.code === 'ERR_IO' && e.message.startsWith(`TensorBoard: cannot create the log folder '${path.join(file, 'logs')}': `));
  const writeFileSync = fs.writeFileSync;
  const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
  fs.writeFileSync = () => { throw denied; };
  const dir = tmp();
  try {
    assert.throws(() => new EventFileWriter(dir), (e) => e.code === 'ERR_IO' && e.cause === denied && e.message === `TensorBoard: cannot write in the log folder '${dir}': EACCES: permission denied`);
  } finally {
    fs.writeFileSync = writeFileSync;
  }
  const w = new EventFileWriter(dir);
  await w.flush(); // nothing queued: nothing written
  assert.strictEqual(fs.statSync(w.file).size, frameRecord(require('../dist/train/tensorboard/event').fileVersionEvent(0)).length);
  fs.rmSync(dir, { recursive: true });
  await w.flush(); // still nothing to write: no file is touched
  w.add(scalarEvent(1, 1, 'loss', 1));
  await assert.rejects(w.flush(), (e) => e.code === 'ERR_IO' && e.message.startsWith(`TensorBoard: cannot append to '${w.file}': ENOENT`));
});

test('readEventFile of a file that cannot be read is ERR_IO naming it, with the cause', async () => {
  const missing = path.join(tmp(), 'events.out.tfevents.0.none');
  await assert.rejects(tgTrain.readEventFile(missing), (e) => e instanceof tg.TorchError && e.code === 'ERR_IO' && e.cause?.code === 'ENOENT' &&
    e.message === `cannot read '${missing}': ENOENT: no such file or directory, open '${missing}'`);
});
