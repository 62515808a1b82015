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
});
