'use strict';
// Creation, dtypes, devices, conversions, reading values and printing, compared with PyTorch where it has an answer.
const test = require('node:test');
const { describe, it, before } = test;
const assert = require('node:assert');
const { runTorch, tg } = require('./helpers/torch');
const { DEVICES, CUDA_SKIP } = require('./helpers/cuda');

const DTYPES = ['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'int16', 'int8', 'uint8', 'bool'];
const decode = (r) => Buffer.from(Array.from(r.data, Number)).toString();
const values = (t) => Array.from(t.to({ device: 'cpu', dtype: 'float64' }).dataSync());

// Tensors printed on both sides; each is shipped to Python exactly (T[name]).
function printCases() {
  tg.manualSeed(5);
  const cases = {
    small: tg.tensor([[1.5, 2], [3, 4]]),
    randn: tg.randn([3, 4]),
    wrapped: tg.randn([25]),
    summarised: tg.arange(2000).float(),
    summarised3d: tg.randn([10, 20, 30]),
    sci: tg.tensor([1e-5, 1, 1000]),
    large: tg.randn([2, 3]).mul(1e9),
    tiny: tg.randn([4]).mul(1e-7),
    nonfinite: tg.tensor([NaN, Infinity, -Infinity, 1.5]),
    nanInt: tg.tensor([NaN, 1, 20], { dtype: 'float32' }),
    intValued: tg.tensor([0, 100, -3], { dtype: 'float32' }),
    ties: tg.tensor([1.03125, 2.65625, -0.15625, 1e-4 * 0]),
    negZero: tg.tensor([-0, 1, 2], { dtype: 'float32' }),
    int64: tg.tensor([[1, -20], [300, 4]]),
    bigInt64: tg.tensor(new BigInt64Array([2n ** 62n, -5n])),
    bool: tg.tensor([[true, false], [false, true]]),
    uint8: tg.tensor([0, 7, 255], { dtype: 'uint8' }),
    int8: tg.tensor([-128, 0, 127], { dtype: 'int8' }),
    int16: tg.tensor([-300, 12], { dtype: 'int16' }),
    int32: tg.arange(12, undefined, 1, { dtype: 'int32' }).reshape([3, 4]),
    float64: tg.randn([2, 2], { dtype: 'float64' }),
    float16: tg.randn([3], { dtype: 'float16' }),
    bfloat16: tg.randn([2, 2], { dtype: 'bfloat16' }),
    scalar: tg.tensor(3.5),
    intScalar: tg.tensor(7),
    empty: tg.zeros([0]),
    empty2d: tg.zeros([0, 3]),
    emptyInt: tg.zeros([0], { dtype: 'int64' }),
    emptyInt32: tg.zeros([2, 0], { dtype: 'int32' }),
    leaf: tg.tensor([1, 2], { dtype: 'float32', requiresGrad: true }),
    leafLong: tg.randn([30], { requiresGrad: true }),
    bigDims: tg.ones([2, 2, 2, 2]),
    manyRows: tg.randn([1001, 2]),
  };
  return cases;
}
// Tensors with a grad_fn: the same graph is built on both sides from one leaf.
const gradFnCases = {
  mul: { js: (x) => x.mul(2), py: 'x * 2' },
  div: { js: (x) => x.div(2), py: 'x.div(2)' },
  divTensor: { js: (x) => x.div(x.detach().add(1)), py: 'x.div(x.detach() + 1)' },
  divFloor: { js: (x) => x.div(2, 'floor'), py: "x.div(2, rounding_mode='floor')" },
  sub: { js: (x) => x.sub(0.5), py: 'x.sub(0.5)' },
  addAlpha: { js: (x) => x.add(x, 2), py: 'x.add(x, alpha=2)' },
  sum: { js: (x) => x.add(1).sum(), py: '(x + 1).sum()' },
  relu: { js: (x) => x.relu(), py: 'x.relu()' },
  mean: { js: (x) => x.mean(), py: 'x.mean()' },
  view: { js: (x) => x.view([2, 2]), py: 'x.view(2, 2)' },
  linear: { js: (x) => tg.nn.functional.linear(x.view([2, 2]), x.view([2, 2])), py: 'F.linear(x.view(2, 2), x.view(2, 2))' },
};
const CONVERT_FROM = [-2.7, -0.5, 0, 0.4, 1.5, 3.9, 200.6, 300, 65504, 1e-3];

// Factories compared with PyTorch: [js, python, expected dtype]
const RANGES = {
  'arange(5)': { js: () => tg.arange(5), py: 'torch.arange(5)', dtype: 'int64' },
  'arange(1, 4, 0.5)': { js: () => tg.arange(1, 4, 0.5), py: 'torch.arange(1, 4, 0.5)', dtype: 'float32' },
  'arange(0, 1, 0.1)': { js: () => tg.arange(0, 1, 0.1), py: 'torch.arange(0, 1, 0.1)', dtype: 'float32' },
  'arange(10, 0, -3)': { js: () => tg.arange(10, 0, -3), py: 'torch.arange(10, 0, -3)', dtype: 'int64' },
  'arange with dtype': { js: () => tg.arange(0, 5, 1, { dtype: 'float64' }), py: 'torch.arange(0, 5, 1, dtype=torch.float64)', dtype: 'float64' },
  'linspace(0, 1, 7)': { js: () => tg.linspace(0, 1, 7), py: 'torch.linspace(0, 1, 7)', dtype: 'float32' },
  'linspace(-2, 3, 1)': { js: () => tg.linspace(-2, 3, 1), py: 'torch.linspace(-2, 3, 1)', dtype: 'float32' },
  'linspace(3, -2, 11) float64': { js: () => tg.linspace(3, -2, 11, { dtype: 'float64' }), py: 'torch.linspace(3, -2, 11, dtype=torch.float64)', dtype: 'float64' },
  'eye(3)': { js: () => tg.eye(3), py: 'torch.eye(3)', dtype: 'float32' },
  'eye(2, 4) int32': { js: () => tg.eye(2, 4, { dtype: 'int32' }), py: 'torch.eye(2, 4, dtype=torch.int32)', dtype: 'int32' },
  'full with an integer': { js: () => tg.full([2, 2], 3), py: 'torch.full((2, 2), 3)', dtype: 'int64' },
  'full with a float': { js: () => tg.full([3], 0.25), py: 'torch.full((3,), 0.25)', dtype: 'float32' },
  'full with a boolean': { js: () => tg.full([2], true), py: 'torch.full((2,), True)', dtype: 'bool' },
  'full with a dtype': { js: () => tg.full([2], 3, { dtype: 'float16' }), py: 'torch.full((2,), 3, dtype=torch.float16)', dtype: 'float16' },
  'zeros': { js: () => tg.zeros([2, 3]), py: 'torch.zeros(2, 3)', dtype: 'float32' },
  'ones int8': { js: () => tg.ones([4], { dtype: 'int8' }), py: 'torch.ones(4, dtype=torch.int8)', dtype: 'int8' },
  'tensor of nested integers': { js: () => tg.tensor([[1, 2], [3, 4]]), py: 'torch.tensor([[1, 2], [3, 4]])', dtype: 'int64' },
  'tensor of nested floats': { js: () => tg.tensor([[1.5, 2], [3, 4]]), py: 'torch.tensor([[1.5, 2], [3, 4]])', dtype: 'float32' },
  'tensor of booleans': { js: () => tg.tensor([true, false]), py: 'torch.tensor([True, False])', dtype: 'bool' },
  'tensor of a scalar': { js: () => tg.tensor(2.5), py: 'torch.tensor(2.5)', dtype: 'float32' },
};

describe('agreement with PyTorch', () => {
  const prints = printCases();
  const leaf = tg.tensor([0.5, -1.25, 2, 3], { dtype: 'float32', requiresGrad: true });
  const src = tg.tensor(CONVERT_FROM, { dtype: 'float32' });
  let py;
  before(() => {
    // the helper raises the print precision for its own use; strings are compared at PyTorch's defaults
    let code = "import torch.nn.functional as F\ntorch.set_printoptions(profile='default')\n";
    code += 'def _s(name, s): OUT[name] = torch.tensor(list(s.encode()), dtype=torch.int64)\n';
    for (const n of Object.keys(prints)) code += `_s('str_${n}', str(T['p_${n}']))\n`;
    for (const [n, c] of Object.entries(gradFnCases)) code += `x = T['leaf']\n_s('grad_${n}', str(${c.py}))\n`;
    for (const d of DTYPES) code += `OUT['to_${d}'] = T['src'].to(torch.${d})\nOUT['from_${d}'] = T['src'].to(torch.${d}).to(torch.float32)\n`;
    for (const [n, expr] of Object.entries(RANGES)) code += `OUT['range_${n}'] = ${expr.py}\n`;
    code += `torch.manual_seed(42); OUT['rand'] = torch.rand(7)\n`;
    code += `torch.manual_seed(42); OUT['randn'] = torch.randn(20)\n`;
    code += `torch.manual_seed(42); OUT['randint'] = torch.randint(0, 10, (9,))\n`;
    code += `torch.manual_seed(43); OUT['randn_after_rand'] = torch.cat([torch.rand(3), torch.randn(4, 5).flatten()])\n`;
    const tensors = { leaf, src };
    for (const [n, t] of Object.entries(prints)) tensors[`p_${n}`] = t;
    py = runTorch(code, tensors);
  });

  for (const n of Object.keys(printCases())) {
    it(`prints ${n} exactly as PyTorch's str()`, () => {
      assert.strictEqual(String(prints[n]), decode(py[`str_${n}`]));
    });
  }
  for (const [n, c] of Object.entries(gradFnCases)) {
    it(`prints the grad_fn of ${n} as PyTorch does`, () => {
      tg.tidy(() => assert.strictEqual(String(c.js(leaf)), decode(py[`grad_${n}`])));
    });
  }
  for (const d of DTYPES) {
    it(`to('${d}') converts values as PyTorch does (truncation, wrap-around, rounding)`, () => {
      tg.tidy(() => {
        const t = src.to(d);
        assert.strictEqual(t.dtype, d);
        assert.deepStrictEqual(values(t.to('float32')), Array.from(py[`from_${d}`].data));
        assert.deepStrictEqual(t.shape, py[`to_${d}`].shape);
      });
    });
  }
  for (const [n, r] of Object.entries(RANGES)) {
    it(`${n} gives PyTorch's values and dtype`, () => {
      tg.tidy(() => {
        const t = r.js();
        assert.strictEqual(t.dtype, r.dtype);
        assert.deepStrictEqual(t.shape, py[`range_${n}`].shape);
        const want = Array.from(py[`range_${n}`].data, Number);
        const got = values(t);
        for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i])), `${n}[${i}]: ${got[i]} vs ${want[i]}`);
      });
    });
  }
  it("manualSeed reproduces PyTorch's CPU draws for rand, randn and randint", () => {
    tg.tidy(() => {
      tg.manualSeed(42);
      assert.deepStrictEqual(values(tg.rand([7])), Array.from(py.rand.data));
      tg.manualSeed(42);
      assert.deepStrictEqual(values(tg.randn([20])), Array.from(py.randn.data));
      tg.manualSeed(42);
      assert.deepStrictEqual(values(tg.randint(0, 10, [9])), Array.from(py.randint.data, Number));
      tg.manualSeed(43);
      assert.deepStrictEqual(values(tg.cat([tg.rand([3]), tg.randn([4, 5]).flatten()])), Array.from(py.randn_after_rand.data));
    });
  });
});

