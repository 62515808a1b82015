'use strict';
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { TinyLinear, TinySGD, separable } = require('./helpers/tiny');
const { DEVICES, CUDA_SKIP } = require('./helpers/cuda');
const { settleTensors } = require('./helpers/settle.js');

const quiet = { verbose: 0 };

test('fit reaches high accuracy on a linearly separable problem with a hand-written model and SGD', async () => {
  const [x, y] = separable(256, 1);
  const [vx, vy] = separable(128, 2);
  const net = new TinyLinear(2, 2);
  const history = await tg.fit(net, [x, y], {
    ...quiet, epochs: 5, batchSize: 32, seed: 1,
    optimizer: new TinySGD(net.parameters(), 0.5), loss: 'crossEntropy', metrics: ['accuracy'], validation: [vx, vy],
  });
  assert.strictEqual(history.length, 5);
  const last = history.last();
  assert.ok(last.val_accuracy >= 0.97, `val_accuracy ${last.val_accuracy}`);
  assert.ok(last.accuracy >= 0.97, `accuracy ${last.accuracy}`);
  assert.ok(last.loss < history.epochs[0].loss, 'loss decreases');
  const ev = await tg.evaluate(net, [vx, vy], { loss: 'crossEntropy', metrics: ['accuracy'] });
  assert.ok(Math.abs(ev.loss - last.val_loss) < 1e-6, 'evaluate agrees with the last validation');
  assert.strictEqual(ev.accuracy, last.val_accuracy);
  tg.dispose([x, y, vx, vy]);
  net.dispose();
});

test('same seed, same run: fit is reproducible', async () => {
  const [x, y] = separable(64, 3);
  const run = async () => {
    const net = new TinyLinear(2, 2, 4);
    const h = await tg.fit(net, [x, y], { ...quiet, epochs: 2, batchSize: 8, seed: 9, optimizer: new TinySGD(net.parameters(), 0.1), loss: 'crossEntropy' });
    const w = net.weight.toArray();
    net.dispose();
    return [h.series('loss'), w];
  };
  assert.deepStrictEqual(await run(), await run());
  tg.dispose([x, y]);
});

test('evaluate computes example-weighted means over uneven batches; predict keeps data order', async () => {
  const net = new TinyLinear(2, 2);
  const x = tg.tensor([[1, 0], [0, 1], [2, 2], [-1, 3], [0, 0]], { dtype: 'float32' });
  const y = tg.tensor([0, 1, 1, 0, 1]);
  const ref = tg.tidy(() => {
    const out = net.forward(x);
    return [tg.nn.functional.crossEntropy(out, y).item(), out.argmax(1).eq(y).float().mean().item(), out.toArray()];
  });
  const ev = await tg.evaluate(net, [x, y], { loss: 'crossEntropy', metrics: ['accuracy'], batchSize: 2 });
  assert.ok(Math.abs(ev.loss - ref[0]) < 1e-6);
  assert.ok(Math.abs(ev.accuracy - ref[1]) < 1e-6);
  const p = await tg.predict(net, x, { batchSize: 2 });
  assert.deepStrictEqual(p.shape, [5, 2]);
  p.toArray().forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - ref[2][i][j]) < 1e-6)));
  const p2 = await tg.predict(net, new tg.data.DataLoader(new tg.data.TensorDataset(x, y), { batchSize: 3 }));
  assert.ok(p2.equal(p));
  tg.dispose([x, y, p, p2]);
  net.dispose();
});

test('train mode during epochs, eval mode during validation, and the model mode restored afterwards', async () => {
  const [x, y] = separable(16, 5);
  const net = new TinyLinear(2, 2);
  let gradDuringVal = null;
  const loss = (out, t) => {
    if (!net.training) gradDuringVal = tg.isGradEnabled();
    return tg.nn.functional.crossEntropy(out, t);
  };
  net.eval();
  net.modes.length = 0;
  await tg.fit(net, [x, y], { ...quiet, epochs: 2, batchSize: 8, optimizer: new TinySGD(net.parameters(), 0.1), loss, validation: [x, y] });
  assert.deepStrictEqual(net.modes, ['train', 'eval', 'train', 'eval', 'eval']);
  assert.strictEqual(gradDuringVal, false, 'validation runs without autograd');
  assert.strictEqual(net.training, false);
  tg.dispose([x, y]);
  net.dispose();
});

