'use strict';
// fit's gradient accumulation: k batches of B give the weights of batches of k*B (PyTorch, golden), the tail of an
// epoch included; with clipping, class and sample weights; checked before any step; refused by the native engine.
const test = require('node:test');
const assert = require('node:assert');
const { tg, hasPyTorch, runTorch, assertClose } = require('./helpers/torch');
const { settleTensors } = require('./helpers/settle.js');

const noTorch = !hasPyTorch() && 'needs /usr/bin/python3 with torch';
const quiet = { verbose: 0 };
const N = 20; // batches of 3 in groups of 3: 9, 9 and a tail of 2 examples (one batch of 2)

function makeNet() {
  tg.manualSeed(11);
  return new tg.nn.Sequential({ fc1: new tg.nn.Linear(4, 5), act: new tg.nn.Tanh(), fc2: new tg.nn.Linear(5, 3) });
}

function makeData() {
  tg.manualSeed(12);
  return { x: tg.randn([N, 4]), y: tg.randint(0, 3, [N]), w: tg.rand([N]).add(0.1), cw: tg.tensor([0.5, 2, 1], { dtype: 'float32' }) };
}

// PyTorch trains the same net with batches of 9 (no accumulation), the same losses and optimizers.
const PY = `
import torch.nn.functional as F
X, Y, SW, CW = T['x'], T['y'], T['w'], T['cw']
def train(opt_name, batch, epochs, cw=None, sw=False, clip=None):
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    with torch.no_grad():
        for i, p in enumerate(net.parameters()): p.copy_(T['p' + str(i)])
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9) if opt_name == 'sgd' else torch.optim.Adam(net.parameters(), lr=0.01)
    for e in range(epochs):
        for i in range(0, X.shape[0], batch):
            xb, yb = X[i:i + batch], Y[i:i + batch]
            opt.zero_grad()
            out = net(xb)
            if sw:
                w = SW[i:i + batch]
                l = F.cross_entropy(out, yb, weight=cw, reduction='none')
                eff = w * cw[yb] if cw is not None else w
                loss = (l * w).sum() / eff.sum()
            else:
                loss = F.cross_entropy(out, yb, weight=cw)
            loss.backward()
            if clip is not None: torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
            opt.step()
    return [p.detach().clone() for _, p in net.named_parameters()]
cases = {'sgd': train('sgd', 9, 2), 'adam': train('adam', 9, 2), 'sgd_clip': train('sgd', 9, 2, clip=0.05),
         'sgd_cw': train('sgd', 9, 2, cw=CW), 'adam_sw_cw': train('adam', 9, 2, cw=CW, sw=True), 'sgd_b3': train('sgd', 3, 2)}
for k, ps in cases.items():
    for i, p in enumerate(ps): OUT[k + '_' + str(i)] = p
`;

test('accumulate: 3 batches of 3 give the weights of PyTorch batches of 9, the partial group at each epoch end included (SGD momentum, Adam, clipping, class and sample weights)', { skip: noTorch }, async () => {
  const d = makeData();
  const init = makeNet();
  const inputs = { x: d.x, y: d.y, w: d.w, cw: d.cw };
  init.parameters().forEach((t, i) => (inputs[`p${i}`] = t));
  const ref = runTorch(PY, inputs);
  const run = async (name, optim, options, data = [d.x, d.y]) => {
    const net = makeNet();
    const opt = optim === 'sgd' ? new tg.optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 }) : new tg.optim.Adam(net.parameters(), { lr: 0.01 });
    const h = await tg.fit(net, data, { ...quiet, epochs: 2, batchSize: 3, shuffle: false, optimizer: opt, loss: 'crossEntropy', accumulate: 3, ...options });
    assert.strictEqual(h.engine, 'js');
    net.parameters().forEach((p, i) => assertClose(assert, p, ref[`${name}_${i}`], 1e-5, `${name}: parameter ${i}`));
    opt.dispose();
    return net;
  };
  const sgd = await run('sgd', 'sgd', {});
  await run('adam', 'adam', {});
  await run('sgd_clip', 'sgd', { clipGradNorm: 0.05 });
  await run('sgd_cw', 'sgd', { classWeights: d.cw });
  await run('adam_sw_cw', 'adam', { classWeights: [0.5, 2, 1] }, [d.x, d.y, d.w]);
  // the comparison can fail: without accumulation the weights are those of batches of 3, not 9
  const gap = sgd.parameters()[0].sub(tg.tensor(Float32Array.from(ref.sgd_b3_0.data), { shape: ref.sgd_b3_0.shape })).abs().max().item();
  assert.ok(gap > 1e-3, `batches of 3 and accumulated batches of 9 differ (${gap})`);
  tg.dispose([d.x, d.y, d.w, d.cw]);
  init.dispose();
});

