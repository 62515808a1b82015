'use strict';
// Views, shape ops, joining/splitting and indexing against PyTorch.
const test = require('node:test');
const assert = require('node:assert');
const { goldenSuite, make, tg } = require('./helpers/golden');

const x = (shape, maker = make.randn) => () => ({ x: maker(shape) });
const X = x([2, 3, 4]);
const F = tg.nn.functional;

const shapes = [
  { name: 'reshape with -1', inputs: X, js: (t) => t.x.reshape([-1, 4]).mul(2), py: 'x.reshape(-1, 4) * 2' },
  { name: 'reshape of a non-contiguous tensor', inputs: X, js: (t) => t.x.transpose(0, 2).reshape([4, 6]), py: 'x.transpose(0, 2).reshape(4, 6)' },
  { name: 'view', inputs: X, js: (t) => t.x.view([6, 4]).mul(2), py: 'x.view(6, 4) * 2' },
  { name: 'viewAs and reshapeAs', inputs: () => ({ x: make.randn([2, 6]), y: make.randn([3, 4]) }), js: (t) => t.x.viewAs(t.y).add(t.x.reshapeAs(t.y)).mul(t.y), py: '(x.view_as(y) + x.reshape_as(y)) * y' },
  { name: 'permute', inputs: X, js: (t) => t.x.permute([2, 0, 1]).mul(3), py: 'x.permute(2, 0, 1) * 3' },
  { name: 'transpose', inputs: X, js: (t) => t.x.transpose(0, -1).contiguous(), py: 'x.transpose(0, -1).contiguous()' },
  { name: 't', inputs: x([3, 5]), js: (t) => t.x.t().mul(2), py: 'x.t() * 2' },
  { name: 'flatten all', inputs: X, js: (t) => t.x.flatten().mul(2), py: 'x.flatten() * 2' },
  { name: 'flatten a range', inputs: X, js: (t) => t.x.flatten(1).mul(2), py: 'x.flatten(1) * 2' },
  { name: 'flatten start and end', inputs: x([2, 3, 4, 5]), js: (t) => t.x.flatten(1, 2).mul(2), py: 'x.flatten(1, 2) * 2' },
  { name: 'squeeze all', inputs: x([1, 3, 1, 2]), js: (t) => t.x.squeeze().mul(2), py: 'x.squeeze() * 2' },
  { name: 'squeeze one dim', inputs: x([1, 3, 1, 2]), js: (t) => t.x.squeeze(2).mul(2), py: 'x.squeeze(2) * 2' },
  { name: 'unsqueeze', inputs: X, js: (t) => t.x.unsqueeze(1).mul(2), py: 'x.unsqueeze(1) * 2' },
  { name: 'unsqueeze at -1', inputs: X, js: (t) => t.x.unsqueeze(-1).mul(2), py: 'x.unsqueeze(-1) * 2' },
  { name: 'expand', inputs: x([3, 1]), js: (t) => t.x.expand([2, 3, 4]).mul(2), py: 'x.expand(2, 3, 4) * 2' },
  { name: 'expand with -1', inputs: x([3, 1]), js: (t) => t.x.expand([-1, 5]).mul(2), py: 'x.expand(-1, 5) * 2' },
  { name: 'expandAs', inputs: () => ({ x: make.randn([1, 4]), y: make.randn([3, 4]) }), js: (t) => t.x.expandAs(t.y).mul(t.y), py: 'x.expand_as(y) * y' },
  { name: 'repeat', inputs: x([2, 3]), js: (t) => t.x.repeat([2, 1, 3]), py: 'x.repeat(2, 1, 3)' },
  { name: 'flip', inputs: X, js: (t) => t.x.flip([0, 2]), py: 'x.flip((0, 2))' },
  { name: 'clone', inputs: X, js: (t) => t.x.clone().mul(2), py: 'x.clone() * 2' },
  { name: 'detach stops the gradient', inputs: X, js: (t) => t.x.detach().mul(t.x), py: 'x.detach() * x' },
];

