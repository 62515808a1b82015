'use strict';
// fit's classWeights and sample weights ([x, y, w] items): the weighted means of PyTorch (golden), on both engines for
// class weights; metrics unweighted; val_loss weighted by validation sample weights only; bad input named.
const test = require('node:test');
const assert = require('node:assert');
const { tg, hasPyTorch, runTorch, assertClose } = require('./helpers/torch');

const noTorch = !hasPyTorch() && 'needs /usr/bin/python3 with torch';
const quiet = { verbose: 0 };
const N = 23;

function makeNet(out = 3, logSoftmax = false) {
  tg.manualSeed(21);
  const layers = { fc1: new tg.nn.Linear(4, 6), act: new tg.nn.Tanh(), fc2: new tg.nn.Linear(6, out) };
  if (logSoftmax) layers.lsm = new tg.nn.LogSoftmax(1);
  return new tg.nn.Sequential(layers);
}

function makeData() {
  tg.manualSeed(22);
  return { x: tg.randn([N, 4]), y: tg.randint(0, 3, [N]), r: tg.randn([N, 2]), w: tg.rand([N]).mul(3).add(0.05), cw: tg.tensor([0.2, 1.5, 4], { dtype: 'float32' }) };
}

const PY = `
import torch.nn.functional as F
X, Y, R, SW, CW = T['x'], T['y'], T['r'], T['w'], T['cw']
def train(kind, out, epochs=2, batch=5):
    layers = [torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, out)] + ([torch.nn.LogSoftmax(1)] if kind == 'nll_cw' else [])
    net = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for i, p in enumerate(net.parameters()): p.copy_(T['p%d_%d' % (out, i)])
    opt = torch.optim.SGD(net.parameters(), lr=0.2, momentum=0.5)
    for e in range(epochs):
        for i in range(0, N, batch):
            xb, yb, rb, w = X[i:i + batch], Y[i:i + batch], R[i:i + batch], SW[i:i + batch]
            opt.zero_grad()
            o = net(xb)
            if kind == 'ce_cw': loss = F.cross_entropy(o, yb, weight=CW)
            elif kind == 'nll_cw': loss = F.nll_loss(o, yb, weight=CW)
            elif kind == 'ce_sw': loss = (F.cross_entropy(o, yb, reduction='none') * w).sum() / w.sum()
            elif kind == 'mse_sw': loss = (F.mse_loss(o, rb, reduction='none').mean(1) * w).sum() / w.sum()
            loss.backward()
            opt.step()
    with torch.no_grad():
        o = net(X)
        if kind == 'ce_sw': OUT[kind + '_eval'] = (F.cross_entropy(o, Y, reduction='none') * SW).sum() / SW.sum()
    return list(net.parameters())
N = X.shape[0]
for kind, out in [('ce_cw', 3), ('nll_cw', 3), ('ce_sw', 3), ('mse_sw', 2)]:
    for i, p in enumerate(train(kind, out)): OUT[kind + '_' + str(i)] = p
`;

