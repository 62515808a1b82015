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

test('shard names that leave the index folder are refused before any file is opened', async () => {
  for (const bad of ['../outside.safetensors', '/etc/passwd', 'a/../../b.safetensors']) {
    const file = await checkpoint('escape', { weightMap: { w: bad } });
    await rejectsIndex(file, /must be a file name relative/);
  }
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
