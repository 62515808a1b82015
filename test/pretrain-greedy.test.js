'use strict';
// Greedy layer-wise pretraining: one layer at a time on the cached output of the layers below, the rest frozen.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { settleTensors } = require('./helpers/settle.js');

const digits = () => tg.datasets.loadDigits({ end: 40 }).x;

for (const kind of ['autoencoder', 'denoising', 'rbm']) {
  test(`${kind}: trains each layer in turn, leaves lower layers untouched after their turn, and returns a Linear+activation stack`, async () => {
    const layers = [new tg.nn.Linear(784, 16), new tg.nn.Linear(16, 8)];
    const start = layers.map((l) => l.weight.clone());
    let afterFirst;
    const histories = [];
    const stack = await tg.pretrain.greedyLayerwise(layers, digits(), {
      kind, epochs: 2, seed: 1,
      onLayer: (i, h) => { histories.push(h); if (i === 0) afterFirst = layers.map((l) => l.weight.clone()); },
    });
    assert.deepStrictEqual(stack.keys(), ['hidden1', 'act1', 'hidden2', 'act2']);
    assert.strictEqual(stack.get('hidden1'), layers[0]);
    assert.ok(!afterFirst[0].equal(start[0]), 'layer 1 trained in its turn');
    assert.ok(afterFirst[1].equal(start[1]), 'layer 2 untouched during layer 1');
    assert.ok(layers[0].weight.equal(afterFirst[0]), 'layer 1 frozen during layer 2');
    assert.ok(!layers[1].weight.equal(start[1]), 'layer 2 trained in its turn');
    for (const h of histories) assert.ok(h.epochs[1] < h.initial, `${kind}: ${h.initial} -> ${h.epochs}`);
    assert.deepStrictEqual(stack.forward(digits()).shape, [400, 8]);
  });
}

test('a Sequential is pretrained in place with its own activations, and frozen flags are restored', async () => {
  const net = new tg.nn.Sequential({ h1: new tg.nn.Linear(784, 12), a1: new tg.nn.Tanh(), h2: new tg.nn.Linear(12, 6), a2: new tg.nn.Sigmoid() });
  net.freeze('h2');
  const x = digits();
  await settleTensors(); // earlier garbage must not die during the awaits below
  const before = tg.memory().tensors;
  const out = await tg.pretrain.greedyLayerwise(net, x, { kind: 'autoencoder', epochs: 1 });
  assert.strictEqual(out, net);
  assert.strictEqual(tg.memory().tensors, before, 'the cached layer outputs and helper decoders are released');
  assert.strictEqual(net.get('h1').weight.requiresGrad, true);
  assert.strictEqual(net.get('h2').weight.requiresGrad, false);
});

test('mismatched sizes and unsupported layers are refused with a clear error', async () => {
  await assert.rejects(tg.pretrain.greedyLayerwise([new tg.nn.Linear(784, 8), new tg.nn.Linear(9, 4)], digits()), /layer 1 takes 9 features, layer 0 gives 8/);
  await assert.rejects(tg.pretrain.greedyLayerwise([new tg.nn.Linear(10, 8)], digits()), /first layer takes 10 features, the data has 784/);
  await assert.rejects(tg.pretrain.greedyLayerwise(new tg.nn.Sequential({ bn: new tg.nn.BatchNorm1d(784) }), digits()), TypeError);
  await assert.rejects(tg.pretrain.greedyLayerwise([new tg.nn.Linear(784, 8)], digits(), { kind: 'pca' }), TypeError);
});