test('the tensor count is flat across epochs and back to its start after fit', async () => {
  const [x, y] = separable(64, 6);
  const net = new TinyLinear(2, 2);
  await settleTensors(); // earlier garbage must not die during the awaits below
  const before = tg.memory().tensors;
  const counts = [];
  await tg.fit(net, [x, y], {
    ...quiet, epochs: 4, batchSize: 8, optimizer: new TinySGD(net.parameters(), 0.1), loss: 'crossEntropy',
    metrics: ['accuracy', 'top1'], validation: [x, y], earlyStopping: { patience: 10, restoreBest: true },
    callbacks: [{ onEpochEnd: () => counts.push(tg.memory().tensors) }, { onBatchEnd: () => {} }],
  });
  // from epoch 1 on, restoreBest holds its snapshot (taken after the counting callback in epoch 0)
  assert.strictEqual(counts.length, 4);
  assert.strictEqual(new Set(counts.slice(1)).size, 1, `per-epoch counts ${counts}`);
  assert.strictEqual(tg.memory().tensors, before);
  tg.dispose([x, y]);
  net.dispose();
});

test('losses by name align targets: mse on [N, 1] outputs with [N] targets, bceWithLogits with 0/1 labels', async () => {
  tg.manualSeed(0);
  const x = tg.randn([64, 3]);
  const w = tg.tensor([[1.5], [-2], [0.5]]);
  const yReg = x.matmul(w).reshape([-1]);
  const net = new TinyLinear(3, 1);
  const h = await tg.fit(net, [x, yReg], { ...quiet, epochs: 30, batchSize: 16, optimizer: new TinySGD(net.parameters(), 0.1), loss: 'mse', metrics: ['mae'] });
  assert.ok(h.last().loss < 1e-3, `mse ${h.last().loss}`);
  assert.ok(h.last().mae < 0.05, `mae ${h.last().mae}`);
  const yBin = tg.tidy(() => yReg.gt(0).long());
  const clf = new TinyLinear(3, 1);
  const h2 = await tg.fit(clf, [x, yBin], { ...quiet, epochs: 20, batchSize: 16, optimizer: new TinySGD(clf.parameters(), 0.5), loss: 'bceWithLogits', metrics: ['accuracy'] });
  assert.ok(h2.last().accuracy > 0.9, `binary accuracy ${h2.last().accuracy}`);
  tg.dispose([x, w, yReg, yBin]);
  net.dispose();
  clf.dispose();
});

test('fit takes a DataLoader, an array of batches, a function of the epoch, a stream, and appends to a history', async () => {
  const [x, y] = separable(24, 7);
  const net = new TinyLinear(2, 2);
  const opt = new TinySGD(net.parameters(), 0.1);
  const ds = new tg.data.TensorDataset(x, y);
  const batches = [ds.getBatch([0, 1, 2, 3]), ds.getBatch([4, 5, 6, 7])];
  const h = await tg.fit(net, new tg.data.DataLoader(ds, { batchSize: 10 }), { ...quiet, optimizer: opt, loss: 'crossEntropy' });
  await tg.fit(net, batches, { ...quiet, epochs: 2, optimizer: opt, loss: 'crossEntropy', history: h });
  const seen = [];
  await tg.fit(net, (epoch) => (seen.push(epoch), batches), { ...quiet, optimizer: opt, loss: 'crossEntropy', history: h });
  const stream = tg.data.fromAsyncIterable(async function* () {
    for (let i = 0; i < 24; i++) yield ds.getItem(i);
  });
  await settleTensors(); // earlier garbage must not die during the awaits below
  const before = tg.memory().tensors;
  await tg.fit(net, stream, { ...quiet, epochs: 2, batchSize: 5, optimizer: opt, loss: 'crossEntropy', history: h });
  assert.strictEqual(tg.memory().tensors, before, 'streamed examples and their batches are released');
  assert.deepStrictEqual(h.series('epoch'), [0, 1, 2, 3, 4, 5]);
  assert.deepStrictEqual(seen, [3]);
  assert.ok(batches.flat().every((t) => !t.isDisposed), 'batches the caller supplies are not disposed');
  tg.dispose([x, y, batches]);
  net.dispose();
});

