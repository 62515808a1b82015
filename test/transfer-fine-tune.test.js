'use strict';
// fineTune and progressive unfreezing on a tiny synthetic task: what is frozen stays bitwise, the rest learns.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

// 3 classes from a fixed linear rule over 10 features: 256 examples to train, 128 to check.
function task() {
  tg.manualSeed(21);
  const w = tg.randn([10, 3]);
  const make = (n) => {
    const x = tg.randn([n, 10]);
    return [x, x.matmul(w).argmax(1)];
  };
  return { train: make(256), val: make(128) };
}

// A "pretrained" base (fixed random features) with a new head, as reuse builds it.
function model() {
  tg.manualSeed(22);
  const pre = new tg.nn.Sequential({
    hidden1: new tg.nn.Linear(10, 32), act1: new tg.nn.ReLU(),
    hidden2: new tg.nn.Linear(32, 32), act2: new tg.nn.ReLU(),
    outputs: new tg.nn.Linear(32, 5),
  });
  return tg.transfer.reuse(pre, { upTo: 'act2', head: { out: new tg.nn.Linear(32, 3) } });
}

const snapshot = (m, re) => Object.fromEntries(m.namedParameters().filter(([n]) => re.test(n)).map(([n, p]) => [n, p.clone()]));
const same = (m, snap) => Object.entries(snap).every(([n, t]) => m.getParameter(n).equal(t));
const allChanged = (m, snap) => Object.entries(snap).every(([n, t]) => !m.getParameter(n).equal(t));

test('fineTune: phase 1 leaves the base bitwise unchanged, phase 2 trains it at discriminative rates; accuracy improves', async () => {
  const { train, val } = task();
  const m = model();
  const base = snapshot(m, /^hidden/);
  const head = snapshot(m, /^out\./);
  const before = await tg.evaluate(m, val, { loss: 'crossEntropy', metrics: ['accuracy'] });
  const seen = [];
  const groupsSeen = [];
  const history = await tg.transfer.fineTune(m, train, {
    freezeEpochs: 4, epochs: 8, baseLr: 0.05, lrMult: 4, loss: 'crossEntropy', metrics: ['accuracy'], validation: val, verbose: 0, seed: 1,
    optimizer: (groups, phase) => {
      groupsSeen.push({ phase, groups: groups.map((g) => ({ names: g.params.map(([n]) => n), lr: g.lr })) });
      return new tg.optim.SGD(groups, { momentum: 0.9, weightDecay: 0.01 });
    },
    callbacks: [{ onTrainEnd: () => seen.push({ baseSame: same(m, base), headChanged: allChanged(m, head), frozen: m.getParameter('hidden1.weight').requiresGrad === false }) }],
  });
  assert.deepStrictEqual(seen, [
    { baseSame: true, headChanged: true, frozen: true },
    { baseSame: false, headChanged: true, frozen: false },
  ]);
  assert.ok(allChanged(m, base), 'every base parameter trained in phase 2');
  // Phase 1 trains the head alone at baseLr; phase 2 every group, from baseLr/2 at the top down by lrMult.
  assert.deepStrictEqual(groupsSeen[0], { phase: 1, groups: [{ names: ['out.weight', 'out.bias'], lr: 0.05 }] });
  assert.deepStrictEqual(groupsSeen[1].phase, 2);
  assert.deepStrictEqual(groupsSeen[1].groups.map((g) => g.names[0]), ['hidden1.weight', 'hidden2.weight', 'out.weight']);
  assert.deepStrictEqual(groupsSeen[1].groups.map((g) => g.lr), [0.025 / 4, 0.025 / 2, 0.025]);
  assert.deepStrictEqual(history.epochs.map((e) => [e.epoch, e.phase]), [[0, 1], [1, 1], [2, 1], [3, 1], [4, 2], [5, 2], [6, 2], [7, 2], [8, 2], [9, 2], [10, 2], [11, 2]]);
  const after = await tg.evaluate(m, val, { loss: 'crossEntropy', metrics: ['accuracy'] });
  assert.ok(after.accuracy > before.accuracy + 0.4, `accuracy ${before.accuracy} -> ${after.accuracy}`);
  assert.ok(after.accuracy > 0.75, `accuracy ${after.accuracy}`);
});

test('fineTune defaults: Adam, the head reuse appended, one epoch each; head "last" on a plain model', async () => {
  const { train } = task();
  const m = model();
  const h = await tg.transfer.fineTune(m, train, { loss: 'crossEntropy', verbose: 0 });
  assert.deepStrictEqual(h.series('phase'), [1, 2]);
  const plain = new tg.nn.Sequential({ a: new tg.nn.Linear(10, 8), r: new tg.nn.ReLU(), b: new tg.nn.Linear(8, 3) });
  const a = snapshot(plain, /^a\./);
  let frozenA;
  await tg.transfer.fineTune(plain, train, { freezeEpochs: 1, epochs: 0, head: 'last', loss: 'crossEntropy', verbose: 0,
    callbacks: [{ onTrainEnd: () => (frozenA = same(plain, a)) }] });
  assert.strictEqual(frozenA, true);
});

