'use strict';
// Reductions with dim/keepdim and the matrix products against PyTorch.
const { goldenSuite, make } = require('./helpers/golden');

const x = (shape, maker = make.randn) => () => ({ x: maker(shape) });
const X = x([3, 4, 5]);

const reductions = [
  { name: 'sum of all elements', inputs: X, js: (t) => t.x.sum(), py: 'x.sum()' },
  { name: 'sum over one dim', inputs: X, js: (t) => t.x.sum(1), py: 'x.sum(1)' },
  { name: 'sum over dims with keepdim', inputs: X, js: (t) => t.x.sum([0, 2], true), py: 'x.sum((0, 2), keepdim=True)' },
  { name: 'sum over a negative dim', inputs: X, js: (t) => t.x.sum(-1), py: 'x.sum(-1)' },
  { name: 'sum of int64 to float64', inputs: () => ({ a: make.ints([4, 3], -5, 5) }), js: (t) => t.a.sum(0, false, 'float64'), py: 'a.sum(0, dtype=torch.float64)' },
  { name: 'sum of bool counts', inputs: () => ({ m: make.mask([10]) }), js: (t) => t.m.sum(), py: 'm.sum()' },
  { name: 'mean of all elements', inputs: X, js: (t) => t.x.mean(), py: 'x.mean()' },
  { name: 'mean over dims', inputs: X, js: (t) => t.x.mean([1, 2]), py: 'x.mean((1, 2))' },
  { name: 'mean with keepdim', inputs: X, js: (t) => t.x.mean(0, true), py: 'x.mean(0, keepdim=True)' },
  { name: 'prod of all elements', inputs: x([6], make.positive), js: (t) => t.x.prod(), py: 'x.prod()' },
  { name: 'prod over a dim with keepdim', inputs: x([3, 4], make.positive), js: (t) => t.x.prod(1, true), py: 'x.prod(1, keepdim=True)' },
  { name: 'std unbiased', inputs: X, js: (t) => t.x.std(), py: 'x.std()' },
  { name: 'std biased over a dim', inputs: X, js: (t) => t.x.std(1, false), py: 'x.std(1, unbiased=False)' },
  { name: 'std with keepdim', inputs: X, js: (t) => t.x.std([0, 1], true, true), py: 'x.std((0, 1), unbiased=True, keepdim=True)' },
  { name: 'var unbiased', inputs: X, js: (t) => t.x.var(), py: 'x.var()' },
  { name: 'var biased over a dim with keepdim', inputs: X, js: (t) => t.x.var(2, false, true), py: 'x.var(2, unbiased=False, keepdim=True)' },
  { name: 'norm (2)', inputs: X, js: (t) => t.x.norm(), py: 'x.norm()' },
  { name: 'norm (1) over a dim', inputs: X, js: (t) => t.x.norm(1, 1), py: 'x.norm(1, 1)' },
  { name: 'norm (3) with keepdim', inputs: X, js: (t) => t.x.norm(3, [1, 2], true), py: 'x.norm(3, (1, 2), keepdim=True)' },
  { name: 'logsumexp', inputs: X, js: (t) => t.x.logsumexp(1), py: 'x.logsumexp(1)' },
  { name: 'logsumexp with keepdim', inputs: X, js: (t) => t.x.logsumexp([0, 2], true), py: 'x.logsumexp((0, 2), keepdim=True)' },
  { name: 'amax', inputs: X, js: (t) => t.x.amax(1), py: 'x.amax(1)' },
  { name: 'amin with keepdim', inputs: X, js: (t) => t.x.amin([0, 2], true), py: 'x.amin((0, 2), keepdim=True)' },
  { name: 'max of all elements', inputs: X, js: (t) => t.x.max(), py: 'x.max()' },
  { name: 'max over a dim: values', inputs: X, js: (t) => t.x.max(1).values, py: 'x.max(1).values' },
  { name: 'max over a dim: indices', inputs: X, js: (t) => t.x.max(2, true).indices, py: 'x.max(2, keepdim=True).indices' },
  { name: 'min of all elements', inputs: X, js: (t) => t.x.min(), py: 'x.min()' },
  { name: 'min over a dim: values with keepdim', inputs: X, js: (t) => t.x.min(0, true).values, py: 'x.min(0, keepdim=True).values' },
  { name: 'min over a dim: indices', inputs: X, js: (t) => t.x.min(-1).indices, py: 'x.min(-1).indices' },
  { name: 'argmax flat', inputs: X, js: (t) => t.x.argmax(), py: 'x.argmax()' },
  { name: 'argmax over a dim', inputs: X, js: (t) => t.x.argmax(1), py: 'x.argmax(1)' },
  { name: 'argmin over a dim with keepdim', inputs: X, js: (t) => t.x.argmin(2, true), py: 'x.argmin(2, keepdim=True)' },
  { name: 'all and any', inputs: X, js: (t) => t.x.gt(-1).all(1).logicalXor(t.x.gt(1).any(1)), py: 'x.gt(-1).all(1) ^ x.gt(1).any(1)' },
  { name: 'all/any of everything with keepdim', inputs: X, js: (t) => t.x.gt(-1).all().logicalAnd(t.x.gt(0).any(0, true)), py: 'x.gt(-1).all() & x.gt(0).any(0, keepdim=True)' },
  { name: 'cumsum', inputs: X, js: (t) => t.x.cumsum(1), py: 'x.cumsum(1)' },
  { name: 'sort descending: values', inputs: X, js: (t) => t.x.sort(1, true).values, py: 'x.sort(1, descending=True).values' },
  { name: 'sort: indices', inputs: X, js: (t) => t.x.sort().indices, py: 'x.sort().indices' },
  { name: 'topk: values', inputs: X, js: (t) => t.x.topk(2).values, py: 'x.topk(2).values' },
  { name: 'topk smallest over dim 0: indices', inputs: X, js: (t) => t.x.topk(2, 0, false).indices, py: 'x.topk(2, 0, largest=False).indices' },
];