const joining = [
  { name: 'cat along dim 0', inputs: () => ({ a: make.randn([2, 3]), b: make.randn([1, 3]) }), js: (t) => tg.cat([t.a, t.b]), py: 'torch.cat([a, b])' },
  { name: 'cat along dim 1', inputs: () => ({ a: make.randn([2, 3]), b: make.randn([2, 2]) }), js: (t) => tg.cat([t.a, t.b], 1), py: 'torch.cat([a, b], 1)' },
  { name: 'cat along dim -1 of three', inputs: () => ({ a: make.randn([2, 1]), b: make.randn([2, 2]), c: make.randn([2, 3]) }), js: (t) => tg.cat([t.a, t.b, t.c], -1), py: 'torch.cat([a, b, c], -1)' },
  { name: 'stack along dim 0', inputs: () => ({ a: make.randn([2, 3]), b: make.randn([2, 3]) }), js: (t) => tg.stack([t.a, t.b]), py: 'torch.stack([a, b])' },
  { name: 'stack along dim 2', inputs: () => ({ a: make.randn([2, 3]), b: make.randn([2, 3]) }), js: (t) => tg.stack([t.a, t.b], 2), py: 'torch.stack([a, b], 2)' },
  { name: 'split by size', inputs: x([7, 2]), js: (t) => tg.cat(t.x.split(3).map((p, i) => p.mul(i + 1))), py: 'torch.cat([p * (i + 1) for i, p in enumerate(x.split(3))])' },
  { name: 'split by sizes along dim 1', inputs: x([2, 6]), js: (t) => tg.cat(t.x.split([1, 2, 3], 1).map((p, i) => p.mul(i + 1)), 1), py: 'torch.cat([p * (i + 1) for i, p in enumerate(x.split([1, 2, 3], 1))], 1)' },
  { name: 'chunk', inputs: x([7, 3]), js: (t) => tg.cat(t.x.chunk(3).map((p, i) => p.mul(i + 1))), py: 'torch.cat([p * (i + 1) for i, p in enumerate(x.chunk(3))])' },
  { name: 'chunk along dim 1', inputs: x([2, 5]), js: (t) => tg.cat(t.x.chunk(2, 1).map((p, i) => p.mul(i + 1)), 1), py: 'torch.cat([p * (i + 1) for i, p in enumerate(x.chunk(2, 1))], 1)' },
];