test('fineTune: early stopping in phase 1 only ends the head training; phase 2 still runs', async () => {
  const { train } = task();
  // minDelta so large that no epoch improves on the first: each phase stops after patience + 1 epochs.
  const h = await tg.transfer.fineTune(model(), train, {
    freezeEpochs: 5, epochs: 5, loss: 'crossEntropy', verbose: 0, earlyStopping: { monitor: 'loss', patience: 1, minDelta: 1e9 },
  });
  assert.deepStrictEqual(h.series('phase'), [1, 1, 2, 2]);
  assert.deepStrictEqual(h.series('epoch'), [0, 1, 2, 3]);
  assert.ok(h.stopped && h.stopped.epoch === 3, JSON.stringify(h.stopped));
});

test('fineTune rejects a head that selects nothing or everything, and bad epochs', async () => {
  const { train } = task();
  await assert.rejects(tg.transfer.fineTune(model(), train, { loss: 'crossEntropy', head: /^nothing/ }), /selects no parameter/);
  await assert.rejects(tg.transfer.fineTune(model(), train, { loss: 'crossEntropy', head: '*' }), /selects every parameter/);
  await assert.rejects(tg.transfer.fineTune(model(), train, { loss: 'crossEntropy', freezeEpochs: -1 }), /freezeEpochs must be a non-negative integer/);
  await assert.rejects(tg.transfer.fineTune(model(), train, { loss: 'crossEntropy', optimizer: 'lbfgs' }), /optimizer must be 'adam', 'sgd' or a function/);
  const m = model();
  await assert.rejects(tg.transfer.fineTune(m, train, { epochs: 2 }), /options.loss is required/);
  await assert.rejects(tg.transfer.fineTune(m, train, { loss: 'crossEntropy', lrMult: 10, factor: 2 }), /lrMult or factor, not both/);
  await assert.rejects(tg.transfer.fineTune(m, train, { loss: 'crossEntropy', callbacks: {} }), /callbacks must be an array/);
  assert.ok(m.parameters().every((p) => p.requiresGrad), 'nothing frozen by a rejected call');
  await assert.rejects(tg.transfer.progressiveUnfreeze(m, train, { epochsPerStage: 0, loss: 'crossEntropy' }), /epochsPerStage must be an integer >= 1/);
});

test('progressiveUnfreeze trains the head first, then unfreezes one group per stage from the top, growing one optimizer', async () => {
  const { train } = task();
  const m = model();
  const h1 = snapshot(m, /^hidden1\./);
  const h2 = snapshot(m, /^hidden2\./);
  const states = [];
  let opt;
  const history = await tg.transfer.progressiveUnfreeze(m, train, {
    epochsPerStage: 1, baseLr: 0.02, factor: 2, loss: 'crossEntropy', verbose: 0,
    optimizer: (groups) => (opt = new tg.optim.SGD(groups, { momentum: 0.9 })),
    callbacks: [{ onTrainEnd: () => states.push([same(m, h2), same(m, h1), opt.paramGroups.map((g) => g.lr)]) }],
  });
  assert.deepStrictEqual(states, [
    [true, true, [0.02]],
    [false, true, [0.02, 0.01]],
    [false, false, [0.02, 0.01, 0.005]],
  ]);
  assert.deepStrictEqual(history.series('stage'), [0, 1, 2]);
});

test('ProgressiveUnfreezing unfreezes the next group at each plateau and adds it with addParamGroup', async () => {
  const { train } = task();
  const m = model();
  m.get('hidden1').requiresGrad_(false);
  m.get('hidden2').requiresGrad_(false);
  const opt = new tg.optim.SGD(m.parameters(/^out\./), { lr: 0.02 });
  // minDelta so large that every epoch after an improvement is a plateau: unfreezing after epochs 1 and 3.
  const cb = new tg.transfer.ProgressiveUnfreezing(m, { monitor: 'loss', patience: 1, minDelta: 1e9, factor: 2 });
  const history = await tg.fit(m, train, { epochs: 5, optimizer: opt, loss: 'crossEntropy', verbose: 0, callbacks: [cb] });
  assert.deepStrictEqual(history.series('unfrozen'), [0, 1, 1, 2, 2]);
  assert.deepStrictEqual(opt.paramGroups.map((g) => [g.names[0], g.lr]), [['out.weight', 0.02], ['hidden2.weight', 0.01], ['hidden1.weight', 0.005]]);
  assert.ok(m.parameters().every((p) => p.requiresGrad));

  // Parameters the optimizer already holds (frozen, skipped) just start training: no new group.
  const m2 = model();
  m2.get('hidden1').requiresGrad_(false);
  const opt2 = new tg.optim.Adam(m2.parameters(), { lr: 0.01 });
  const before = snapshot(m2, /^hidden1\./);
  const cb2 = new tg.transfer.ProgressiveUnfreezing(m2, { monitor: 'loss', minDelta: 1e9 });
  await tg.fit(m2, train, { epochs: 3, optimizer: opt2, loss: 'crossEntropy', verbose: 0, callbacks: [cb2] });
  assert.strictEqual(opt2.paramGroups.length, 1);
  assert.strictEqual(cb2.unfrozen, 1);
  assert.ok(allChanged(m2, before));
  assert.throws(() => new tg.transfer.ProgressiveUnfreezing(m2, { step: 0 }), /step must be an integer >= 1/);
});