test('every dtype can be created, read back and reported', () => {
  tg.tidy(() => {
    for (const d of DTYPES) {
      for (const t of [tg.tensor([[1, 0], [3, 1]], { dtype: d }), tg.zeros([2, 2], { dtype: d }).add(tg.tensor([[1, 0], [3, 1]]).to(d)), tg.ones([2, 2], { dtype: d }), tg.full([2, 2], 1, { dtype: d })]) {
        assert.strictEqual(t.dtype, d);
        assert.deepStrictEqual(t.shape, [2, 2]);
        assert.strictEqual(t.numel, 4);
        assert.strictEqual(t.ndim, 2);
        assert.strictEqual(t.device, 'cpu');
      }
      const t = tg.tensor([[1, 0], [3, 1]], { dtype: d });
      const expected = d === 'bool' ? [[true, false], [true, true]] : [[1, 0], [3, 1]];
      assert.deepStrictEqual(t.toArray(), expected, d);
      const data = t.dataSync();
      const arrayType = { float32: Float32Array, float64: Float64Array, float16: Float32Array, bfloat16: Float32Array, int64: BigInt64Array, int32: Int32Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array, bool: Uint8Array }[d];
      assert.ok(data instanceof arrayType, `${d} reads as ${arrayType.name}`);
      assert.strictEqual(data.length, 4);
      assert.strictEqual(tg.tensor(3, { dtype: d }).item(), d === 'bool' ? true : 3);
    }
  });
});

