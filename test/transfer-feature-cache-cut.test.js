'use strict';
// Where cacheFeatures cuts a model, and each refusal of a cut word for word: nothing frozen, the cut at the last
// layer, trainable layers below the cut (listed, five at most, with the layer to cut at instead); the default cut's
// walk up over frozen and parameter-free layers; the name a cache keeps for its cut; and what fit's native engine
// takes from a cache (16-bit features cast for the head; no weights, no missing targets).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');

const { nn } = tg;
const quiet = { verbose: 0 };
function data(n = 10) {
  tg.manualSeed(7);
  return new tg.data.TensorDataset(tg.randn([n, 6]), tg.randint(0, 3, [n]));
}
const cutError = (message) => (e) => {
  assert.strictEqual(e.code, 'ERR_CACHE_CUT');
  assert.strictEqual(e.message, message);
  return true;
};

test('nothing frozen at the bottom names the first layer with parameters, past parameter-free ones', async () => {
  tg.manualSeed(1);
  const net = new nn.Sequential({ act0: new nn.ReLU(), hidden1: new nn.Linear(6, 4), outputs: new nn.Linear(4, 2) });
  await assert.rejects(tg.transfer.cacheFeatures(net, data(), quiet),
    cutError("cacheFeatures: nothing is frozen at the bottom of the model ('hidden1' has trainable parameters); freeze the lower layers or pass upTo"));
});

test('a cut at the last layer, given or found, leaves nothing to train', async () => {
  tg.manualSeed(1);
  const frozen = new nn.Sequential({ hidden1: new nn.Linear(6, 4), outputs: new nn.Linear(4, 2) }).freeze();
  const last = cutError("cacheFeatures: the cut is at the last layer 'outputs': nothing above it is left to train");
  await assert.rejects(tg.transfer.cacheFeatures(frozen, data(), { upTo: 'outputs', ...quiet }), last);
  await assert.rejects(tg.transfer.cacheFeatures(frozen, data(), quiet), last, 'a model frozen whole: the default cut walks to its top');
  // frozen whole but ending in a parameter-free layer: the default cut stops below it, never at the last layer
  const withAct = new nn.Sequential({ hidden1: new nn.Linear(6, 4), act1: new nn.ReLU() }).freeze();
  const c = await tg.transfer.cacheFeatures(withAct, data(), quiet);
  assert.strictEqual(c.cut, 'hidden1');
  c.dispose();
});

test('trainable layers below the cut are listed (five at most) with the layer to cut at instead', async () => {
  tg.manualSeed(1);
  const net = new nn.Sequential({
    hidden1: new nn.Linear(6, 6), act1: new nn.ReLU(), hidden2: new nn.Linear(6, 6), hidden3: new nn.Linear(6, 6),
    hidden4: new nn.Linear(6, 6), outputs: new nn.Linear(6, 2),
  }).freeze(/^hidden1\./);
  const tail = 'would train, but every layer up to the cut must be frozen (cached features cannot follow weights that change); freeze them';
  await assert.rejects(tg.transfer.cacheFeatures(net, data(), { upTo: 'hidden3', ...quiet }),
    cutError(`cacheFeatures: the cut 'hidden3' includes trainable layers: hidden2.weight, hidden2.bias, hidden3.weight, hidden3.bias ${tail}, or pass upTo: 'act1' (the layer below them) to cache less`));
  await assert.rejects(tg.transfer.cacheFeatures(net, data(), { upTo: 'hidden4', ...quiet }),
    cutError(`cacheFeatures: the cut 'hidden4' includes trainable layers: hidden2.weight, hidden2.bias, hidden3.weight, hidden3.bias, hidden4.weight, ... ${tail}, or pass upTo: 'act1' (the layer below them) to cache less`));
  net.unfreeze();
  await assert.rejects(tg.transfer.cacheFeatures(net, data(), { upTo: 'act1', ...quiet }),
    cutError(`cacheFeatures: the cut 'act1' includes trainable layers: hidden1.weight, hidden1.bias ${tail}`), 'nothing below to cut at instead');
});

test('the cache keeps the cut as given, or the shortest name of the layer found', async () => {
  tg.manualSeed(1);
  const net = new nn.Sequential({ body: new nn.Sequential({ fc: new nn.Linear(6, 4), relu: new nn.ReLU() }), head: new nn.Linear(4, 2) });
  net.freeze(/^body\./);
  for (const [upTo, want] of [[undefined, 'body'], ['body.relu', 'body.relu'], [1, 'body'], ['body.fc', 'body.fc'], [0, 'body.fc']]) {
    const c = await tg.transfer.cacheFeatures(net, data(), { upTo, ...quiet });
    assert.strictEqual(c.cut, want, String(upTo));
    c.dispose();
  }
});

test("fit's native engine reads a 16-bit memory cache cast to the head's dtype, as the JavaScript loop does", async () => {
  const run = async (engine) => {
    tg.manualSeed(1);
    const net = new nn.Sequential({ hidden1: new nn.Linear(6, 12), act1: new nn.ReLU(), outputs: new nn.Linear(12, 3) }).freeze(/^hidden1\./);
    const cache = await tg.transfer.cacheFeatures(net, data(40), { dtype: 'float16', ...quiet });
    const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.1 });
    const h = await tg.fit(net, data(40), { epochs: 2, batchSize: 8, seed: 3, optimizer, loss: 'crossEntropy', cache, engine, ...quiet });
    cache.dispose();
    return { loss: h.last().loss, w: Array.from(net.get('outputs').weight.dataSync()) };
  };
  const js = await run('js');
  const native = await run('native');
  assert.deepStrictEqual(native, js);
});

