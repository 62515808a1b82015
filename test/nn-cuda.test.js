'use strict';
// Modules on the GPU: to('cuda') moves every parameter and buffer, training works there, and results match the CPU.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { CUDA_SKIP } = require('./helpers/cuda');
const { relError } = require('./helpers/torch');

test('a model moved to CUDA keeps its names, trains, and computes what it computes on the CPU', { skip: CUDA_SKIP }, () => {
  tg.manualSeed(5);
  const net = tg.nn.models.resnet18({ numClasses: 4 });
  const x = tg.randn([2, 3, 32, 32]);
  const cpuY = tg.noGrad(() => net.eval().forward(x));
  const names = Object.keys(net.stateDict());
  net.to('cuda');
  assert.deepStrictEqual(Object.keys(net.stateDict()), names);
  for (const [n, t] of [...net.namedParameters(), ...net.namedBuffers()]) assert.match(t.device, /^cuda/, n);
  assert.ok(net.parameters().every((p) => p.isLeaf && p.requiresGrad));
  const gpuY = tg.noGrad(() => net.forward(x.to('cuda')));
  assert.match(gpuY.device, /^cuda/);
  const err = relError(gpuY, { shape: cpuY.shape, data: Float64Array.from(cpuY.dataSync()) });
  assert.ok(err < 1e-4, `GPU vs CPU relative error ${err}`);
  net.train();
  new tg.nn.CrossEntropyLoss().forward(net.forward(x.to('cuda')), tg.tensor([1, 3]).to('cuda')).backward();
  assert.match(net.fc.weight.grad.device, /^cuda/);
  assert.strictEqual(net.bn1.num_batches_tracked.item(), 1);
  net.to('cpu');
  assert.strictEqual(net.conv1.weight.device, 'cpu');
  assert.strictEqual(net.conv1.weight.grad.device, 'cpu', 'gradients move back too');
  net.dispose();
});

test('layers can be created directly on the GPU', { skip: CUDA_SKIP }, () => {
  const lin = new tg.nn.Linear(3, 2, { device: 'cuda' });
  const bn = new tg.nn.BatchNorm1d(2, { device: 'cuda' });
  assert.match(lin.weight.device, /^cuda/);
  assert.match(bn.num_batches_tracked.device, /^cuda/);
  assert.deepStrictEqual(bn.forward(lin.forward(tg.randn([4, 3], { device: 'cuda' }))).shape, [4, 2]);
});