test('tensor() from TypedArrays keeps their dtype and takes a shape', () => {
  tg.tidy(() => {
    const cases = [
      [new Float32Array([1, 2, 3, 4]), 'float32'], [new Float64Array([1, 2, 3, 4]), 'float64'], [new Int32Array([1, 2, 3, 4]), 'int32'],
      [new Int16Array([1, 2, 3, 4]), 'int16'], [new Int8Array([1, 2, 3, 4]), 'int8'], [new Uint8Array([1, 2, 3, 4]), 'uint8'],
      [new BigInt64Array([1n, 2n, 3n, 4n]), 'int64'],
    ];
    for (const [arr, d] of cases) {
      const t = tg.tensor(arr, { shape: [2, 2] });
      assert.strictEqual(t.dtype, d);
      assert.deepStrictEqual(t.toArray(), [[1, 2], [3, 4]]);
    }
    const conv = tg.tensor(new Float32Array([1.5, 2.5]), { dtype: 'float64' });
    assert.strictEqual(conv.dtype, 'float64');
    assert.throws(() => tg.tensor(new Float32Array(5), { shape: [2, 2] }), RangeError);
    assert.throws(() => tg.tensor([[1, 2], [3]]), RangeError);
    assert.throws(() => tg.tensor(['a']), TypeError);
  });
});

