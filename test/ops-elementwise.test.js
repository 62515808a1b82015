'use strict';
// Elementwise tensor methods (arithmetic with broadcasting and scalars, comparisons, math, in-place forms) against PyTorch.
const { goldenSuite, make } = require('./helpers/golden');

const xy = (sx, sy) => () => ({ x: make.randn(sx), y: make.randn(sy) });
const x = (shape, maker = make.randn) => () => ({ x: maker(shape) });

const arithmetic = [
  { name: 'add with broadcasting', inputs: xy([3, 4], [4]), js: (t) => t.x.add(t.y), py: 'x + y' },
  { name: 'add with alpha', inputs: xy([2, 3], [2, 1]), js: (t) => t.x.add(t.y, 2.5), py: 'torch.add(x, y, alpha=2.5)' },
  { name: 'add scalar', inputs: x([2, 3]), js: (t) => t.x.add(3), py: 'x + 3' },
  { name: 'add fractional scalar', inputs: x([5]), js: (t) => t.x.add(0.25), py: 'x + 0.25' },
  { name: 'sub with broadcasting', inputs: xy([2, 1, 4], [3, 1]), js: (t) => t.x.sub(t.y), py: 'x - y' },
  { name: 'sub with alpha', inputs: xy([4], [4]), js: (t) => t.x.sub(t.y, 0.5), py: 'torch.sub(x, y, alpha=0.5)' },
  { name: 'sub scalar', inputs: x([4]), js: (t) => t.x.sub(1.5), py: 'x - 1.5' },
  { name: 'mul with broadcasting', inputs: xy([3, 4], [3, 1]), js: (t) => t.x.mul(t.y), py: 'x * y' },
  { name: 'mul scalar', inputs: x([3, 2]), js: (t) => t.x.mul(-2), py: 'x * -2' },
  {
    name: 'div with broadcasting',
    inputs: () => ({ x: make.randn([2, 3]), y: make.positive([3]) }),
    js: (t) => t.x.div(t.y),
    py: 'x / y',
  },
  { name: 'div scalar', inputs: x([3]), js: (t) => t.x.div(4), py: 'x / 4' },
  {
    name: 'div with floor rounding',
    inputs: () => ({ x: make.uniform([6], -9, 9), y: make.positive([6]) }),
    js: (t) => t.x.div(t.y, 'floor'),
    py: "torch.div(x, y, rounding_mode='floor')",
  },
  {
    name: 'div with trunc rounding',
    inputs: () => ({ x: make.uniform([6], -9, 9) }),
    js: (t) => t.x.div(2, 'trunc'),
    py: "torch.div(x, 2, rounding_mode='trunc')",
  },
  { name: 'int64 tensor divided by int is float', inputs: () => ({ a: make.ints([5], -20, 20) }), js: (t) => t.a.div(3), py: 'a / 3' },
  { name: 'int64 tensor times int stays int64', inputs: () => ({ a: make.ints([5], -20, 20) }), js: (t) => t.a.mul(3), py: 'a * 3' },
  { name: 'int64 tensor plus float becomes float', inputs: () => ({ a: make.ints([5], -20, 20) }), js: (t) => t.a.add(0.5), py: 'a + 0.5' },
  { name: 'pow with tensor exponent', inputs: () => ({ x: make.positive([3, 3]), y: make.randn([3]) }), js: (t) => t.x.pow(t.y), py: 'x ** y' },
  { name: 'pow with scalar exponent', inputs: x([4]), js: (t) => t.x.pow(3), py: 'x ** 3' },
  { name: 'pow with fractional exponent', inputs: x([4], make.positive), js: (t) => t.x.pow(0.5), py: 'x ** 0.5' },
  { name: 'remainder', inputs: () => ({ x: make.uniform([6], -5, 5), y: make.positive([6]) }), js: (t) => t.x.remainder(t.y), py: 'torch.remainder(x, y)' },
  { name: 'fmod', inputs: () => ({ x: make.uniform([6], -5, 5) }), js: (t) => t.x.fmod(1.5), py: 'torch.fmod(x, 1.5)' },
  { name: 'maximum', inputs: xy([3, 4], [4]), js: (t) => t.x.maximum(t.y), py: 'torch.maximum(x, y)' },
  { name: 'minimum', inputs: xy([3, 4], [3, 4]), js: (t) => t.x.minimum(t.y), py: 'torch.minimum(x, y)' },
  { name: 'atan2', inputs: xy([5], [5]), js: (t) => t.x.atan2(t.y), py: 'torch.atan2(x, y)' },
  { name: 'clamp both bounds', inputs: x([8]), js: (t) => t.x.clamp(-0.5, 0.5), py: 'x.clamp(-0.5, 0.5)' },
  { name: 'clamp min only', inputs: x([8]), js: (t) => t.x.clamp(0), py: 'x.clamp(min=0)' },
  { name: 'clamp max only', inputs: x([8]), js: (t) => t.x.clamp(null, 0.2), py: 'x.clamp(max=0.2)' },
];