test('classWeights and sample weights train to the weights of PyTorch weighted means (crossEntropy, nll, mse; JS and native engines)', { skip: noTorch }, async () => {
  const d = makeData();
  const inputs = { x: d.x, y: d.y, r: d.r, w: d.w, cw: d.cw };
  for (const out of [3, 2]) {
    const net = makeNet(out);
    net.parameters().forEach((p, i) => (inputs[`p${out}_${i}`] = p.detach().clone()));
    net.dispose();
  }
  const ref = runTorch(PY, inputs);
  const run = async (kind, data, options, engine = 'js') => {
    const net = makeNet(kind === 'mse_sw' ? 2 : 3, kind === 'nll_cw');
    const opt = new tg.optim.SGD(net.parameters(), { lr: 0.2, momentum: 0.5 });
    const h = await tg.fit(net, data, { ...quiet, epochs: 2, batchSize: 5, shuffle: false, optimizer: opt, engine, ...options });
    assert.strictEqual(h.engine, engine, kind);
    net.parameters().forEach((p, i) => assertClose(assert, p, ref[`${kind}_${i}`], 1e-5, `${kind} (${engine}): parameter ${i}`));
    opt.dispose();
    return net;
  };
  (await run('ce_cw', [d.x, d.y], { loss: 'crossEntropy', classWeights: [0.2, 1.5, 4] })).dispose();
  (await run('ce_cw', [d.x, d.y], { loss: 'crossEntropy', classWeights: d.cw }, 'native')).dispose();
  (await run('nll_cw', [d.x, d.y], { loss: 'nll', classWeights: d.cw })).dispose();
  (await run('mse_sw', new tg.data.TensorDataset(d.x, d.r, d.w), { loss: 'mse' })).dispose();
  const net = await run('ce_sw', new tg.data.TensorDataset(d.x, d.y, d.w), { loss: 'crossEntropy' });
  // evaluate weighs the loss by the third field too; metrics stay unweighted
  const ev = await tg.evaluate(net, [d.x, d.y, d.w], { loss: 'crossEntropy', metrics: ['accuracy'] });
  assert.ok(Math.abs(ev.loss - ref.ce_sw_eval.data[0]) < 1e-5 * Math.abs(ref.ce_sw_eval.data[0]), `weighted eval loss ${ev.loss} vs ${ref.ce_sw_eval.data[0]}`);
  const plain = await tg.evaluate(net, [d.x, d.y], { loss: 'crossEntropy', metrics: ['accuracy'] });
  assert.strictEqual(ev.accuracy, plain.accuracy);
  assert.ok(Math.abs(ev.loss - plain.loss) > 1e-4, 'the weights change the loss');
  net.dispose();
  tg.dispose(Object.values(inputs));
});

test('val_loss: weighted by validation sample weights, not by classWeights; metrics unweighted', async () => {
  const d = makeData();
  const net = makeNet();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const h = await tg.fit(net, [d.x, d.y], { ...quiet, batchSize: 8, optimizer: opt, loss: 'crossEntropy', metrics: ['accuracy'], classWeights: [0.2, 1.5, 4], validation: [d.x, d.y, d.w] });
  const weighted = await tg.evaluate(net, [d.x, d.y, d.w], { loss: 'crossEntropy', metrics: ['accuracy'] });
  assert.ok(Math.abs(h.last().val_loss - weighted.loss) < 1e-6, `${h.last().val_loss} vs ${weighted.loss}`);
  assert.ok(Math.abs(h.last().val_accuracy - weighted.accuracy) < 1e-6);
  opt.dispose();
  net.dispose();
  tg.dispose(Object.values(d));
});

test('sample and class weights: bad input is named; the native engine refuses sample weights', async () => {
  const d = makeData();
  const net = makeNet();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const base = { ...quiet, optimizer: opt, loss: 'crossEntropy' };
  await assert.rejects(tg.fit(net, [d.x, d.r], { ...base, loss: 'mse', classWeights: [1, 2] }), (e) => e instanceof TypeError && /classWeights apply to the losses 'crossEntropy' and 'nll'/.test(e.message));
  for (const bad of [[], [1, -1, 2], [1, NaN], 'abc', tg.tensor([1, 2, 3])]) {
    await assert.rejects(tg.fit(net, [d.x, d.y], { ...base, classWeights: bad }), (e) => e instanceof TypeError && /classWeights must be/.test(e.message), String(bad));
  }
  await assert.rejects(tg.fit(net, [d.x, d.y, d.w], { ...base, loss: (o, t) => tg.nn.functional.crossEntropy(o, t) }), /sample weights .* need a loss given by name/);
  await assert.rejects(tg.fit(net, [[d.x, d.y, tg.ones([3])]], base), (e) => e instanceof RangeError && /one value per example: 23 examples/.test(e.message));
  await assert.rejects(tg.fit(net, [d.x, d.y, d.w], { ...base, engine: 'native' }), (e) => e.code === 'ERR_NATIVE_ENGINE' && /sample weights/.test(e.message));
  const h = await tg.fit(net, [d.x, d.y, d.w], { ...base, engine: 'auto' });
  assert.strictEqual(h.engine, 'js');
  opt.dispose();
  net.dispose();
  tg.dispose(Object.values(d));
});
