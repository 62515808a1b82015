'use strict';
// The zoo: a catalog of one's own models on disk, content-hashed, with lineage, safe under concurrent writers.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const tg = require('..');

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-zoo-'));
function net() {
  return new tg.nn.Sequential({ hidden1: new tg.nn.Linear(4, 6), act1: new tg.nn.ELU(), outputs: new tg.nn.Linear(6, 3) });
}

test('add stores weights, structure and a card, and load returns the same tensors', async () => {
  const zoo = await tg.zoo.open(tmpDir());
  const m = net();
  m.collections.set('features', ['hidden1']);
  const card = await zoo.add(m, { name: 'digits', task: 'classification', inputShape: [4], classes: 3, metrics: { accuracy: 0.9 }, tags: ['mnist'] });
  assert.strictEqual(card.version, '1');
  assert.strictEqual(card.tensorCount, 4);
  assert.strictEqual(card.parameterCount, 4 * 6 + 6 + 6 * 3 + 3);
  assert.match(card.sha256, /^[0-9a-f]{64}$/);
  assert.deepStrictEqual(card.collections, { features: ['hidden1'] });
  assert.match(await zoo.structure('digits'), /Linear/);
  const { stateDict, card: c2 } = await zoo.load('digits@1');
  assert.strictEqual(c2.task, 'classification');
  assert.ok(stateDict['hidden1.weight'].equal(m.get('hidden1').weight));
  const fresh = net();
  const { report } = await zoo.loadInto(fresh, 'digits');
  assert.strictEqual(report.loaded.length, 4);
  assert.deepStrictEqual(fresh.collections.toJSON(), { features: ['hidden1'] });
  assert.ok(fresh.get('outputs').weight.equal(m.get('outputs').weight));
});

test('versions are allocated in order, load without a version takes the latest, remove drops one or all', async () => {
  const zoo = await tg.zoo.open(tmpDir());
  await zoo.add(net(), { name: 'a' });
  await zoo.add(net(), { name: 'a' });
  await zoo.add(net(), { name: 'a', version: 'beta' });
  assert.deepStrictEqual((await zoo.list()).map((c) => c.version), ['1', '2', 'beta']);
  assert.strictEqual((await zoo.card('a')).version, 'beta');
  await assert.rejects(zoo.add(net(), { name: 'a', version: '1' }), { code: 'ERR_ZOO_EXISTS' });
  assert.deepStrictEqual(await zoo.remove('a@2'), ['a@2']);
  assert.deepStrictEqual((await zoo.list()).map((c) => c.version), ['1', 'beta']);
  await zoo.remove('a');
  assert.deepStrictEqual(await zoo.list(), []);
  await assert.rejects(zoo.load('a'), { code: 'ERR_ZOO_NOT_FOUND' });
  await assert.rejects(zoo.add(net(), { name: '../evil' }), TypeError);
});

test('find filters by task, tag and input shape', async () => {
  const zoo = await tg.zoo.open(tmpDir());
  await zoo.add(net(), { name: 'x', task: 'classification', inputShape: [4], tags: ['digits'] });
  await zoo.add(net(), { name: 'y', task: 'regression', inputShape: [4] });
  await zoo.add(net(), { name: 'z', task: 'classification', inputShape: [8], tags: ['digits'] });
  assert.deepStrictEqual((await zoo.find({ task: 'classification' })).map((c) => c.name), ['x', 'z']);
  assert.deepStrictEqual((await zoo.find({ tag: 'digits', inputShape: [4] })).map((c) => c.name), ['x']);
  assert.deepStrictEqual((await zoo.find({ inputShape: [4] })).map((c) => c.name), ['x', 'y']);
});

test('lineage walks parents from a fine-tuned model up to its source', async () => {
  const zoo = await tg.zoo.open(tmpDir());
  await zoo.add(net(), { name: 'base' });
  await zoo.add(net(), { name: 'tuned', parent: 'base@1' });
  await zoo.add(net(), { name: 'tuned2', parent: 'tuned@1' });
  assert.deepStrictEqual((await zoo.lineage('tuned2')).map((c) => `${c.name}@${c.version}`), ['tuned2@1', 'tuned@1', 'base@1']);
});

test('a corrupted entry is detected on load', async () => {
  const dir = tmpDir();
  const zoo = await tg.zoo.open(dir);
  await zoo.add(net(), { name: 'c' });
  const file = path.join(dir, 'entries', 'c', '1', 'weights.safetensors');
  const buf = fs.readFileSync(file);
  buf[buf.length - 1] ^= 0xff;
  fs.writeFileSync(file, buf);
  await assert.rejects(zoo.load('c'), (e) => e instanceof tg.TorchError && e.code === 'ERR_ZOO_CORRUPT');
});

test('importFile fills the card from the file', async () => {
  const dir = tmpDir();
  const file = path.join(dir, 'w.safetensors');
  await tg.io.save({ a: tg.ones([2, 3]), b: tg.zeros([5]) }, file, { metadata: { author: 'me' } });
  const zoo = await tg.zoo.open(path.join(dir, 'zoo'));
  const card = await zoo.importFile(file, { name: 'imp', task: 'features' });
  assert.strictEqual(card.sourceFormat, 'safetensors');
  assert.strictEqual(card.tensorCount, 2);
  assert.strictEqual(card.parameterCount, 11);
  assert.strictEqual(card.metadata.author, 'me');
  const { stateDict } = await zoo.load('imp');
  assert.deepStrictEqual(stateDict.a.shape, [2, 3]);
});

test('open defaults to $TORCHGRAFT_ZOO', async () => {
  const dir = tmpDir();
  const prev = process.env.TORCHGRAFT_ZOO;
  process.env.TORCHGRAFT_ZOO = dir;
  try {
    assert.strictEqual((await tg.zoo.open()).dir, path.resolve(dir));
  } finally {
    if (prev === undefined) delete process.env.TORCHGRAFT_ZOO; else process.env.TORCHGRAFT_ZOO = prev;
  }
});

test('two processes adding five entries each at once lose nothing', async () => {
  const dir = tmpDir();
  const script = `
    const tg = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    (async () => {
      const zoo = await tg.zoo.open(process.argv[1]);
      for (let i = 0; i < 5; i++) {
        const m = new tg.nn.Linear(3, 2);
        await zoo.add(m, { name: 'shared' });
        await zoo.add(m, { name: process.argv[2] + i });
      }
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const run = (tag) => new Promise((resolve) => {
    const p = spawn(process.execPath, ['-e', script, dir, tag], { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('exit', resolve);
  });
  const codes = await Promise.all([run('p'), run('q')]);
  assert.deepStrictEqual(codes, [0, 0]);
  const zoo = await tg.zoo.open(dir);
  const cards = await zoo.list();
  assert.strictEqual(cards.length, 20);
  assert.deepStrictEqual(cards.filter((c) => c.name === 'shared').map((c) => c.version), ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
  assert.strictEqual(index.entries.length, 20);
  for (const c of cards) await zoo.load(`${c.name}@${c.version}`);
});
