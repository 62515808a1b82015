'use strict';
// The golden helper's assertClose judges element by element (numpy.allclose), not by the tensor's largest value.
const test = require('node:test');
const assert = require('node:assert');
const { assertClose, closeness, relError, tg } = require('./helpers/torch');

// A Python result as runTorch returns it.
const py = (values, shape = [values.length]) => ({ shape, data: Float64Array.from(values) });

test('a small element off by 5% fails although the largest value hides it from the old max-scaled error', () => {
  const got = tg.tensor([10, 0.00105], { dtype: 'float64' });
  const want = py([10, 0.001]);
  assert.ok(relError(got, want) < 1e-5, 'the max-scaled error would have passed');
  assert.throws(() => assertClose(assert, got, want, 1e-5, 'out'), /out: not within .* at \[1\]: got 0\.00105, expected 0\.001/);
});

test('within atol + rtol * |expected| passes, element by element; NaN matches NaN, and the floor follows the scale', () => {
  assertClose(assert, tg.tensor([1, -2, 0, NaN], { dtype: 'float64' }), py([1 + 5e-6, -2 - 1e-5, 1.5e-6, NaN]), 1e-5);
  assert.throws(() => assertClose(assert, tg.tensor([10, 0], { dtype: 'float64' }), py([10, 3e-5]), 1e-5), /not within atol 0\.00001 .* at \[1\]/);
  // A tensor of small values gets a floor in its own scale: 1e-9 here, not 1e-6.
  assert.throws(() => assertClose(assert, tg.tensor([1e-3, 0], { dtype: 'float64' }), py([1e-3, 1e-8]), 1e-5), /atol 1e-9 /);
  assertClose(assert, tg.tensor([0], { dtype: 'float64' }), py([1e-8]), 1e-5, 'explicit', { atol: 1e-7 });
  assert.strictEqual(closeness(tg.tensor([1, 2], { dtype: 'float64' }), py([1, 2.2]), 0.1, 0).at, 1);
  assert.throws(() => assertClose(assert, tg.tensor([1, 2]), py([1, 2, 3]), 1e-5), /shape/);
});