const comparisons = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'].flatMap((op) => [
  {
    name: `${op} with a broadcast tensor`,
    inputs: () => ({ a: make.ints([3, 4], 0, 3), b: make.ints([4], 0, 3) }),
    js: (t) => t.a[op](t.b),
    py: `torch.${op}(a, b)`,
  },
  { name: `${op} with a scalar`, inputs: x([6]), js: (t) => t.x[op](0.1), py: `torch.${op}(x, 0.1)`, grad: false },
]);
const logical = ['logicalAnd', 'logicalOr', 'logicalXor'].map((op) => ({
  name: op,
  inputs: () => ({ a: make.mask([2, 3]), b: make.mask([3]) }),
  js: (t) => t.a[op](t.b),
  py: `torch.${op.replace(/[A-Z]/, (c) => '_' + c.toLowerCase())}(a, b)`,
}));
logical.push({ name: 'logicalNot', inputs: () => ({ a: make.mask([5]) }), js: (t) => t.a.logicalNot(), py: 'torch.logical_not(a)' });
logical.push({
  name: 'bitwiseNot on int64',
  inputs: () => ({ a: make.ints([5], -9, 9) }),
  js: (t) => t.a.bitwiseNot(),
  py: 'torch.bitwise_not(a)',
});

// [method, input maker]: python name is torch.<snake_case>
const unaryOps = [
  ['neg'], ['abs'], ['exp'], ['expm1'], ['log', make.positive], ['log2', make.positive], ['log10', make.positive],
  ['log1p', make.positive], ['sqrt', make.positive], ['rsqrt', make.positive], ['square'], ['sin'], ['cos'], ['tan'],
  ['asin', (s) => make.uniform(s, -0.9, 0.9)], ['acos', (s) => make.uniform(s, -0.9, 0.9)], ['atan'], ['sinh'], ['cosh'],
  ['tanh'], ['sigmoid'], ['relu'], ['floor', (s) => make.uniform(s, -5, 5)], ['ceil', (s) => make.uniform(s, -5, 5)],
  ['round', (s) => make.uniform(s, -5, 5)], ['trunc', (s) => make.uniform(s, -5, 5)], ['frac', (s) => make.uniform(s, -5, 5)],
  ['sign'], ['reciprocal', make.positive], ['erf'], ['erfinv', (s) => make.uniform(s, -0.9, 0.9)],
];
const unary = unaryOps.map(([op, maker = make.randn]) => ({
  name: `${op}`,
  inputs: x([3, 5], maker),
  js: (t) => t.x[op](),
  py: `torch.${op}(x)`,
}));
unary.push(
  { name: 'isnan/isinf/isfinite', inputs: () => ({ x: make.randn([4]).log() }), js: (t) => t.x.isnan().logicalOr(t.x.isinf()).logicalXor(t.x.isfinite()), py: '(torch.isnan(x) | torch.isinf(x)) ^ torch.isfinite(x)', grad: false },
  { name: 'softmax method', inputs: x([3, 5]), js: (t) => t.x.softmax(1), py: 'x.softmax(1)' },
  { name: 'logSoftmax method', inputs: x([3, 5]), js: (t) => t.x.logSoftmax(0), py: 'x.log_softmax(0)' },
);

