'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { settleTensors } = require('./helpers/settle.js');

const { DataLoader, TensorDataset, Generator } = tg.data;

// A dataset of n examples [x_i = [i, -i], y_i = i]: the labels tell which indices a batch holds.
function indexed(n) {
  const x = tg.arange(0, n, 1, { dtype: 'float32' });
  const xs = tg.stack([x, x.neg()], 1);
  x.dispose();
  return new TensorDataset(xs, tg.arange(n));
}
function labels(batches) {
  return batches.map(([, y]) => y.toArray());
}
function take(loader) {
  const out = [];
  for (const b of loader) {
    out.push(b);
  }
  const l = labels(out);
  out.forEach((b) => tg.dispose(b));
  return l;
}

test('DataLoader covers every index exactly once per epoch, with a last partial batch', () => {
  const loader = new DataLoader(indexed(10), { batchSize: 4, shuffle: true, seed: 7 });
  assert.strictEqual(loader.length, 3);
  for (let epoch = 0; epoch < 3; epoch++) {
    const batches = take(loader);
    assert.deepStrictEqual(batches.map((b) => b.length), [4, 4, 2]);
    assert.deepStrictEqual(batches.flat().sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
});

test('DataLoader without shuffle keeps dataset order and yields [x, y] rows that match', () => {
  const loader = new DataLoader(indexed(5), { batchSize: 2 });
  const [[x, y]] = loader;
  assert.deepStrictEqual(x.toArray(), [[0, -0], [1, -1]]);
  assert.deepStrictEqual(y.toArray(), [0, 1]);
  assert.deepStrictEqual(take(loader), [[0, 1], [2, 3], [4]]);
});

test('shuffle is reproducible with a seed and differs between epochs and seeds', () => {
  const ds = indexed(20);
  const a = new DataLoader(ds, { batchSize: 20, shuffle: true, seed: 123 });
  const b = new DataLoader(ds, { batchSize: 20, shuffle: true, seed: 123 });
  const c = new DataLoader(ds, { batchSize: 20, shuffle: true, seed: 124 });
  const a0 = take(a)[0];
  const a1 = take(a)[0];
  assert.deepStrictEqual(take(b)[0], a0, 'same seed, same first epoch');
  assert.deepStrictEqual(take(b)[0], a1, 'same seed, same second epoch');
  assert.notDeepStrictEqual(a0, a1, 'epochs differ');
  assert.notDeepStrictEqual(take(c)[0], a0, 'seeds differ');
  assert.deepStrictEqual(a.order(0), a0);
  a.setEpoch(1);
  assert.deepStrictEqual(take(a)[0], a1, 'setEpoch replays an epoch');
});

test('without a seed, tg.manualSeed makes the loader reproducible', () => {
  const ds = indexed(12);
  tg.manualSeed(5);
  const a = take(new DataLoader(ds, { batchSize: 12, shuffle: true }))[0];
  tg.manualSeed(5);
  const b = take(new DataLoader(ds, { batchSize: 12, shuffle: true }))[0];
  assert.deepStrictEqual(a, b);
  // Equal because of the seed, not because neither shuffled: not the dataset order, and another seed differs.
  const identity = Array.from({ length: 12 }, (_, i) => i);
  assert.notDeepStrictEqual(a, identity, 'the loader shuffled');
  assert.deepStrictEqual([...a].sort((x, y) => x - y), identity, 'a permutation');
  tg.manualSeed(6);
  assert.notDeepStrictEqual(take(new DataLoader(ds, { batchSize: 12, shuffle: true }))[0], a, 'another manualSeed, another order');
});

test('dropLast drops the short last batch', () => {
  const loader = new DataLoader(indexed(10), { batchSize: 4, dropLast: true, shuffle: true, seed: 1 });
  assert.strictEqual(loader.length, 2);
  const batches = take(loader);
  assert.deepStrictEqual(batches.map((b) => b.length), [4, 4]);
  assert.strictEqual(new Set(batches.flat()).size, 8);
});

test('Generator: known sequence per seed, unbiased permutation, floats in [0, 1)', () => {
  const g = new Generator(42);
  const first = [g.nextUint32(), g.nextUint32()];
  assert.deepStrictEqual([new Generator(42).nextUint32(), new Generator(42).nextUint32()], [first[0], first[0]]);
  assert.notStrictEqual(new Generator(42, 1).nextUint32(), new Generator(42, 2).nextUint32());
  const p = new Generator(9).permutation(50);
  assert.deepStrictEqual([...p].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  // every position of a 3-permutation gets each value about equally often
  const counts = [0, 0, 0];
  const r = new Generator(3);
  for (let k = 0; k < 3000; k++) counts[r.permutation(3)[0]]++;
  for (const c of counts) assert.ok(c > 850 && c < 1150, `counts ${counts}`);
  for (let k = 0; k < 100; k++) {
    const f = r.nextFloat();
    assert.ok(f >= 0 && f < 1);
  }
});

test('async iteration gives the same batches as sync iteration', async () => {
  const ds = indexed(7);
  const loader = new DataLoader(ds, { batchSize: 3, shuffle: true, seed: 2 });
  const sync = take(loader);
  loader.setEpoch(0);
  const out = [];
  for await (const [x, y] of loader) {
    out.push(y.toArray());
    tg.dispose([x, y]);
  }
  assert.deepStrictEqual(out, sync);
});

test('TensorDataset: getItem gives rows, getBatch gathers with indexSelect, tensors are new', () => {
  const ds = indexed(6);
  const [x2, y2] = ds.getItem(2);
  assert.deepStrictEqual(x2.toArray(), [2, -2]);
  assert.strictEqual(y2.item(), 2);
  x2.dispose();
  assert.ok(!ds.tensors[0].isDisposed, 'disposing an item leaves the dataset intact');
  const [xb, yb] = ds.getBatch([5, 0, 5]);
  assert.deepStrictEqual(xb.toArray(), [[5, -5], [0, -0], [5, -5]]);
  assert.deepStrictEqual(yb.toArray(), [5, 0, 5]);
  assert.throws(() => ds.getItem(6), /index 6 is out of range for a dataset of 6 examples/);
  assert.throws(() => ds.getBatch([0, -1]), /index -1 is out of range/);
});

test('a custom collate is used with getItem', () => {
  const ds = indexed(4);
  const calls = [];
  const loader = new DataLoader(ds, {
    batchSize: 2,
    collate: (examples) => {
      calls.push(examples.length);
      return tg.data.defaultCollate(examples);
    },
  });
  assert.deepStrictEqual(take(loader), [[0, 1], [2, 3]]);
  assert.deepStrictEqual(calls, [2, 2]);
});

test('loader batches are the only tensors left after an epoch', () => {
  const ds = indexed(9);
  const loader = new DataLoader(ds, { batchSize: 4, collate: tg.data.defaultCollate });
  const before = tg.memory().tensors;
  for (const b of loader) tg.dispose(b);
  assert.strictEqual(tg.memory().tensors, before);
});

test('fromArrays: nested arrays, flat TypedArrays with featureShape, label dtypes', () => {
  const a = tg.data.fromArrays([[0, 1], [1, 0], [1, 1]], [1, 0, 2]);
  assert.deepStrictEqual(a.tensors.map((t) => [t.dtype, t.shape]), [['float32', [3, 2]], ['int64', [3]]]);
  const b = tg.data.fromArrays(new Float32Array(24), new Uint8Array(2), { featureShape: [3, 4] });
  assert.deepStrictEqual(b.tensors.map((t) => [t.dtype, t.shape]), [['float32', [2, 3, 4]], ['int64', [2]]]);
  const c = tg.data.fromArrays(new Float64Array(6), [0.5, 1.5, 2.5]);
  assert.deepStrictEqual(c.tensors.map((t) => [t.dtype, t.shape]), [['float32', [3, 2]], ['float32', [3]]]);
  const d = tg.data.fromArrays([1, 2, 3]);
  assert.deepStrictEqual(d.tensors.map((t) => t.shape), [[3, 1]], 'unlabeled scalars: one feature per example');
  assert.strictEqual(d.length, 3);
  [a, b, c, d].forEach((ds) => ds.dispose());
});

test('streams: fromAsyncIterable batched by a DataLoader, batchStream, dropLast', async () => {
  const stream = tg.data.fromAsyncIterable(async function* () {
    for (let i = 0; i < 5; i++) yield [tg.tensor([i, 2 * i], { dtype: 'float32' }), i];
  });
  await settleTensors(); // earlier garbage must not die during the awaits below
  const before = tg.memory().tensors;
  for (let pass = 0; pass < 2; pass++) {
    const got = [];
    for await (const [x, y] of new DataLoader(stream, { batchSize: 2 })) {
      got.push(y.toArray());
      assert.deepStrictEqual(x.shape, [y.shape[0], 2]);
      tg.dispose([x, y]);
    }
    assert.deepStrictEqual(got, [[0, 1], [2, 3], [4]], `pass ${pass}`);
  }
  const dropped = [];
  for await (const b of tg.data.batchStream(stream, { batchSize: 2, dropLast: true })) {
    dropped.push(b[1].toArray());
    tg.dispose(b);
  }
  assert.deepStrictEqual(dropped, [[0, 1], [2, 3]]);
  assert.strictEqual(tg.memory().tensors, before, 'examples are disposed once collated or dropped');
});

test('fromLines streams a CSV file from disk on every pass', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tg-lines-')), 'data.csv');
  fs.writeFileSync(file, 'a,b,label\n' + Array.from({ length: 7 }, (_, i) => `${i},${i / 2},${i % 3}`).join('\n') + '\n');
  const ds = tg.data.fromLines(file, (line, n) => {
    if (n === 0) return undefined;
    const [a, b, label] = line.split(',').map(Number);
    return [tg.tensor([a, b], { dtype: 'float32' }), label];
  });
  for (let pass = 0; pass < 2; pass++) {
    const ys = [];
    for await (const [x, y] of new DataLoader(ds, { batchSize: 3 })) {
      ys.push(...y.toArray());
      tg.dispose([x, y]);
    }
    assert.deepStrictEqual(ys, [0, 1, 2, 0, 1, 2, 0]);
  }
  const bad = tg.data.fromLines(file, () => {
    throw new Error('cannot parse');
  });
  await assert.rejects(async () => {
    for await (const b of bad) tg.dispose(b);
  }, /data\.csv:1: cannot parse/);
  fs.rmSync(path.dirname(file), { recursive: true });
});

test('bad inputs throw clear errors', () => {
  const x = tg.zeros([4, 2]);
  assert.throws(() => new TensorDataset(x, tg.zeros([3])), /same first dimension; sizes are \[4, 3\]/);
  assert.throws(() => new TensorDataset(x, [1, 2, 3, 4]), /argument 1 is not a Tensor/);
  assert.throws(() => new TensorDataset(), /at least one tensor/);
  assert.throws(() => new TensorDataset(tg.tensor(3)), /scalar/);
  const ds = new TensorDataset(x);
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
  assert.throws(() => new DataLoader(ds, { batchSize: -2 }), /batchSize must be a positive integer/);
  assert.throws(() => new DataLoader(ds, { batchSize: 1.5 }), /batchSize must be a positive integer/);
  assert.throws(() => new DataLoader(x), /expected a dataset .*got Tensor .*tg\.data\.TensorDataset/);
  assert.throws(() => new DataLoader([1, 2, 3]), /expected a dataset/);
  assert.throws(() => new DataLoader(ds, { seed: 'x' }), /seed must be an integer/);
  const stream = tg.data.fromAsyncIterable(async function* () {});
  assert.throws(() => new DataLoader(stream, { shuffle: true }), /shuffle needs random access/);
  assert.throws(() => [...new DataLoader(stream)], /for await/);
  assert.throws(() => tg.data.fromAsyncIterable([1, 2]), /function that starts a pass/);
  assert.throws(() => tg.data.fromArrays([[1, 2], [3, 4]], [1, 2, 3]), /2 feature rows but 3 labels/);
  assert.throws(() => tg.data.fromArrays(new Float32Array(7), [0, 1]), /7 feature values do not split into 2 examples/);
  assert.throws(() => tg.data.fromArrays('abc', [1]), /features must be an array or a TypedArray/);
  assert.throws(() => tg.data.fromArrays(x, [1]), /use new TensorDataset/);
  assert.throws(() => tg.data.defaultCollate([[tg.zeros([1])], [1]]), /field 0 mixes tensors and other values/);
  assert.throws(() => tg.data.defaultCollate([[1, 2], [3]]), /example 1 has 1 fields, example 0 has 2/);
});

test('a loader in order does not draw from LibTorch\'s generator', () => {
  const ds = indexed(3);
  tg.manualSeed(11);
  const a = tg.tidy(() => tg.rand([1]).item());
  tg.manualSeed(11);
  new DataLoader(ds, { batchSize: 2 });
  assert.strictEqual(tg.tidy(() => tg.rand([1]).item()), a);
});