test("fit's native engine refuses a disk cache with sample weights or without targets, by name; 'auto' trains it in JavaScript", async () => {
  tg.manualSeed(1);
  const net = new nn.Sequential({ hidden1: new nn.Linear(6, 12), act1: new nn.ReLU(), outputs: new nn.Linear(12, 3) }).freeze(/^hidden1\./);
  const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.1 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fcache-fed-'));
  tg.manualSeed(2);
  const weighted = new tg.data.TensorDataset(tg.randn([20, 6]), tg.randint(0, 3, [20]), tg.rand([20]));
  const unlabeled = new tg.data.TensorDataset(tg.randn([20, 6]));
  for (const [name, ds, why] of [['w', weighted, 'the dataset carries sample weights (a third field [x, y, w])'], ['x', unlabeled, 'the dataset has no targets (it needs [x, y])']]) {
    const cache = await tg.transfer.cacheFeatures(net, ds, { store: 'disk', dir, name, ...quiet });
    const fit = (engine) => tg.fit(net, ds, { epochs: 1, batchSize: 5, optimizer, loss: name === 'w' ? 'crossEntropy' : 'mse', cache, engine, ...quiet });
    await assert.rejects(fit('native'), (e) => e.code === 'ERR_NATIVE_ENGINE' &&
      e.message === `fit: engine 'native' cannot run this: ${why} (use engine 'auto' to fall back to the JS loop)`);
    if (name === 'w') assert.strictEqual((await fit('auto')).engine, 'js');
    cache.dispose();
  }
});

test('randomness below the cut is refused word for word, with the fix that applies where it sits', async () => {
  const rnd = (message) => (e) => {
    assert.strictEqual(e.code, 'ERR_CACHE_RANDOM');
    assert.strictEqual(e.message, `cacheFeatures: the cached part is not deterministic, so cached training would differ from uncached: ${message}`);
    return true;
  };
  const drop = "'drop' is Dropout(p=0.2): in training mode it drops at random every epoch, a cache would keep one draw";
  tg.manualSeed(1);
  const above = new nn.Sequential({ hidden1: new nn.Linear(6, 4), drop: new nn.Dropout(0.2), outputs: new nn.Linear(4, 2) }).freeze(/^hidden1\./);
  await assert.rejects(tg.transfer.cacheFeatures(above, data(), { upTo: 'drop', ...quiet }),
    rnd(`${drop}. The random layers are above the last frozen layer with weights, so they belong to the head that trains: pass upTo: 'hidden1'`));
  const between = new nn.Sequential({ hidden1: new nn.Linear(6, 4), drop: new nn.Dropout(0.2), hidden2: new nn.Linear(4, 4), outputs: new nn.Linear(4, 2) })
    .freeze(/^hidden[12]\./);
  await assert.rejects(tg.transfer.cacheFeatures(between, data(), { upTo: 'hidden2', ...quiet }),
    rnd(`${drop}. Pass upTo: 'hidden1' to cache only the layers below them, or allowRandom: true to cache one draw anyway`));
  const bottom = new nn.Sequential({ drop: new nn.Dropout(0.2), hidden1: new nn.Linear(6, 4), outputs: new nn.Linear(4, 2) }).freeze(/^hidden1\./);
  await assert.rejects(tg.transfer.cacheFeatures(bottom, data(), { upTo: 'hidden1', ...quiet }), rnd(`${drop}. Pass allowRandom: true to cache it anyway`));
  await assert.rejects(tg.transfer.cacheFeatures(bottom, data(), { upTo: 'drop', ...quiet }), rnd(`${drop}. Pass allowRandom: true to cache it anyway`), 'no weights below');
  const noWeights = new nn.Sequential({ act0: new nn.ReLU(), drop: new nn.Dropout(0.2), hidden1: new nn.Linear(6, 4), outputs: new nn.Linear(4, 2) }).freeze(/^hidden1\./);
  await assert.rejects(tg.transfer.cacheFeatures(noWeights, data(), { upTo: 'drop', ...quiet }),
    rnd(`${drop}. Pass upTo: 'act0' to cache only the layers below them, or allowRandom: true to cache one draw anyway`));
  const augmenting = Object.assign(data(), { augmenting: true });
  const plain = new nn.Sequential({ hidden1: new nn.Linear(6, 4), outputs: new nn.Linear(4, 2) }).freeze(/^hidden1\./);
  await assert.rejects(tg.transfer.cacheFeatures(plain, augmenting, quiet),
    rnd('the dataset is flagged augmenting: it gives different inputs every epoch, a cache would keep one. Pass allowRandom: true to cache it anyway'));
});

test('a dropout of p = 0, or a layer that only has a numeric p, is deterministic and cached', async () => {
  class Scaled extends nn.Module {
    constructor() {
      super();
      this.p = 0.5; // a number named p, in a layer that is not a dropout
    }
    forward(x) {
      return x.mul(this.p);
    }
  }
  for (const layer of [new nn.Dropout(0), new Scaled()]) {
    tg.manualSeed(1);
    const net = new nn.Sequential({ hidden1: new nn.Linear(6, 4), odd: layer, hidden2: new nn.Linear(4, 4), outputs: new nn.Linear(4, 2) }).freeze(/^hidden[12]\./);
    const c = await tg.transfer.cacheFeatures(net, data(), { upTo: 'hidden2', ...quiet });
    assert.strictEqual(c.cut, 'hidden2', layer.constructor.name);
    c.dispose();
  }
});
