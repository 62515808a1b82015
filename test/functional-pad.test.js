'use strict';
// tg.nn.functional.pad in every mode against torch.nn.functional.pad: outputs and input gradients for 1-D, 2-D and 3-D
// padding, cropping by negative padding, unbatched inputs; and the errors PyTorch raises, as JavaScript errors.
const test = require('node:test');
const assert = require('node:assert');
const { goldenSuite, make, tg } = require('./helpers/golden');

const F = tg.nn.functional;
const x = (shape) => () => ({ x: make.randn(shape) });

const cases = [];
for (const mode of ['constant', 'reflect', 'replicate', 'circular']) {
  const m = JSON.stringify(mode);
  cases.push(
    { name: `${mode}, 1-D padding of (N, C, W)`, inputs: x([2, 3, 5]), js: (t) => F.pad(t.x, [2, 1], mode), py: `F.pad(x, (2, 1), mode=${m})` },
    { name: `${mode}, 2-D padding of (N, C, H, W)`, inputs: x([2, 2, 4, 5]), js: (t) => F.pad(t.x, [1, 3, 2, 0], mode), py: `F.pad(x, (1, 3, 2, 0), mode=${m})` },
    { name: `${mode}, 3-D padding of (N, C, D, H, W)`, inputs: x([1, 2, 3, 4, 4]), js: (t) => F.pad(t.x, [1, 2, 0, 3, 2, 1], mode), py: `F.pad(x, (1, 2, 0, 3, 2, 1), mode=${m})` },
    { name: `${mode}, cropping on one side and padding on the other`, inputs: x([2, 3, 6]), js: (t) => F.pad(t.x, [-2, 3], mode), py: `F.pad(x, (-2, 3), mode=${m})` },
    { name: `${mode}, cropping both sides`, inputs: x([1, 2, 5, 6]), js: (t) => F.pad(t.x, [-1, -2, 1, -1], mode), py: `F.pad(x, (-1, -2, 1, -1), mode=${m})` },
  );
}
cases.push(
  { name: 'constant with a value, on all four dimensions', inputs: x([2, 3, 2, 2]), js: (t) => F.pad(t.x, [1, 0, 0, 2, 1, 1, 0, 1], 'constant', -1.5), py: "F.pad(x, (1, 0, 0, 2, 1, 1, 0, 1), mode='constant', value=-1.5)" },
  { name: 'constant with the value as third argument (shorthand)', inputs: x([3, 4]), js: (t) => F.pad(t.x, [1, 2], 2.5), py: 'F.pad(x, (1, 2), value=2.5)' },
  { name: 'constant cropping to an empty dimension', inputs: x([2, 4]), js: (t) => F.pad(t.x, [-2, -2]), py: 'F.pad(x, (-2, -2))' },
  { name: 'reflect at the widest padding (size - 1)', inputs: x([1, 2, 4]), js: (t) => F.pad(t.x, [3, 3], 'reflect'), py: "F.pad(x, (3, 3), mode='reflect')" },
  { name: 'replicate wider than the input', inputs: x([1, 2, 3]), js: (t) => F.pad(t.x, [5, 4], 'replicate'), py: "F.pad(x, (5, 4), mode='replicate')" },
  { name: 'circular by the whole size', inputs: x([1, 2, 4]), js: (t) => F.pad(t.x, [4, 4], 'circular'), py: "F.pad(x, (4, 4), mode='circular')" },
  { name: 'reflect of an unbatched (C, H, W) input', inputs: x([3, 4, 5]), js: (t) => F.pad(t.x, [2, 1, 1, 2], 'reflect'), py: "F.pad(x, (2, 1, 1, 2), mode='reflect')" },
  { name: 'replicate of an unbatched (C, W) input', inputs: x([3, 4]), js: (t) => F.pad(t.x, [2, 1], 'replicate'), py: "F.pad(x, (2, 1), mode='replicate')" },
  { name: 'reflect in float64', inputs: () => ({ x: make.randn([2, 2, 5]).double() }), js: (t) => F.pad(t.x, [2, 2], 'reflect'), py: "F.pad(x, (2, 2), mode='reflect')" },
);
goldenSuite('F.pad against torch.nn.functional.pad (output and input gradient)', cases);

test('a reflect padding as wide as the input is refused, as PyTorch refuses it', () => {
  const t = tg.zeros([1, 3, 4]);
  assert.throws(() => F.pad(t, [4, 0], 'reflect'), (e) => e instanceof RangeError && /reflect padding \(4, 0\) must be less than the size of dimension 2/.test(e.message));
  assert.throws(() => F.pad(t, [0, 1, 3, 0], 'reflect'), (e) => e instanceof RangeError && /dimension 1/.test(e.message));
  assert.throws(() => F.pad(t, [5, 0], 'circular'), (e) => e instanceof RangeError && /wrap around more than once/.test(e.message));
  assert.throws(() => F.pad(t, [-2, 3], 'circular'), (e) => e instanceof RangeError && /wrap around more than once/.test(e.message));
  t.dispose();
});

test('pad refuses bad input with TypeError/RangeError naming the problem', () => {
  const t = tg.zeros([1, 3, 4]);
  const cases = [
    [() => F.pad(t, [1, 2, 3]), RangeError, /divisible by 2/],
    [() => F.pad(t, [1, 1, 1, 1, 1, 1, 1, 1]), RangeError, /more than two times/],
    [() => F.pad(t, [1.5, 1]), TypeError, /array of integers/],
    [() => F.pad(t, 'ab'), TypeError, /array of integers/],
    [() => F.pad(t, [1, 1], 'bogus'), TypeError, /unknown padding mode 'bogus'/],
    [() => F.pad(t, [1, 1], 'reflect', 1), TypeError, /'reflect' does not take a value/],
    [() => F.pad(t, [1, 1], 'constant', 'x'), TypeError, /value must be a number/],
    [() => F.pad(t, [-3, -2]), RangeError, /negative size at dimension 2/],
    [() => F.pad(t, [-2, -2], 'reflect'), RangeError, /leaves no element/],
    [() => F.pad(t, [-4, 0], 'replicate'), RangeError, /leaves no element/],
    [() => F.pad(tg.zeros([4]), [1, 1], 'reflect'), RangeError, /needs a 2-D or 3-D input/],
    [() => F.pad(tg.zeros([1, 1, 1, 2, 2, 2]), [1, 1, 1, 1, 1, 1, 1, 1], 'replicate'), RangeError, /needs a 5-D or 6-D input/],
    [() => F.pad({ shape: [2] }, [1, 1]), TypeError, /input must be a Tensor/],
  ];
  for (const [fn, cls, re] of cases) assert.throws(fn, (e) => e instanceof cls && re.test(e.message), String(fn));
  t.dispose();
});

test('pad leaves no tensor behind and does not change its input', () => {
  const t = tg.arange(0, 12, 1, { dtype: 'float32' }).reshape([1, 3, 4]);
  const before = tg.memory().tensors;
  const y = F.pad(t, [2, 1], 'reflect');
  assert.strictEqual(tg.memory().tensors, before + 1);
  assert.deepStrictEqual(Array.from(y.dataSync().slice(0, 7)), [2, 1, 0, 1, 2, 3, 2]);
  assert.deepStrictEqual(Array.from(t.dataSync().slice(0, 4)), [0, 1, 2, 3]);
  tg.dispose([t, y]);
});
