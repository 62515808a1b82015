'use strict';
// The same ops over other dtypes than float32: float64 (with gradients), half precisions, integers and bool,
// including PyTorch's type promotion between them.
const { goldenSuite, make, tg } = require('./helpers/golden');

const F = tg.nn.functional;
const as = (dtype, maker = make.randn) => (shape) => maker(shape).to(dtype);
const f64 = as('float64');
const ints = (dtype) => (shape) => make.ints(shape, -20, 20).to(dtype);

const float64 = [
  { name: 'float64 add, mul, div', inputs: () => ({ x: f64([3, 4]), y: f64([4]) }), js: (t) => t.x.add(t.y).mul(t.x).div(t.y.abs().add(1)), py: '(x + y) * x / (y.abs() + 1)', tol: 1e-12 },
  { name: 'float64 matmul', inputs: () => ({ a: f64([4, 6]), b: f64([6, 3]) }), js: (t) => t.a.matmul(t.b), py: 'a @ b', tol: 1e-12 },
  { name: 'float64 reductions', inputs: () => ({ x: f64([3, 5]) }), js: (t) => t.x.sum(1).add(t.x.mean(1)).add(t.x.std(1)).add(t.x.logsumexp(1)), py: 'x.sum(1) + x.mean(1) + x.std(1) + x.logsumexp(1)', tol: 1e-12 },
  { name: 'float64 elementwise math', inputs: () => ({ x: f64([8]) }), js: (t) => t.x.exp().add(t.x.sin()).add(t.x.tanh()).add(t.x.sigmoid()), py: 'x.exp() + x.sin() + x.tanh() + x.sigmoid()', tol: 1e-12 },
  { name: 'float64 conv2d', inputs: () => ({ x: f64([1, 2, 5, 5]), w: f64([3, 2, 3, 3]) }), js: (t) => F.conv2d(t.x, t.w, null, { padding: 1 }), py: 'F.conv2d(x, w, None, padding=1)', tol: 1e-12 },
  { name: 'float64 cross-entropy', inputs: () => ({ x: f64([4, 3]), y: make.ints([4], 0, 3) }), js: (t) => F.crossEntropy(t.x, t.y, { labelSmoothing: 0.1 }), py: 'F.cross_entropy(x, y, label_smoothing=0.1)', tol: 1e-12 },
  { name: 'float32 plus float64 promotes to float64', inputs: () => ({ x: make.randn([3]), y: f64([3]) }), js: (t) => t.x.add(t.y), py: 'x + y', tol: 1e-12 },
];

const half = ['float16', 'bfloat16'].flatMap((d) => [
  { name: `${d} add and mul`, inputs: () => ({ x: as(d)([3, 4]), y: as(d)([4]) }), js: (t) => t.x.add(t.y).mul(t.y), py: '(x + y) * y', grad: false, tol: 1e-2 },
  { name: `${d} neg and sum`, inputs: () => ({ x: as(d)([3, 4]) }), js: (t) => t.x.neg().sum(1), py: 'x.neg().sum(1)', grad: false, tol: 1e-2 },
  { name: `${d} with a float scalar keeps ${d}`, inputs: () => ({ x: as(d)([5]) }), js: (t) => t.x.mul(0.5).add(1), py: 'x * 0.5 + 1', grad: false, tol: 1e-2 },
  { name: `${d} plus float32 promotes to float32`, inputs: () => ({ x: as(d)([5]), y: make.randn([5]) }), js: (t) => t.x.add(t.y), py: 'x + y', grad: false },
]);

const integers = ['int64', 'int32', 'int16', 'int8', 'uint8'].flatMap((d) => [
  { name: `${d} add, mul, sub`, inputs: () => ({ a: ints(d)([3, 4]), b: ints(d)([4]) }), js: (t) => t.a.add(t.b).mul(t.b).sub(t.a), py: '(a + b) * b - a', tol: 0 },
  { name: `${d} sum promotes to int64`, inputs: () => ({ a: ints(d)([3, 4]) }), js: (t) => t.a.sum(1), py: 'a.sum(1)', tol: 0 },
  { name: `${d} true division gives float32`, inputs: () => ({ a: ints(d)([6]) }), js: (t) => t.a.div(4), py: 'a / 4' },
  { name: `${d} floor division stays integral`, inputs: () => ({ a: ints(d)([6]) }), js: (t) => t.a.div(3, 'floor'), py: "torch.div(a, 3, rounding_mode='floor')", tol: 0 },
  { name: `${d} comparisons and max`, inputs: () => ({ a: ints(d)([3, 4]) }), js: (t) => t.a.gt(2).logicalAnd(t.a.eq(t.a.amax(1, true)).logicalNot()), py: '(a > 2) & ~(a == a.amax(1, keepdim=True))', tol: 0 },
  { name: `${d} times a float scalar gives float32`, inputs: () => ({ a: ints(d)([6]) }), js: (t) => t.a.mul(0.5), py: 'a * 0.5' },
]);

const bools = [
  { name: 'bool sum counts as int64', inputs: () => ({ m: make.mask([4, 5]) }), js: (t) => t.m.sum(1), py: 'm.sum(1)', tol: 0 },
  { name: 'bool logical ops', inputs: () => ({ m: make.mask([6]), n: make.mask([6]) }), js: (t) => t.m.logicalXor(t.n).logicalOr(t.m.logicalNot()), py: '(m ^ n) | ~m', tol: 0 },
  { name: 'bool times float tensor', inputs: () => ({ m: make.mask([6]), x: make.randn([6]) }), js: (t) => t.m.mul(t.x), py: 'm * x' },
  { name: 'bool where', inputs: () => ({ m: make.mask([6]), x: make.randn([6]) }), js: (t) => tg.where(t.m, t.x, t.x.neg()), py: 'torch.where(m, x, -x)' },
];

goldenSuite('float64 ops with gradients', float64);
goldenSuite('float16 and bfloat16 ops', half);
goldenSuite('integer ops and promotion', integers);
goldenSuite('bool ops', bools);