test('item, dataSync, data and toArray agree', async () => {
  const t = tg.tensor([[1.5, -2], [3, 4.25]]);
  assert.deepStrictEqual(Array.from(t.dataSync()), [1.5, -2, 3, 4.25]);
  assert.deepStrictEqual(Array.from(await t.data()), [1.5, -2, 3, 4.25]);
  assert.deepStrictEqual(t.toArray(), [[1.5, -2], [3, 4.25]]);
  assert.strictEqual(t.select(1, 1).select(0, 1).item(), 4.25);
  const big = tg.tensor(new BigInt64Array([2n ** 40n + 1n]));
  assert.strictEqual(big.item(), 2 ** 40 + 1);
  assert.strictEqual((await big.data())[0], 2n ** 40n + 1n);
  const nc = tg.arange(6).reshape([2, 3]).t();
  assert.deepStrictEqual(nc.toArray(), [[0, 3], [1, 4], [2, 5]], 'non-contiguous tensors read in logical order');
  assert.deepStrictEqual(Array.from(await nc.data(), Number), [0, 3, 1, 4, 2, 5]);
  assert.strictEqual(tg.tensor(5).toArray(), 5);
  assert.deepStrictEqual(tg.zeros([0, 2]).toArray(), []);
  tg.dispose([t, big, nc]);
});

