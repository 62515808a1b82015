'use strict';
// Views of a storage rebuilt from narrow/view/select/permute/unsqueeze/expand: for random offsets, sizes and strides
// (transposed, sliced, strided, broadcast), each view reads exactly the elements a strided index gives, and shares the
// storage's memory; views the ops cannot express are copied within a budget.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { StorageViews, planView } = require('../dist/io/storage-views');
const { TensorRef } = require('../dist/io/pickle');

/** The elements a strided view reads, by direct indexing (the reference). */
function strided(data, offset, shape, strides) {
  const out = [];
  const idx = shape.map(() => 0);
  const n = shape.reduce((a, d) => a * d, 1);
  for (let k = 0; k < n; k++) {
    out.push(data[offset + idx.reduce((a, v, i) => a + v * strides[i], 0)]);
    for (let d = shape.length - 1; d >= 0; d--) if (++idx[d] < shape[d]) break; else idx[d] = 0;
  }
  return out;
}

test('random strided views of a storage read what strided indexing reads, and share its memory', () => {
  let seed = 12345;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const numel = 240;
  const data = Float32Array.from({ length: numel }, (_, i) => i);
  const storage = { key: '0', dtype: 'float32', location: 'cpu', numel, nbytes: numel * 4 };
  const views = new StorageViews('test', () => 1 << 20);
  views.addStorage(storage, new Uint8Array(data.buffer));
  let planned = 0;
  try {
    for (let trial = 0; trial < 600; trial++) {
      const dims = rnd(5);
      const shape = Array.from({ length: dims }, () => rnd(5) + (rnd(4) ? 1 : 0));
      const strides = Array.from({ length: dims }, () => [0, 1, 2, 3, 4, 5, 6, 12, 20, 60][rnd(10)]);
      const reach = shape.reduce((a, d, i) => a + (d > 0 ? (d - 1) * strides[i] : 0), 0);
      if (reach >= numel) continue;
      const offset = rnd(numel - reach);
      const ref = new TensorRef(storage, offset, shape, strides, false, false);
      if (planView(offset, shape, strides, numel)) planned++;
      const t = views.view('t', ref);
      assert.deepStrictEqual(t.shape, shape, `shape of ${JSON.stringify({ offset, shape, strides })}`);
      assert.deepStrictEqual(Array.from(t.dataSync()), strided(data, offset, shape, strides), JSON.stringify({ offset, shape, strides }));
      t.dispose();
    }
    assert.ok(planned > 300, `only ${planned} views were expressed as views`);
    // A view shares the storage: a write through one shows in another.
    const a = views.view('a', new TensorRef(storage, 0, [numel], [1], false, false));
    const b = views.view('b', new TensorRef(storage, 7, [3, 2], [20, 1], false, false));
    a.fill_(-3);
    assert.deepStrictEqual(Array.from(b.dataSync()), [-3, -3, -3, -3, -3, -3]);
    tg.dispose([a, b]);
  } finally {
    views.dispose();
  }
});

test('overlapping views are copied only within the budget', () => {
  const storage = { key: '0', dtype: 'float32', location: 'cpu', numel: 4, nbytes: 16 };
  const views = new StorageViews('f.pt', () => 40); // room for one 24-byte copy, not two
  views.addStorage(storage, new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer));
  try {
    // Strides [1, 1]: a sliding window, which no narrow/view/select expresses.
    const t = views.view('w', new TensorRef(storage, 0, [3, 2], [1, 1], false, false));
    assert.deepStrictEqual(Array.from(t.dataSync()), [1, 2, 2, 3, 3, 4]);
    t.dispose();
    assert.throws(() => views.view('w2', new TensorRef(storage, 0, [3, 2], [1, 1], false, false)).dispose(), { code: 'ERR_PYTORCH_TENSOR' });
  } finally {
    views.dispose();
  }
});