test('accumulate equals a k times larger batchSize under shuffling too (same seed, same order)', async () => {
  const d = makeData();
  const run = async (options) => {
    const net = makeNet();
    const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
    await tg.fit(net, [d.x, d.y], { ...quiet, epochs: 3, seed: 4, optimizer: opt, loss: 'crossEntropy', engine: 'js', ...options });
    const w = net.parameters().map((p) => p.detach().clone());
    opt.dispose();
    net.dispose();
    return w;
  };
  const acc = await run({ batchSize: 2, accumulate: 4 });
  const big = await run({ batchSize: 8 });
  const small = await run({ batchSize: 2 });
  acc.forEach((p, i) => assert.ok(p.sub(big[i]).abs().max().item() < 1e-6, `parameter ${i}`));
  assert.ok(acc[0].sub(small[0]).abs().max().item() > 1e-4, 'accumulation changes the trajectory');
  tg.dispose([acc, big, small, d.x, d.y, d.w, d.cw]);
});

test('accumulate must be a positive integer: a RangeError before any step', async () => {
  const d = makeData();
  const net = makeNet();
  const before = net.parameters().map((p) => p.toArray());
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  for (const bad of [0, -1, 1.5, '2', NaN]) {
    await assert.rejects(tg.fit(net, [d.x, d.y], { ...quiet, optimizer: opt, loss: 'crossEntropy', accumulate: bad }), (e) => e instanceof RangeError && /accumulate must be an integer >= 1/.test(e.message), String(bad));
  }
  assert.deepStrictEqual(net.parameters().map((p) => p.toArray()), before);
  await assert.rejects(
    tg.fit({ forward: (x) => x, train() {}, eval() {} }, [d.x, d.y], { ...quiet, optimizer: opt, loss: 'mse', accumulate: 2 }),
    /accumulate needs a model with parameters\(\)/,
  );
  await assert.rejects(tg.fit(net, [d.x, d.y], { ...quiet, optimizer: opt, loss: 'crossEntropy', accumulate: 2, distributed: true }), /accumulate with distributed training is not supported/);
  opt.dispose();
  net.dispose();
  tg.dispose([d.x, d.y, d.w, d.cw]);
});

test("accumulate: engine 'native' refuses with ERR_NATIVE_ENGINE, 'auto' runs the JS loop; no tensor leaks", async () => {
  const d = makeData();
  const net = makeNet();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const base = { ...quiet, optimizer: opt, loss: 'crossEntropy', batchSize: 3, accumulate: 2 };
  await assert.rejects(tg.fit(net, [d.x, d.y], { ...base, engine: 'native' }), (e) => e.code === 'ERR_NATIVE_ENGINE' && /accumulat/.test(e.message));
  await tg.fit(net, [d.x, d.y], { ...base, engine: 'auto' }); // warm-up: lazily made state
  await settleTensors();
  const live = tg.memory().tensors;
  const h = await tg.fit(net, [d.x, d.y], { ...base, engine: 'auto', epochs: 2, classWeights: [1, 2, 3] });
  assert.strictEqual(h.engine, 'js');
  await settleTensors();
  assert.strictEqual(tg.memory().tensors, live);
  opt.dispose();
  net.dispose();
  tg.dispose([d.x, d.y, d.w, d.cw]);
});