// In-place forms, on a clone so autograd flows back to the leaf.
const inplaceUnary = ['neg_', 'abs_', 'exp_', 'sigmoid_', 'tanh_', 'relu_', 'zero_', 'floor_', 'ceil_', 'round_', 'square_'].map((op) => ({
  name: `${op} in place`,
  inputs: x([2, 4]),
  js: (t) => {
    const c = t.x.clone();
    const r = c[op]();
    if (r !== c) throw new Error(`${op} did not return this`);
    return c;
  },
  py: `x.clone().${op}()`,
}));
inplaceUnary.push(
  ...['log_', 'sqrt_', 'reciprocal_'].map((op) => ({ name: `${op} in place`, inputs: x([2, 4], make.positive), js: (t) => t.x.clone()[op](), py: `x.clone().${op}()` })),
);
const inplaceBinary = [
  { name: 'add_ tensor with alpha', inputs: xy([2, 3], [3]), js: (t) => t.x.clone().add_(t.y, 2), py: 'x.clone().add_(y, alpha=2)' },
  { name: 'add_ scalar', inputs: x([3]), js: (t) => t.x.clone().add_(1.5), py: 'x.clone().add_(1.5)' },
  { name: 'sub_', inputs: xy([2, 3], [2, 3]), js: (t) => t.x.clone().sub_(t.y), py: 'x.clone().sub_(y)' },
  { name: 'mul_', inputs: xy([2, 3], [3]), js: (t) => t.x.clone().mul_(t.y), py: 'x.clone().mul_(y)' },
  { name: 'div_', inputs: () => ({ x: make.randn([3]), y: make.positive([3]) }), js: (t) => t.x.clone().div_(t.y), py: 'x.clone().div_(y)' },
  { name: 'pow_', inputs: x([3], make.positive), js: (t) => t.x.clone().pow_(2.5), py: 'x.clone().pow_(2.5)' },
  { name: 'remainder_', inputs: x([6]), js: (t) => t.x.clone().remainder_(0.7), py: 'x.clone().remainder_(0.7)' },
  { name: 'maximum_', inputs: xy([4], [4]), js: (t) => t.x.clone().maximum_(t.y), py: 'torch.maximum(x, y)', grad: false },
  { name: 'copy_', inputs: xy([2, 3], [3]), js: (t) => t.x.clone().copy_(t.y), py: 'x.clone().copy_(y)' },
  { name: 'fill_', inputs: x([2, 3]), js: (t) => t.x.clone().fill_(0.75), py: 'x.clone().fill_(0.75)' },
  { name: 'clamp_', inputs: x([6]), js: (t) => t.x.clone().clamp_(-0.3, 0.4), py: 'x.clone().clamp_(-0.3, 0.4)' },
  { name: 'addcmul_', inputs: () => ({ x: make.randn([4]), a: make.randn([4]), b: make.randn([4]) }), js: (t) => t.x.clone().addcmul_(t.a, t.b, 0.5), py: 'x.clone().addcmul_(a, b, value=0.5)' },
  { name: 'addcdiv_', inputs: () => ({ x: make.randn([4]), a: make.randn([4]), b: make.positive([4]) }), js: (t) => t.x.clone().addcdiv_(t.a, t.b, -2), py: 'x.clone().addcdiv_(a, b, value=-2)' },
  { name: 'lerp_', inputs: xy([4], [4]), js: (t) => t.x.clone().lerp_(t.y, 0.3), py: 'x.clone().lerp_(y, 0.3)' },
  { name: 'maskedFill_', inputs: () => ({ x: make.randn([2, 3]), m: make.mask([2, 3]) }), js: (t) => t.x.clone().maskedFill_(t.m, -1), py: 'x.clone().masked_fill_(m, -1)' },
  { name: 'eq_/lt_/gt_ keep the dtype', inputs: xy([5], [5]), js: (t) => t.x.clone().lt_(t.y).add(t.x.clone().gt_(0)).add(t.x.clone().eq_(t.x)), py: 'x.clone().lt_(y) + x.clone().gt_(0) + x.clone().eq_(x)', grad: false },
];

goldenSuite('arithmetic with broadcasting and scalars', arithmetic);
goldenSuite('comparisons and logical ops', [...comparisons, ...logical]);
goldenSuite('elementwise math', unary);
goldenSuite('in-place forms', [...inplaceUnary, ...inplaceBinary]);