test('*Like factories follow shape, dtype and device, and take overrides', () => {
  tg.tidy(() => {
    const base = tg.ones([2, 3], { dtype: 'float64' });
    for (const t of [tg.zerosLike(base), tg.onesLike(base), tg.fullLike(base, 2), tg.emptyLike(base), tg.randLike(base), tg.randnLike(base), tg.randintLike(base, 0, 5)]) {
      assert.deepStrictEqual(t.shape, [2, 3]);
      assert.strictEqual(t.dtype, 'float64');
      assert.strictEqual(t.device, base.device);
    }
    assert.strictEqual(tg.zerosLike(base, { dtype: 'int32' }).dtype, 'int32');
    assert.strictEqual(tg.onesLike(base, { requiresGrad: true }).requiresGrad, true);
    assert.strictEqual(tg.fullLike(base, 7).sum().item(), 42);
    const r = tg.randintLike(base, 3, 6);
    assert.ok(r.ge(3).all().item() && r.lt(6).all().item());
  });
});

test('random factories: ranges, dtypes and manualSeed reproducibility', () => {
  tg.tidy(() => {
    tg.manualSeed(123);
    const a = [tg.rand([50]), tg.randn([50]), tg.randint(-3, 3, [50])];
    tg.manualSeed(123);
    const b = [tg.rand([50]), tg.randn([50]), tg.randint(-3, 3, [50])];
    for (let i = 0; i < 3; i++) assert.ok(a[i].equal(b[i]), `draw ${i} reproduced`);
    assert.ok(a[0].ge(0).all().item() && a[0].lt(1).all().item());
    assert.ok(a[2].ge(-3).all().item() && a[2].lt(3).all().item());
    assert.strictEqual(a[2].dtype, 'int64');
    assert.strictEqual(tg.rand([2], { dtype: 'float64' }).dtype, 'float64');
    assert.strictEqual(tg.randint(0, 2, [2], { dtype: 'uint8' }).dtype, 'uint8');
    const n = tg.randn([20000]);
    assert.ok(Math.abs(n.mean().item()) < 0.05 && Math.abs(n.std().item() - 1) < 0.05);
    assert.throws(() => tg.randint(5, 5, [2]), RangeError);
  });
});

for (const device of ['cpu', 'cuda']) {
  test(`tensors move to ${device} and back keeping values`, { skip: device === 'cuda' && CUDA_SKIP }, async () => {
    const host = tg.tensor([[1.5, 2], [3, 4]]);
    const t = host.to(device);
    assert.strictEqual(t.device, device === 'cpu' ? 'cpu' : 'cuda:0');
    const both = host.to({ device, dtype: 'float64' });
    assert.strictEqual(both.dtype, 'float64');
    assert.deepStrictEqual(t.toArray(), [[1.5, 2], [3, 4]]);
    assert.deepStrictEqual(Array.from(await t.data()), [1.5, 2, 3, 4]);
    assert.strictEqual(t.to('cpu').device, 'cpu');
    tg.tidy(() => {
      for (const d of DTYPES) assert.strictEqual(tg.ones([2], { device, dtype: d }).device, t.device);
    });
    const z = tg.zeros([2], { device });
    assert.strictEqual(z.device, t.device);
    if (device === 'cuda') {
      assert.ok(tg.cuda.deviceCount() >= 1);
      assert.ok(tg.memory().cudaBytes > 0);
      assert.match(String(z), /device='cuda:0'/);
    }
    tg.dispose([host, t, both, z]);
  });
}

test("to() returns a new tensor only when something changes unless copy is asked", () => {
  tg.tidy(() => {
    const a = tg.ones([2]);
    assert.strictEqual(a.to('float32')._storageId(), a._storageId());
    assert.notStrictEqual(a.to({ dtype: 'float32', copy: true })._storageId(), a._storageId());
    assert.notStrictEqual(a.to('float64')._storageId(), a._storageId());
    assert.strictEqual(tg.DTYPES.length, 10);
    assert.deepStrictEqual(DEVICES[0], 'cpu');
  });
});