test('a feature cache plugs in through prepareFit: fit trains the model and data it returns', async () => {
  const [x, y] = separable(16, 8);
  const full = new TinyLinear(2, 2);
  const head = new TinyLinear(2, 2);
  const cache = {
    prepareFit(model, data, o) {
      assert.strictEqual(model, full);
      assert.deepStrictEqual(o, { batchSize: 4, shuffle: true, seed: 3 });
      return { model: head, data: new tg.data.TensorDataset(x, y) };
    },
  };
  const w0 = full.weight.toArray();
  const h = await tg.fit(full, 'ignored by this cache', { ...quiet, batchSize: 4, seed: 3, optimizer: new TinySGD(head.parameters(), 0.1), loss: 'crossEntropy', cache });
  assert.strictEqual(h.length, 1);
  assert.deepStrictEqual(full.weight.toArray(), w0, 'only the head trains');
  tg.dispose([x, y]);
  full.dispose();
  head.dispose();
});

for (const device of [...DEVICES, ...(CUDA_SKIP ? ['cuda'] : [])]) {
  test(`the device option moves CPU batches to ${device}; memory stays flat there`, { skip: device === 'cuda' && CUDA_SKIP }, async () => {
    const [x, y] = separable(64, 10);
    const net = new TinyLinear(2, 2, 0, device);
    const before = tg.memory();
    const h = await tg.fit(net, [x, y], {
      ...quiet, epochs: 3, batchSize: 16, device, optimizer: new TinySGD(net.parameters(), 0.5), loss: 'crossEntropy',
      metrics: ['accuracy'], validation: [x, y],
    });
    assert.ok(h.last().val_accuracy > 0.9);
    const p = await tg.predict(net, x, { device });
    assert.ok(p.device.startsWith(device));
    p.dispose();
    const after = tg.memory();
    assert.strictEqual(after.tensors, before.tensors);
    assert.strictEqual(after.cudaBytes, before.cudaBytes);
    tg.dispose([x, y]);
    net.dispose();
  });
}

test('bad inputs are errors that name the problem', async () => {
  const [x, y] = separable(8, 9);
  const net = new TinyLinear(2, 2);
  const optimizer = new TinySGD(net.parameters(), 0.1);
  const ok = { ...quiet, optimizer, loss: 'crossEntropy' };
  await assert.rejects(tg.fit({}, [x, y], ok), /model must have forward\(x\), train\(\) and eval\(\)/);
  await assert.rejects(tg.fit(net, [x, y], { ...ok, optimizer: {} }), /optimizer must have zeroGrad\(\) and step\(\)/);
  await assert.rejects(tg.fit(net, [x, y], { ...ok, loss: undefined }), /loss is required/);
  await assert.rejects(tg.fit(net, [x, y], { ...ok, loss: 'hinge' }), /unknown loss 'hinge'; known: crossEntropy/);
  await assert.rejects(tg.fit(net, [x, y], { ...ok, metrics: ['f7'] }), /unknown metric 'f7'/);
  await assert.rejects(tg.fit(net, [x, y], { ...ok, metrics: [() => 1] }), /anonymous metric function needs a name/);
  await assert.rejects(tg.fit(net, [x, y], { ...ok, epochs: 0 }), /epochs must be an integer >= 1, got 0/);
  await assert.rejects(tg.fit(net, [x, y], { ...ok, batchSize: -1 }), /batchSize must be an integer >= 1/);
  await assert.rejects(tg.fit(net, 42, ok), /data must be a DataLoader, a dataset, tensors \[x, y\]/);
  await assert.rejects(tg.fit(net, [x], ok), /needs a target: \[x, y\]/);
  await assert.rejects(tg.fit(net, [[x, 'y']], ok), /each batch must be an array of tensors/);
  await assert.rejects(tg.fit(net, [x, y], { ...ok, loss: () => 3 }), /loss function must return a Tensor/);
  await assert.rejects(tg.fit(net, [x, y], { ...ok, earlyStopping: { monitor: 'val_loss' } }), /'val_loss' is not in the epoch logs .*need fit\(\{ validation \}\)/);
  const noState = { forward: (t) => net.forward(t), train() {}, eval() {} };
  await assert.rejects(tg.fit(noState, [x, y], { ...ok, earlyStopping: { monitor: 'loss', restoreBest: true } }), /restoreBest needs a model with stateDict\(\) and loadStateDict\(\)/);
  const oneShot = (function* () {
    yield [x, y];
  })();
  await assert.rejects(tg.fit(net, oneShot, { ...ok, epochs: 2 }), /gave no batches in epoch 1 \(a one-shot iterator/);
  await assert.rejects(tg.evaluate(net, [x, y], {}), /give a loss, metrics, or both/);
  await assert.rejects(tg.predict({}, x), /model must have forward/);
  assert.strictEqual(tg.memory().scopes, 0, 'no tidy scope left open by a failed step');
  tg.dispose([x, y]);
  net.dispose();
});
