'use strict';
// StochasticDepth against torchvision.ops.stochastic_depth: the same mask from the same seed, identity in eval mode.
const test = require('node:test');
const assert = require('node:assert');
const { tg, runTorch, assertClose } = require('./helpers/torch');
const { torchvisionSkip } = require('./helpers/torchvision');

const noVision = torchvisionSkip();

for (const mode of ['row', 'batch']) {
  test(`mode '${mode}' in training: the same mask and scaling as torchvision from the same seed`, { skip: noVision }, () => {
    const x = tg.randn([64, 3, 4, 4]);
    const layer = new tg.nn.StochasticDepth(0.3, mode);
    layer.train();
    tg.manualSeed(21);
    const y = layer.call(x);
    const ref = runTorch(`
from torchvision.ops import stochastic_depth
torch.manual_seed(21)
OUT['y'] = stochastic_depth(T['x'], 0.3, '${mode}', True)`, { x });
    assertClose(assert, y, ref.y, 1e-6, 'output');
    const kept = y.ne(0).float().mean().item();
    if (mode === 'row') assert.ok(kept > 0.5 && kept < 0.9, `kept ${kept}, expected about 0.7`);
    else assert.ok(kept === 0 || kept === 1, `kept ${kept}: the batch is dropped or kept as a whole`);
  });
}

test('eval mode and p = 0 pass the input through; p = 1 zeroes everything while training', () => {
  const x = tg.randn([5, 2]);
  const layer = new tg.nn.StochasticDepth(0.5, 'row');
  layer.eval();
  assert.ok(layer.call(x).equal(x));
  const none = new tg.nn.StochasticDepth(0, 'batch');
  assert.ok(none.call(x).equal(x));
  const all = new tg.nn.StochasticDepth(1, 'row');
  assert.strictEqual(all.call(x).abs().sum().item(), 0);
  assert.strictEqual(String(layer), 'StochasticDepth(p=0.5, mode=row)');
});

test('bad p, mode and inputs are errors naming the layer', () => {
  assert.throws(() => new tg.nn.StochasticDepth(1.5, 'row'), /StochasticDepth: p/);
  assert.throws(() => new tg.nn.StochasticDepth(0.2, 'rows'), /StochasticDepth: mode must be 'row' or 'batch'/);
  assert.throws(() => new tg.nn.StochasticDepth(0.2, 'row').call('x'), /StochasticDepth: expected a Tensor/);
});