test('fineTune with cache: phase 1 on cached features gives the weights of phase 1 without (bitwise in the same batches)', async () => {
  const run = async (cache, shuffle = false) => {
    const { train } = task();
    const m = model();
    let baseCalls = 0;
    m.get('hidden1').registerForwardHook(() => { baseCalls++; });
    const h = await tg.transfer.fineTune(m, train, { freezeEpochs: 3, epochs: 0, baseLr: 0.05, loss: 'crossEntropy', optimizer: 'sgd', optimizerOptions: { momentum: 0.9 }, verbose: 0, seed: 4, batchSize: 32, shuffle, cache });
    return { m, losses: h.epochs.map((e) => e.loss), baseCalls };
  };
  const plain = await run(undefined);
  const cached = await run(true);
  // 256 examples in batches of 32: the cache's native build runs the base's JS forward only to trace it (once for the
  // one batch shape, once more to check the trace) and never while the head trains (uncached, it runs in every step:
  // fit's native engine calls the JS forward once, to trace it)
  assert.strictEqual(cached.baseCalls, 2);
  assert.ok(plain.baseCalls >= 1);
  const fresh = model();
  assert.ok(!plain.m.getParameter('out.weight').equal(fresh.getParameter('out.weight')), 'the head trained');
  for (const [n, p] of plain.m.namedParameters()) assert.ok(p.equal(cached.m.getParameter(n)), `${n} is bitwise the same`);
  assert.deepStrictEqual(cached.losses, plain.losses);
  // shuffled batches group examples differently from the cache's build: the base's matmuls round differently
  const [shuffledPlain, shuffledCached] = [await run(undefined, true), await run(true, true)];
  for (const [n, p] of shuffledPlain.m.namedParameters()) assert.ok(p.sub(shuffledCached.m.getParameter(n)).abs().max().item() < 1e-6, n);
  await assert.rejects(tg.transfer.fineTune(model(), task().train, { loss: 'crossEntropy', cache: 'yes', verbose: 0 }), /cache must be true/);
});

test('fineTune with unfreeze: 1 trains only the top layer group in phase 2 and leaves the lower ones frozen', async () => {
  const { train } = task();
  const m = model();
  let afterPhase1;
  await tg.transfer.fineTune(m, train, {
    freezeEpochs: 1, epochs: 2, unfreeze: 1, baseLr: 0.05, loss: 'crossEntropy', optimizer: 'sgd', verbose: 0, seed: 2,
    callbacks: [{ onTrainEnd: () => { afterPhase1 ??= snapshot(m, /./); } }],
  });
  assert.ok(same(m, snapshot(model(), /^hidden/)), 'the lower groups are bitwise the pretrained weights');
  assert.ok(allChanged(m, Object.fromEntries(Object.entries(afterPhase1).filter(([n]) => n.startsWith('out.')))), 'the top group trained in phase 2');
  assert.strictEqual(m.getParameter('hidden2.weight').requiresGrad, false);
  assert.strictEqual(m.getParameter('out.weight').requiresGrad, true);
  // unfreeze: 2 trains hidden2 too, not hidden1
  const m2 = model();
  await tg.transfer.fineTune(m2, train, { freezeEpochs: 0, epochs: 1, unfreeze: 2, loss: 'crossEntropy', optimizer: 'sgd', verbose: 0 });
  assert.ok(same(m2, snapshot(model(), /^hidden1\./)));
  assert.ok(allChanged(m2, snapshot(model(), /^hidden2\./)));
  await assert.rejects(tg.transfer.fineTune(model(), train, { loss: 'crossEntropy', unfreeze: 4, verbose: 0 }), (e) => e instanceof RangeError && /unfreeze must be an integer from 1 to 3/.test(e.message));
});