const products = [
  { name: 'matmul 2-D by 2-D', inputs: () => ({ a: make.randn([4, 6]), b: make.randn([6, 3]) }), js: (t) => t.a.matmul(t.b), py: 'a @ b' },
  { name: 'matmul batched with broadcasting', inputs: () => ({ a: make.randn([2, 1, 4, 6]), b: make.randn([3, 6, 5]) }), js: (t) => t.a.matmul(t.b), py: 'a @ b' },
  { name: 'matmul matrix by vector', inputs: () => ({ a: make.randn([4, 6]), b: make.randn([6]) }), js: (t) => t.a.matmul(t.b), py: 'a @ b' },
  { name: 'matmul vector by vector', inputs: () => ({ a: make.randn([6]), b: make.randn([6]) }), js: (t) => t.a.matmul(t.b), py: 'a @ b' },
  { name: 'mm', inputs: () => ({ a: make.randn([5, 7]), b: make.randn([7, 2]) }), js: (t) => t.a.mm(t.b), py: 'a.mm(b)' },
  { name: 'mm with a transposed operand', inputs: () => ({ a: make.randn([5, 7]), b: make.randn([2, 7]) }), js: (t) => t.a.mm(t.b.t()), py: 'a.mm(b.t())' },
  { name: 'bmm', inputs: () => ({ a: make.randn([3, 4, 5]), b: make.randn([3, 5, 2]) }), js: (t) => t.a.bmm(t.b), py: 'a.bmm(b)' },
  { name: 'mv', inputs: () => ({ a: make.randn([3, 4]), b: make.randn([4]) }), js: (t) => t.a.mv(t.b), py: 'a.mv(b)' },
  { name: 'dot', inputs: () => ({ a: make.randn([7]), b: make.randn([7]) }), js: (t) => t.a.dot(t.b), py: 'a.dot(b)' },
  { name: 'outer', inputs: () => ({ a: make.randn([3]), b: make.randn([4]) }), js: (t) => t.a.outer(t.b), py: 'torch.outer(a, b)' },
  { name: 'int64 matmul', inputs: () => ({ a: make.ints([3, 4], -4, 4), b: make.ints([4, 2], -4, 4) }), js: (t) => t.a.matmul(t.b), py: 'a @ b' },
];

goldenSuite('reductions with dim and keepdim', reductions);
goldenSuite('matrix products', products);
