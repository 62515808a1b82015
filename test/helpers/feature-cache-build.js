'use strict';
// The model and data of the feature-cache build tests, the same in the test process and in the child it kills.
const tg = require('../..');
const { nn } = tg;

/** A frozen conv part over 3x8x8 images and a head; the same weights at each call. */
function model() {
  tg.manualSeed(21);
  return new nn.Sequential({
    conv: new nn.Conv2d(3, 6, 3, { padding: 1 }), act: new nn.ReLU(), pool: new nn.MaxPool2d(2), flat: new nn.Flatten(),
    out: new nn.Linear(6 * 4 * 4, 4),
  }).freeze(/^conv\./);
}

/**
 * `n` images with labels behind a dataset with a cache key (so the fingerprint reads no rows); `onBatch(firstRow)`
 * runs before each batch is read, and counts the reads in `reads`.
 */
function data(n = 100, onBatch = () => undefined) {
  tg.manualSeed(9);
  const ds = new tg.data.TensorDataset(tg.randn([n, 3, 8, 8]), tg.randint(0, 4, [n]));
  const wrapped = {
    length: n,
    cacheKey: `build-test-${n}`,
    reads: 0,
    getBatch: (idx) => {
      wrapped.reads++;
      onBatch(idx[0]);
      return ds.getBatch(idx);
    },
    getItem: (i) => ds.getItem(i),
  };
  return wrapped;
}

/** Holds the thread for `ms` (a slow source, so that a child is killed mid-build). */
function stall(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

module.exports = { model, data, stall };
