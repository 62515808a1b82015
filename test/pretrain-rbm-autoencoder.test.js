'use strict';
// RBM (CD-k, PCD, free energy) and Autoencoder (tied, untied, denoising): the building blocks of greedy pretraining.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { settleTensors } = require('./helpers/settle.js');

const digits = () => tg.datasets.loadDigits({ end: 60 }).x;

test('CD-1 gradients equal the hand-computed positive minus negative statistics on a tiny RBM', () => {
  tg.manualSeed(3);
  const rbm = new tg.pretrain.RBM(3, 2);
  const W = [[0.5, -0.3, 0.8], [-0.6, 0.2, 0.1]], b = [0.1, -0.2], c = [0.05, -0.1, 0.2];
  tg.noGrad(() => {
    rbm.weight.copy_(tg.tensor(W));
    rbm.bias.copy_(tg.tensor(b));
    rbm.visible_bias.copy_(tg.tensor(c));
  });
  const v0a = [[1, 0, 1], [0, 1, 1]];
  const v0 = tg.tensor(v0a, { dtype: 'float32' });
  const { loss, negative } = rbm.contrastiveDivergence(v0);
  loss.backward();
  const vka = negative.toArray();
  const sig = (z) => 1 / (1 + Math.exp(-z));
  const ph = (v) => W.map((row, j) => sig(row.reduce((s, w, i) => s + w * v[i], b[j])));
  const n = v0a.length;
  const dW = W.map((row, j) => row.map((_, i) => -(v0a.reduce((s, v) => s + ph(v)[j] * v[i], 0) - vka.reduce((s, v) => s + ph(v)[j] * v[i], 0)) / n));
  const db = b.map((_, j) => -(v0a.reduce((s, v) => s + ph(v)[j], 0) - vka.reduce((s, v) => s + ph(v)[j], 0)) / n);
  const dc = c.map((_, i) => -(v0a.reduce((s, v) => s + v[i], 0) - vka.reduce((s, v) => s + v[i], 0)) / n);
  assert.ok(rbm.weight.grad.allclose(tg.tensor(dW), 1e-5, 1e-6), `${rbm.weight.grad.toArray()} vs ${dW}`);
  assert.ok(rbm.bias.grad.allclose(tg.tensor(db), 1e-5, 1e-6));
  assert.ok(rbm.visible_bias.grad.allclose(tg.tensor(dc), 1e-5, 1e-6));
});

test('free energy matches its formula -v·c - Σ softplus(vWᵀ + b)', () => {
  const rbm = new tg.pretrain.RBM(4, 3);
  const v = tg.rand([5, 4]);
  const expected = tg.tidy(() => rbm.visible_bias.mul(v).sum(1).neg().sub(tg.nn.functional.linear(v, rbm.weight, rbm.bias).exp().add(1).log().sum(1)));
  assert.ok(rbm.freeEnergy(v).allclose(expected, 1e-5, 1e-5));
});

test('training an RBM on bundled digits lowers reconstruction error and the free energy of digits against scrambled ones', async () => {
  tg.manualSeed(0);
  const x = digits();
  const scrambled = x.indexSelect(1, tg.rand([784]).sort(0).indices);
  const rbm = new tg.pretrain.RBM(784, 32);
  const gap = () => rbm.meanFreeEnergy(scrambled) - rbm.meanFreeEnergy(x);   // log p(digits)/p(scrambled), per sample
  const gap0 = gap();
  const h = await rbm.fit(x, { epochs: 3, lr: 0.05, batchSize: 32, seed: 1 });
  assert.ok(h.epochs[2] < h.initial * 0.5, `reconstruction error ${h.initial} -> ${h.epochs}`);
  assert.ok(h.epochs[2] < h.epochs[0]);
  assert.ok(gap() > gap0 + 10, `free-energy gap ${gap0} -> ${gap()}`);
});

test('persistent CD trains too and k > 1 is accepted', async () => {
  const x = digits();
  const rbm = new tg.pretrain.RBM(784, 16, { persistent: true, k: 2 });
  const h = await rbm.fit(x, { epochs: 2, lr: 0.05, batchSize: 50, seed: 2 });
  assert.ok(h.epochs[1] < h.initial, `${h.initial} -> ${h.epochs}`);
  assert.throws(() => new tg.pretrain.RBM(4, 2, { k: 0 }), RangeError);
});

test('an RBM built on a Linear trains that layer\'s own weight and bias', async () => {
  const layer = new tg.nn.Linear(784, 8);
  const before = layer.weight.clone();
  const rbm = new tg.pretrain.RBM(layer);
  assert.strictEqual(rbm.weight, layer.weight);
  assert.deepStrictEqual(rbm.stateDict() && Object.keys(rbm.stateDict()), ['weight', 'bias', 'visible_bias']);
  await rbm.fit(digits(), { epochs: 1 });
  assert.ok(!layer.weight.equal(before));
});

test('a tied autoencoder shares one weight tensor between encoder and decoder', async () => {
  const ae = new tg.pretrain.Autoencoder(784, 16, { tiedWeights: true });
  assert.deepStrictEqual(ae.namedParameters().map(([n]) => n).sort(), ['decoder_bias', 'encoder.bias', 'encoder.weight']);
  assert.ok(ae.decoderWeight.equal(ae.encoder.weight.t()));
  const h = await ae.fit(digits(), { epochs: 2, lr: 3e-3, seed: 4 });
  assert.ok(h.epochs[1] < h.initial);
  // still the same tensor after training: the transpose follows every update
  assert.ok(ae.decoderWeight.equal(ae.encoder.weight.t()));
  const untied = new tg.pretrain.Autoencoder(784, 16);
  assert.ok(untied.namedParameters().some(([n]) => n === 'decoder.weight'));
});

test('a denoising autoencoder corrupts inputs while training and reconstructs clean ones', async () => {
  tg.manualSeed(5);
  const ae = new tg.pretrain.Autoencoder(784, 16, { noise: 0.5 });
  const x = digits();
  const c = ae.corrupt(x);
  const kept = c.gt(0).sum().item() / x.gt(0).sum().item();
  assert.ok(kept > 0.4 && kept < 0.6, `kept ${kept}`);
  const h = await ae.fit(x, { epochs: 2, lr: 3e-3 });
  assert.ok(h.epochs[1] < h.initial);
  const g = new tg.pretrain.Autoencoder(4, 2, { noise: 0.1, noiseType: 'gaussian', loss: 'mse' });
  assert.ok(!g.corrupt(tg.zeros([2, 4])).equal(tg.zeros([2, 4])));
  assert.throws(() => new tg.pretrain.Autoencoder(4, 2, { noise: 1 }), RangeError);
});

test('fit keeps the tensor count flat', async () => {
  const x = digits();
  const rbm = new tg.pretrain.RBM(784, 8, { persistent: true });
  const ae = new tg.pretrain.Autoencoder(784, 8, { noise: 0.2 });
  await settleTensors(); // earlier garbage must not die during the awaits below
  const before = tg.memory().tensors;
  await rbm.fit(x, { epochs: 1 });
  await ae.fit(x, { epochs: 1 });
  assert.strictEqual(tg.memory().tensors, before);
});
