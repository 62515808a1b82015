'use strict';
// cacheFeatures({ distributed: true }) in a group of one rank, in this process (where a mutation run can see it): the
// same features as an undistributed build, in memory and on disk, and the rows this rank computed. Builds across
// several ranks (shares, padding, rank 0 writing the shared file) are test/distributed.test.js's, in child processes.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { freePort } = require('../dist/cli/run.js');

const noGloo = !tg.distributed.isAvailable() && 'this addon was built without Gloo (no libgloo-dev headers)';
const quiet = { verbose: 0 };
function model() {
  tg.manualSeed(1);
  return new tg.nn.Sequential({ hidden1: new tg.nn.Linear(6, 12), act1: new tg.nn.ReLU(), outputs: new tg.nn.Linear(12, 3) }).freeze(/^hidden1\./);
}
function data(n = 13) {
  tg.manualSeed(7);
  return new tg.data.TensorDataset(tg.randn([n, 6]), tg.randint(0, 3, [n]));
}
const values = (t) => Array.from(t.dataSync());

test('a distributed cache on one rank holds the undistributed features, in memory and on disk', { skip: noGloo }, async () => {
  const ds = data();
  const all = Array.from({ length: 13 }, (_, i) => i);
  const plain = await tg.transfer.cacheFeatures(model(), ds, { batchSize: 4, ...quiet });
  const [want, wantY] = plain.examples.getBatch(all);
  const port = await freePort();
  await tg.distributed.init({ rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 5000 });
  try {
    for (const store of ['memory', 'device']) {
      const c = await tg.transfer.cacheFeatures(model(), ds, { batchSize: 4, distributed: true, store, ...quiet });
      assert.strictEqual(c.length, 13, store);
      const [f, y] = c.examples.getBatch(all);
      assert.deepStrictEqual(f.shape, [13, 12]);
      assert.strictEqual(f.device, 'cpu');
      assert.deepStrictEqual(values(f), values(want), store);
      assert.deepStrictEqual(values(y), values(wantY), store);
      c.dispose();
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fcache-rank-'));
    const disk = await tg.transfer.cacheFeatures(model(), ds, { store: 'disk', dir, batchSize: 4, distributed: true, ...quiet });
    assert.strictEqual(disk.builds, 1);
    assert.deepStrictEqual(values(disk.examples.getBatch(all)[0]), values(want));
    disk.dispose();
    const again = await tg.transfer.cacheFeatures(model(), ds, { store: 'disk', dir, batchSize: 4, distributed: true, ...quiet });
    assert.strictEqual(again.builds, 0, 'rank 0 reuses the file');
    again.dispose();
  } finally {
    tg.distributed.destroy();
    plain.dispose();
  }
});
