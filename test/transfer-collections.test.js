'use strict';
// Collections: named lists of a model's layers and tensors, kept with it and saved as weights-file metadata.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');

function net() {
  return new tg.nn.Sequential({
    hidden1: new tg.nn.Linear(4, 6), act1: new tg.nn.ELU(),
    hidden2: new tg.nn.Linear(6, 5), act2: new tg.nn.ELU(),
    outputs: new tg.nn.Linear(5, 2),
  });
}

test('collections name layers, parameters and buffers, and get resolves them in order', () => {
  const m = net();
  assert.strictEqual(m.collections, m.collections);
  m.collections.set('features', ['hidden1', 'hidden2']).set('logits', 'outputs.weight');
  assert.deepStrictEqual(m.collections.names(), ['features', 'logits']);
  assert.deepStrictEqual(m.collections.get('features'), [m.get('hidden1'), m.get('hidden2')]);
  assert.strictEqual(m.collections.get('logits')[0], m.getParameter('outputs.weight'));
  const bn = new tg.nn.Sequential({ bn: new tg.nn.BatchNorm2d(3) });
  bn.collections.set('stats', ['bn.running_mean', 'bn.running_var']);
  assert.strictEqual(bn.collections.get('stats')[1], bn.getBuffer('bn.running_var'));
  m.collections.add('features', ['hidden2', 'act2']);
  assert.deepStrictEqual(m.collections.paths('features'), ['hidden1', 'hidden2', 'act2']);
  assert.ok(m.collections.delete('features'));
  assert.ok(!m.collections.has('features'));
  assert.deepStrictEqual(m.collections.toJSON(), { logits: ['outputs.weight'] });
});

test('collections reject unknown paths and names, and say when surgery removed a path', () => {
  const m = net();
  assert.throws(() => m.collections.set('x', ['hidden1', 'hidden9', 'hidden1.kernel']), /no submodule, parameter or buffer 'hidden9', 'hidden1.kernel'/);
  assert.ok(!m.collections.has('x'));
  assert.throws(() => m.collections.set('', ['hidden1']), /non-empty string/);
  assert.throws(() => m.collections.set('x', [1]), /paths must be/);
  assert.throws(() => m.collections.get('nope'), /no collection 'nope'/);
  m.collections.set('acts', ['act1', 'act2']);
  m.drop('act2');
  assert.throws(() => m.collections.get('acts'), /'act2' no longer exists/);
  // A replaced layer is found under its path.
  m.collections.set('top', ['outputs']);
  const fresh = new tg.nn.Linear(5, 3);
  m.replace('outputs', fresh);
  assert.strictEqual(m.collections.get('top')[0], fresh);
});

test('toJSON and fromJSON round-trip, and fromJSON changes nothing when one entry is invalid', () => {
  const a = net();
  a.collections.set('features', ['hidden1', 'hidden2']).set('head', ['outputs']);
  const b = net();
  b.collections.fromJSON(JSON.parse(JSON.stringify(a.collections)));
  assert.deepStrictEqual(b.collections.toJSON(), a.collections.toJSON());
  const c = net();
  c.collections.fromJSON(JSON.stringify(a.collections));
  assert.deepStrictEqual(c.collections.names(), ['features', 'head']);
  const d = net();
  assert.throws(() => d.collections.fromJSON({ ok: ['hidden1'], bad: ['hidden7'] }), /'bad': no 'hidden7'/);
  assert.deepStrictEqual(d.collections.names(), []);
  assert.throws(() => d.collections.fromJSON('{not json'), /not valid JSON/);
});

test('collectionsMetadata and restoreCollections round-trip through string metadata', () => {
  const a = net();
  assert.deepStrictEqual(tg.transfer.collectionsMetadata(a), {});
  a.collections.set('features', ['hidden1', 'hidden2']).set('logits', ['outputs.weight']);
  const meta = tg.transfer.collectionsMetadata(a);
  assert.deepStrictEqual(Object.keys(meta), ['torchgraft.collections']);
  assert.strictEqual(typeof meta['torchgraft.collections'], 'string');
  const b = net();
  assert.deepStrictEqual(tg.transfer.restoreCollections(b, { other: 'x', ...meta }), { restored: ['features', 'logits'], skipped: [] });
  assert.deepStrictEqual(b.collections.toJSON(), a.collections.toJSON());
  assert.deepStrictEqual(tg.transfer.restoreCollections(net(), {}), { restored: [], skipped: [] });
  // Into a model cut below 'outputs': an error by default, skipped on request.
  const cut = tg.transfer.reuse(net(), { upTo: 'act2' });
  assert.throws(() => tg.transfer.restoreCollections(cut, meta), /'logits': no 'outputs.weight'/);
  assert.deepStrictEqual(tg.transfer.restoreCollections(cut, meta, { skipInvalid: true }), { restored: ['features'], skipped: ['logits'] });
  assert.throws(() => tg.transfer.restoreCollections(net(), { 'torchgraft.collections': '[1' }), /not valid JSON/);
});

test('collections travel with the weights through a safetensors file', { skip: !(tg.io && tg.io.save) && 'tg.io is not in this tree yet' }, async () => {
  const a = net();
  a.collections.set('features', ['hidden1', 'hidden2']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-coll-'));
  try {
    const file = path.join(dir, 'model.safetensors');
    await tg.io.save(a.stateDict(), file, { metadata: tg.transfer.collectionsMetadata(a) });
    const { tensors, metadata } = await tg.io.loadWithMetadata(file);
    const b = net();
    b.loadStateDict(tensors);
    tg.transfer.restoreCollections(b, metadata);
    assert.deepStrictEqual(b.collections.paths('features'), ['hidden1', 'hidden2']);
    assert.ok(b.collections.get('features')[0].weight.equal(a.get('hidden1').weight));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
