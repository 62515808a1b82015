'use strict';
// What tg.transfer.cacheFeatures takes: a Dataset, a DataLoader over one or tensors, and nothing that only looks like
// them; the stored dtype taken from the frozen part's first layer with parameters, however many layers without any
// come before it.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

const { nn } = tg;
const quiet = { verbose: 0 };
const values = (t) => Array.from(t.dataSync(), Number);

function data(n = 6, dtype = 'float32') {
  tg.manualSeed(7);
  return new tg.data.TensorDataset(tg.randn([n, 2, 3], { dtype }), tg.randint(0, 3, [n]));
}

test('cacheFeatures: a float64 frozen part behind a layer without parameters stores float64 features, exactly', async () => {
  tg.manualSeed(1);
  const net = new nn.Sequential({ flat: new nn.Flatten(), hidden1: new nn.Linear(6, 12), act1: new nn.ReLU(), outputs: new nn.Linear(12, 3) })
    .to('float64')
    .freeze(/^hidden1\./);
  const ds = data(6, 'float64');
  const cache = await tg.transfer.cacheFeatures(net, ds, { ...quiet, upTo: 'act1', engine: 'js' });
  const [x] = ds.getBatch([0, 1, 2, 3, 4, 5]);
  const want = tg.noGrad(() => net.get('act1').forward(net.get('hidden1').forward(net.get('flat').forward(x))));
  const [features, labels] = cache.examples.getBatch([0, 1, 2, 3, 4, 5]);
  assert.strictEqual(features.dtype, 'float64');
  assert.deepStrictEqual(values(features), values(want), 'no float32 rounding on the way');
  for (const t of [x, want, features, labels]) t.dispose();
  cache.dispose();
});

test("cacheFeatures: features come in the head's dtype (a float64 head over a float32 frozen part), or the frozen part's for a head without parameters", async () => {
  const fs = require('node:fs');
  const os = require('node:os');
  const path = require('node:path');
  tg.manualSeed(1);
  const mixed = new nn.Sequential({ flat: new nn.Flatten(), hidden1: new nn.Linear(6, 12), act1: new nn.ReLU(), outputs: new nn.Linear(12, 3) }).freeze(/^hidden1\./);
  mixed.get('outputs').to('float64');
  const wide = new nn.Sequential({ flat: new nn.Flatten(), hidden1: new nn.Linear(6, 12), act1: new nn.ReLU(), outputs: new nn.Linear(12, 3), act2: new nn.ReLU() })
    .to('float64')
    .freeze(/^(hidden1|outputs)\./);
  for (const [net, upTo, input, dtype] of [[mixed, 'hidden1', 'float32', 'float64'], [mixed, 'act1', 'float32', 'float64'], [wide, 'outputs', 'float64', 'float64']]) {
    for (const store of ['memory', 'disk']) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-finputs-'));
      const cache = await tg.transfer.cacheFeatures(net, data(6, input), { ...quiet, upTo, store, dir });
      const [features] = cache.examples.getBatch([0, 1]);
      assert.strictEqual(features.dtype, dtype, `cut at ${upTo}, ${store}`);
      features.dispose();
      cache.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('cacheFeatures: a DataLoader gives its dataset; an object that only has a dataset property is refused', async () => {
  tg.manualSeed(1);
  const net = new nn.Sequential({ flat: new nn.Flatten(), hidden1: new nn.Linear(6, 4), outputs: new nn.Linear(4, 2) }).freeze(/^hidden1\./);
  const ds = data();
  const viaLoader = await tg.transfer.cacheFeatures(net, new tg.data.DataLoader(ds, { batchSize: 4 }), quiet);
  assert.strictEqual(viaLoader.length, 6);
  viaLoader.dispose();
  const message = 'cacheFeatures: a feature cache needs the dataset it was built from (a Dataset, a DataLoader over one, or tensors [x, y])';
  for (const bad of [{ dataset: ds }, [], [1, 2], null, 'data.bin'])
    await assert.rejects(tg.transfer.cacheFeatures(net, bad, quiet), { name: 'TypeError', message }, JSON.stringify(bad));
  for (const bad of [null, undefined, {}, net.parameters()[0], 'net'])
    await assert.rejects(tg.transfer.cacheFeatures(bad, ds, quiet), { name: 'TypeError', message: 'cacheFeatures: model must be a tg.nn.Module' }, String(bad));
});