const indexing = [
  { name: 'select', inputs: X, js: (t) => t.x.select(1, 2).mul(2), py: 'x.select(1, 2) * 2' },
  { name: 'select with a negative index', inputs: X, js: (t) => t.x.select(2, -1).mul(2), py: 'x.select(2, -1) * 2' },
  { name: 'narrow', inputs: X, js: (t) => t.x.narrow(2, 1, 2).mul(2), py: 'x.narrow(2, 1, 2) * 2' },
  { name: 'slice with a step', inputs: x([10, 2]), js: (t) => t.x.slice(0, 1, 9, 3).mul(2), py: 'x[1:9:3] * 2' },
  { name: 'slice open-ended', inputs: x([10, 2]), js: (t) => t.x.slice(0, null, -2).mul(2), py: 'x[:-2] * 2' },
  { name: 'indexSelect', inputs: () => ({ x: make.randn([5, 3]), i: tg.tensor([4, 0, 0, 2]) }), js: (t) => t.x.indexSelect(0, t.i), py: 'x.index_select(0, i)' },
  { name: 'indexSelect along dim 1', inputs: () => ({ x: make.randn([2, 5]), i: tg.tensor([1, 3]) }), js: (t) => t.x.indexSelect(1, t.i), py: 'x.index_select(1, i)' },
  { name: 'index (advanced indexing on dim 0)', inputs: () => ({ x: make.randn([5, 3]), i: tg.tensor([3, 3, 1]) }), js: (t) => t.x.index(t.i), py: 'x[i]' },
  { name: 'gather', inputs: () => ({ x: make.randn([3, 4]), i: make.ints([3, 2], 0, 4) }), js: (t) => t.x.gather(1, t.i), py: 'x.gather(1, i)' },
  { name: 'gather along dim 0', inputs: () => ({ x: make.randn([3, 4]), i: make.ints([2, 4], 0, 3) }), js: (t) => t.x.gather(0, t.i), py: 'x.gather(0, i)' },
  { name: 'scatter a tensor', inputs: () => ({ x: make.randn([3, 4]), s: make.randn([3, 1]), i: tg.tensor([[0], [2], [3]]) }), js: (t) => t.x.scatter(1, t.i, t.s), py: 'x.scatter(1, i, s)' },
  { name: 'scatter a value', inputs: () => ({ x: make.randn([3, 4]), i: tg.tensor([[1], [0], [3]]) }), js: (t) => t.x.scatter(1, t.i, 7), py: 'x.scatter(1, i, 7.0)' },
  { name: 'maskedFill with a number', inputs: () => ({ x: make.randn([3, 4]), m: make.mask([3, 4]) }), js: (t) => t.x.maskedFill(t.m, -2.5), py: 'x.masked_fill(m, -2.5)' },
  { name: 'maskedFill with a broadcast mask', inputs: () => ({ x: make.randn([3, 4]), m: make.mask([4]) }), js: (t) => t.x.maskedFill(t.m, 0), py: 'x.masked_fill(m, 0)' },
  { name: 'maskedSelect', inputs: () => ({ x: make.randn([3, 4]), m: make.mask([3, 4]) }), js: (t) => t.x.maskedSelect(t.m), py: 'x.masked_select(m)' },
  { name: 'where method', inputs: () => ({ x: make.randn([3, 4]), y: make.randn([4]), c: make.mask([3, 4]) }), js: (t) => t.x.where(t.c, t.y), py: 'x.where(c, y)' },
  { name: 'where method with a number', inputs: () => ({ x: make.randn([3, 4]), c: make.mask([3, 4]) }), js: (t) => t.x.where(t.c, 0.5), py: 'torch.where(c, x, torch.tensor(0.5))' },
  { name: 'tg.where with tensors', inputs: () => ({ x: make.randn([3, 4]), y: make.randn([3, 4]) }), js: (t) => tg.where(t.x.gt(t.y), t.x, t.y), py: 'torch.where(x > y, x, y)' },
  { name: 'tg.where with numbers', inputs: () => ({ x: make.randn([5]) }), js: (t) => tg.where(t.x.gt(0), t.x, 0), py: 'torch.where(x > 0, x, torch.tensor(0.0))' },
  { name: 'nonzero', inputs: () => ({ m: make.mask([3, 4]) }), js: (t) => t.m.nonzero(), py: 'm.nonzero()' },
  { name: 'oneHot with numClasses', inputs: () => ({ i: make.ints([2, 3], 0, 5) }), js: (t) => F.oneHot(t.i, 6), py: 'F.one_hot(i, 6)' },
  { name: 'oneHot inferring the classes', inputs: () => ({ i: tg.tensor([0, 3, 1]) }), js: (t) => F.oneHot(t.i), py: 'F.one_hot(i)' },
];

goldenSuite('views and shape ops', shapes);
goldenSuite('cat, stack, split and chunk', joining);
goldenSuite('indexing', indexing);

test('views share storage with their base, reshape of a non-contiguous tensor copies', () => {
  tg.tidy(() => {
    const a = tg.zeros([2, 3]);
    const v = a.view([3, 2]);
    v.fill_(1);
    assert.strictEqual(a.sum().item(), 6);
    assert.strictEqual(a.t().isContiguous(), false);
    assert.deepStrictEqual(a.t().stride(), [1, 3]);
    assert.strictEqual(a.size(-1), 3);
    const r = a.t().reshape([6]);
    r.fill_(5);
    assert.strictEqual(a.sum().item(), 6);
  });
});

test('split and chunk return arrays of the right shapes', () => {
  tg.tidy(() => {
    const a = tg.arange(10);
    assert.deepStrictEqual(a.split(4).map((p) => p.shape[0]), [4, 4, 2]);
    assert.deepStrictEqual(a.split([2, 8]).map((p) => p.toArray()), [[0, 1], [2, 3, 4, 5, 6, 7, 8, 9]]);
    assert.deepStrictEqual(a.chunk(3).map((p) => p.shape[0]), [4, 4, 2]);
  });
});
