'use strict';
// validationSplit's parts (lib/train/validation-split.ts) looked at directly: the views of a non-tensor dataset map
// indices (getItem, getBatch, loadBatches) and refuse indices outside their part; tensor data is copied and freed
// without leaks; the smallest split that leaves one example on each side is allowed (mutation testing found these
// paths unchecked).
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { splitForValidation } = require('../dist/train/validation-split');

const refuses = (fn, Type, re) => assert.throws(fn, (e) => e instanceof Type && re.test(e.message), `${Type.name} matching ${re}`);

/** A dataset of n items whose example i is [i], recording the indices it is asked for. */
function recording(n, { batch = true, async = false } = {}) {
  const asked = [];
  const ds = { length: n, getItem: (i) => (asked.push(['item', i]), [i]) };
  if (batch) ds.getBatch = (idx) => (asked.push(['batch', idx]), idx);
  if (async) ds.loadBatches = async function* (order) { asked.push(['load', order]); yield order; };
  return { ds, asked };
}

test('a view maps its indices onto the dataset, and refuses indices outside its part', async () => {
  const { ds, asked } = recording(10, { async: true });
  const { train, validation } = splitForValidation(ds, 0.3, 4);
  assert.strictEqual(train.length + validation.length, 10);
  assert.strictEqual(validation.length, 3);
  // every original index once, each part ascending
  const trainIdx = Array.from({ length: train.length }, (_, i) => train.getItem(i)[0]);
  const valIdx = Array.from({ length: validation.length }, (_, i) => validation.getItem(i)[0]);
  assert.deepStrictEqual([...trainIdx, ...valIdx].sort((a, b) => a - b), [...Array(10).keys()]);
  assert.deepStrictEqual(trainIdx, [...trainIdx].sort((a, b) => a - b));
  asked.length = 0;
  assert.deepStrictEqual(validation.getBatch([2, 0]), [valIdx[2], valIdx[0]]);
  const loaded = [];
  for await (const b of validation.loadBatches([1, 2], { batchSize: 2 })) loaded.push(b);
  assert.deepStrictEqual(loaded, [[valIdx[1], valIdx[2]]]);
  assert.deepStrictEqual(asked, [['batch', [valIdx[2], valIdx[0]]], ['load', [valIdx[1], valIdx[2]]]]);
  for (const bad of [3, -1, 1.5, NaN]) refuses(() => validation.getItem(bad), RangeError, new RegExp(`^fit \\(validationSplit\\): index ${bad} is out of range for a part of 3 examples$`));
  refuses(() => train.getBatch([0, 7]), RangeError, /index 7 is out of range for a part of 7 examples/);
});

test('a view has getBatch and loadBatches only where the dataset does', () => {
  const { ds } = recording(6, { batch: false });
  const { train } = splitForValidation(ds, 0.5, 0);
  assert.strictEqual(train.getBatch, undefined);
  assert.strictEqual(train.loadBatches, undefined);
});

test('the smallest split: one example each side; tensors with a non-tensor, or none, are not tensor data', () => {
  const { ds } = recording(2);
  const { train, validation } = splitForValidation(ds, 0.5, 0);
  assert.deepStrictEqual([train.length, validation.length], [1, 1]);
  refuses(() => splitForValidation([tg.zeros([4, 2]), 'y'], 0.5, 0), TypeError, /^fit: validationSplit needs data given as tensors \[x, y\] or a dataset with a length; got /);
  refuses(() => splitForValidation([], 0.5, 0), TypeError, /^fit: validationSplit needs data given as tensors/);
});

test('tensor data is copied into two TensorDatasets; dispose frees them and nothing else is left', async () => {
  const x = tg.arange(0, 10, 1, { dtype: 'float32' }).reshape([10, 1]);
  const y = tg.arange(0, 10, 1, { dtype: 'int64' });
  const { settleTensors } = require('./helpers/settle.js');
  await settleTensors();
  const before = tg.memory().tensors;
  const split = splitForValidation([x, y], 0.2, 1);
  assert.strictEqual(tg.memory().tensors, before + 4, 'the four parts, and no index tensor left');
  const [vx, vy] = split.validation.tensors;
  assert.deepStrictEqual(tg.tidy(() => vx.reshape([-1]).toArray()), vy.toArray().map(Number), 'rows kept together');
  split.dispose();
  assert.strictEqual(tg.memory().tensors, before, 'the parts freed');
});
