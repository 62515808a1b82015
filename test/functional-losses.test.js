'use strict';
// Losses of tg.nn.functional against torch.nn.functional: every reduction, label smoothing, weights, ignoreIndex.
const { goldenSuite, make, tg } = require('./helpers/golden');

const F = tg.nn.functional;
const cls = () => ({ x: make.randn([6, 5]), y: make.ints([6], 0, 5) });

const losses = [
  { name: 'crossEntropy', inputs: cls, js: (t) => F.crossEntropy(t.x, t.y), py: 'F.cross_entropy(x, y)' },
  { name: 'crossEntropy with label smoothing', inputs: cls, js: (t) => F.crossEntropy(t.x, t.y, { labelSmoothing: 0.1 }), py: 'F.cross_entropy(x, y, label_smoothing=0.1)' },
  { name: 'crossEntropy with sum reduction', inputs: cls, js: (t) => F.crossEntropy(t.x, t.y, { reduction: 'sum' }), py: "F.cross_entropy(x, y, reduction='sum')" },
  { name: 'crossEntropy without reduction', inputs: cls, js: (t) => F.crossEntropy(t.x, t.y, { reduction: 'none' }), py: "F.cross_entropy(x, y, reduction='none')" },
  {
    name: 'crossEntropy with class weights, ignoreIndex and smoothing',
    inputs: () => ({ x: make.randn([6, 4]), y: tg.tensor([0, 3, 2, 1, 3, 2]), w: make.positive([4]) }),
    grad: ['x'],
    js: (t) => F.crossEntropy(t.x, t.y, { weight: t.w, ignoreIndex: 2, labelSmoothing: 0.2 }),
    py: 'F.cross_entropy(x, y, weight=w, ignore_index=2, label_smoothing=0.2)',
  },
  { name: 'crossEntropy over spatial dims', inputs: () => ({ x: make.randn([2, 3, 4, 5]), y: make.ints([2, 4, 5], 0, 3) }), js: (t) => F.crossEntropy(t.x, t.y), py: 'F.cross_entropy(x, y)' },
  {
    name: 'crossEntropy with probability targets and smoothing',
    inputs: () => ({ x: make.randn([4, 5]), p: make.randn([4, 5]).softmax(1) }),
    grad: ['x'],
    js: (t) => F.crossEntropy(t.x, t.p, { labelSmoothing: 0.1 }),
    py: 'F.cross_entropy(x, p, label_smoothing=0.1)',
  },
  { name: 'nllLoss', inputs: () => ({ x: make.randn([6, 5]).logSoftmax(1), y: make.ints([6], 0, 5) }), js: (t) => F.nllLoss(t.x, t.y), py: 'F.nll_loss(x, y)' },
  {
    name: 'nllLoss with weights, ignoreIndex, sum',
    inputs: () => ({ x: make.randn([6, 4]), y: tg.tensor([0, 3, 2, 1, 3, 2]), w: make.positive([4]) }),
    grad: ['x'],
    js: (t) => F.nllLoss(t.x, t.y, { weight: t.w, ignoreIndex: 3, reduction: 'sum' }),
    py: "F.nll_loss(x, y, weight=w, ignore_index=3, reduction='sum')",
  },
  { name: 'nllLoss without reduction on 3-D input', inputs: () => ({ x: make.randn([2, 4, 3]), y: make.ints([2, 3], 0, 4) }), js: (t) => F.nllLoss(t.x, t.y, { reduction: 'none' }), py: "F.nll_loss(x, y, reduction='none')" },
  { name: 'mseLoss', inputs: () => ({ x: make.randn([3, 4]), y: make.randn([3, 4]) }), js: (t) => F.mseLoss(t.x, t.y), py: 'F.mse_loss(x, y)' },
  { name: 'mseLoss sum', inputs: () => ({ x: make.randn([3, 4]), y: make.randn([3, 4]) }), js: (t) => F.mseLoss(t.x, t.y, { reduction: 'sum' }), py: "F.mse_loss(x, y, reduction='sum')" },
  { name: 'mseLoss none', inputs: () => ({ x: make.randn([3, 4]), y: make.randn([3, 4]) }), js: (t) => F.mseLoss(t.x, t.y, { reduction: 'none' }), py: "F.mse_loss(x, y, reduction='none')" },
  { name: 'l1Loss', inputs: () => ({ x: make.randn([3, 4]), y: make.randn([3, 4]) }), js: (t) => F.l1Loss(t.x, t.y), py: 'F.l1_loss(x, y)' },
  { name: 'l1Loss sum', inputs: () => ({ x: make.randn([3, 4]), y: make.randn([3, 4]) }), js: (t) => F.l1Loss(t.x, t.y, { reduction: 'sum' }), py: "F.l1_loss(x, y, reduction='sum')" },
  { name: 'l1Loss none', inputs: () => ({ x: make.randn([3, 4]), y: make.randn([3, 4]) }), js: (t) => F.l1Loss(t.x, t.y, { reduction: 'none' }), py: "F.l1_loss(x, y, reduction='none')" },
  { name: 'binaryCrossEntropyWithLogits', inputs: () => ({ x: make.randn([4, 3]), y: make.uniform([4, 3], 0, 1) }), js: (t) => F.binaryCrossEntropyWithLogits(t.x, t.y), py: 'F.binary_cross_entropy_with_logits(x, y)' },
  {
    name: 'binaryCrossEntropyWithLogits with weight and posWeight',
    inputs: () => ({ x: make.randn([4, 3]), y: make.uniform([4, 3], 0, 1), w: make.positive([3]), pw: make.positive([3]) }),
    grad: ['x', 'y'],
    js: (t) => F.binaryCrossEntropyWithLogits(t.x, t.y, { weight: t.w, posWeight: t.pw, reduction: 'sum' }),
    py: "F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw, reduction='sum')",
  },
  { name: 'binaryCrossEntropyWithLogits none', inputs: () => ({ x: make.uniform([5], -30, 30), y: make.mask([5]).float() }), js: (t) => F.binaryCrossEntropyWithLogits(t.x, t.y, { reduction: 'none' }), py: "F.binary_cross_entropy_with_logits(x, y, reduction='none')" },
  { name: 'marginRankingLoss', inputs: () => ({ a: make.randn([6]), b: make.randn([6]), y: make.mask([6]).float().mul(2).sub(1) }), grad: ['a', 'b'], js: (t) => F.marginRankingLoss(t.a, t.b, t.y), py: 'F.margin_ranking_loss(a, b, y)' },
  { name: 'marginRankingLoss with margin', inputs: () => ({ a: make.randn([6]), b: make.randn([6]), y: make.mask([6]).float().mul(2).sub(1) }), grad: ['a', 'b'], js: (t) => F.marginRankingLoss(t.a, t.b, t.y, { margin: 0.5, reduction: 'sum' }), py: "F.margin_ranking_loss(a, b, y, margin=0.5, reduction='sum')" },
  { name: 'marginRankingLoss none', inputs: () => ({ a: make.randn([6]), b: make.randn([6]), y: make.mask([6]).float().mul(2).sub(1) }), grad: ['a', 'b'], js: (t) => F.marginRankingLoss(t.a, t.b, t.y, { margin: 0.3, reduction: 'none' }), py: "F.margin_ranking_loss(a, b, y, margin=0.3, reduction='none')" },
  { name: 'tripletMarginLoss', inputs: () => ({ a: make.randn([5, 8]), p: make.randn([5, 8]), n: make.randn([5, 8]) }), js: (t) => F.tripletMarginLoss(t.a, t.p, t.n), py: 'F.triplet_margin_loss(a, p, n)' },
  { name: 'tripletMarginLoss with p=1, margin, swap', inputs: () => ({ a: make.randn([5, 8]), p: make.randn([5, 8]), n: make.randn([5, 8]) }), js: (t) => F.tripletMarginLoss(t.a, t.p, t.n, { margin: 2, p: 1, swap: true }), py: 'F.triplet_margin_loss(a, p, n, margin=2, p=1, swap=True)' },
  { name: 'tripletMarginLoss none', inputs: () => ({ a: make.randn([5, 8]), p: make.randn([5, 8]), n: make.randn([5, 8]) }), js: (t) => F.tripletMarginLoss(t.a, t.p, t.n, { reduction: 'none', margin: 3 }), py: "F.triplet_margin_loss(a, p, n, margin=3, reduction='none')" },
];

goldenSuite('functional losses', losses);
