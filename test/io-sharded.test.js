'use strict';
// Sharded safetensors checkpoints (model.safetensors.index.json), as Hugging Face writes large models.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-shards-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Two shards plus an index in a fresh folder; returns the index path.
async function checkpoint(name, { weightMap, extra } = {}) {
  const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
  const a = tg.arange(0, 6, 1, { dtype: 'float32' }).reshape([2, 3]);
  const b = tg.full([3], 2);
  const c = tg.tensor(new BigInt64Array([9n]));
  await tg.io.save({ 'layer1.weight': a, 'layer1.bias': b }, path.join(dir, 'model-00001-of-00002.safetensors'));
  await tg.io.save({ 'layer2.steps': c, ...(extra ? { extra: c } : {}) }, path.join(dir, 'model-00002-of-00002.safetensors'));
  tg.dispose([a, b, c]);
  const index = {
    metadata: { total_size: 44, format: 'pt' },
    weight_map: weightMap || {
      'layer1.bias': 'model-00001-of-00002.safetensors',
      'layer1.weight': 'model-00001-of-00002.safetensors',
      'layer2.steps': 'model-00002-of-00002.safetensors',
    },
  };
  const file = path.join(dir, 'model.safetensors.index.json');
  fs.writeFileSync(file, JSON.stringify(index, null, 2));
  return file;
}

test('a sharded checkpoint loads through its index, names in the index order, metadata as strings', async () => {
  const file = await checkpoint('ok');
  assert.strictEqual(await tg.io.detectFormat(file), 'safetensors-index');
  const got = await tg.io.loadWithMetadata(file);
  assert.strictEqual(got.format, 'safetensors-index');
  assert.deepStrictEqual(got.names, ['layer1.bias', 'layer1.weight', 'layer2.steps']);
  assert.deepStrictEqual(got.metadata, { total_size: '44', format: 'pt' });
  assert.deepStrictEqual(got.tensors['layer1.weight'].toArray(), [[0, 1, 2], [3, 4, 5]]);
  assert.strictEqual(got.tensors['layer2.steps'].dtype, 'int64');
  tg.dispose(got.tensors);
});

test('an index is recognised by its content under any name', async () => {
  const file = await checkpoint('renamed');
  const other = path.join(path.dirname(file), 'weights-manifest.txt');
  fs.copyFileSync(file, other);
  const got = await tg.io.load(other);
  assert.strictEqual(Object.keys(got).length, 3);
  tg.dispose(got);
});

async function rejectsIndex(file, pattern, code = 'ERR_SAFETENSORS_INDEX') {
  const before = tg.memory().tensors;
  await assert.rejects(tg.io.load(file), (e) => {
    assert.ok(e instanceof tg.TorchError, String(e && e.stack));
    assert.strictEqual(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
  assert.ok(tg.memory().tensors <= before, 'tensors of shards read before the error are released');
}

test('an index that maps a tensor to a shard lacking it is rejected, naming both', async () => {
  const file = await checkpoint('missing', {
    weightMap: { 'layer1.weight': 'model-00001-of-00002.safetensors', 'layer1.bias': 'model-00001-of-00002.safetensors', 'layer2.steps': 'model-00002-of-00002.safetensors', ghost: 'model-00002-of-00002.safetensors' },
  });
  await rejectsIndex(file, /'ghost' is mapped to shard 'model-00002-of-00002.safetensors'/);
});

test('a shard holding a tensor the index does not map to it is rejected', async () => {
  const file = await checkpoint('extra', { extra: true });
  await rejectsIndex(file, /holds tensor 'extra', which the index does not list/);
});

// Counts the files the native reader opens (safetensorsLoad / safetensorsInspect) and JS opens, while fn runs.
async function countingOpens(fn) {
  const { binding } = require('../dist/native');
  const opened = [];
  const saved = { load: binding.safetensorsLoad, inspect: binding.safetensorsInspect, open: fs.promises.open, openSync: fs.openSync };
  binding.safetensorsLoad = (f, ...rest) => (opened.push(f), saved.load.call(binding, f, ...rest));
  binding.safetensorsInspect = (f, ...rest) => (opened.push(f), saved.inspect.call(binding, f, ...rest));
  fs.promises.open = (f, ...rest) => (opened.push(String(f)), saved.open.call(fs.promises, f, ...rest));
  fs.openSync = (f, ...rest) => (opened.push(String(f)), saved.openSync.call(fs, f, ...rest));
  try {
    await fn();
  } finally {
    Object.assign(binding, { safetensorsLoad: saved.load, safetensorsInspect: saved.inspect });
    fs.promises.open = saved.open;
    fs.openSync = saved.openSync;
  }
  return opened.filter((f) => f.endsWith('.safetensors') || f === '/etc/passwd');
}

test('shard names that leave the index folder are refused before any file is opened', async () => {
  // The spy sees a shard load: so a count of zero below means something.
  const good = await checkpoint('spy');
  assert.deepStrictEqual((await countingOpens(() => tg.io.load(good))).map((f) => path.basename(f)),
    ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  for (const bad of ['../outside.safetensors', '/etc/passwd', 'a/../../b.safetensors']) {
    // A valid shard listed first, and a real safetensors file where the escaping name points.
    const file = await checkpoint('escape', { weightMap: { 'layer1.bias': 'model-00001-of-00002.safetensors', 'layer1.weight': 'model-00001-of-00002.safetensors', w: bad } });
    if (!path.isAbsolute(bad)) await tg.io.save({ w: tg.zeros([1]) }, path.resolve(path.dirname(file), bad));
    const opened = await countingOpens(() => rejectsIndex(file, /must be a file name relative/));
    assert.deepStrictEqual(opened, [], `${bad}: files opened before the refusal`);
  }
  // A missing shard listed first: were shards opened before every name is checked, this would be ERR_IO instead.
  const missingFirst = await checkpoint('missing-first', { weightMap: { a: 'absent.safetensors', w: '../outside.safetensors' } });
  await rejectsIndex(missingFirst, /shard name '\.\.\/outside\.safetensors' must be a file name relative/);
});

test('a missing shard file and a malformed index are named errors', async () => {
  const file = await checkpoint('gone');
  fs.unlinkSync(path.join(path.dirname(file), 'model-00002-of-00002.safetensors'));
  await rejectsIndex(file, /model-00002-of-00002\.safetensors/, 'ERR_IO');
  const bad = path.join(tmp, 'broken.safetensors.index.json');
  fs.writeFileSync(bad, '{"weight_map": {"a": 3}}');
  await rejectsIndex(bad, /not a shard file name/);
  fs.writeFileSync(bad, '{"weight_map": ');
  await rejectsIndex(bad, /not valid JSON/);
  fs.writeFileSync(bad, '{"metadata": {}}');
  await rejectsIndex(bad, /'weight_map' is missing/);
});
