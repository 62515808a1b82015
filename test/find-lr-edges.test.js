'use strict';
// findLr at its edges: divergence against the best smoothed loss so far (a loss schedule the test sets), the epochs a
// cycled data function is asked for, training mode during the sweep, state dicts given as Maps or holding non-tensors,
// batches without targets, and every refusal's whole message.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { lrSuggestions } = require('../dist/train/lr-suggestions');
const { settleTensors } = require('./helpers/settle');

function mlp(seed = 0) {
  tg.manualSeed(seed);
  return new tg.nn.Sequential({ fc1: new tg.nn.Linear(3, 4), act: new tg.nn.ReLU(), fc2: new tg.nn.Linear(4, 2) });
}
function problem(n = 12) {
  tg.manualSeed(5);
  return [tg.keep(tg.randn([n, 3])), tg.keep(tg.randint(0, 2, [n]))];
}
/** A loss whose values are `schedule` in turn (through the graph, with zero gradients). */
const scheduled = (schedule) => {
  let i = 0;
  return (out) => out.sum().mul(0).add(schedule[i++]);
};

test('the sweep diverges once the smoothed loss passes divergeFactor times the best so far, not before', async () => {
  const [x, y] = problem();
  const net = mlp();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const base = { optimizer: opt, batchSize: 4, steps: 10, smoothing: 0, divergeFactor: 4, shuffle: false };
  // the best is 0.5 after step 2; 2.0 is exactly 4 times it (not past), 2.125 is past (values exact in float32)
  let r = await tg.train.findLr(net, [x, y], { ...base, loss: scheduled([1, 0.5, 0.625, 2.0, 2.125, 1, 1, 1, 1, 1]) });
  assert.deepStrictEqual([r.stopped, r.rawLosses], ['diverged', [1, 0.5, 0.625, 2.0, 2.125]]);
  assert.deepStrictEqual(r.losses, r.rawLosses, 'smoothing 0: the smoothed loss is the loss');
  // a loss that only rises from its first value never beats it: 3.875 times the first is no divergence
  r = await tg.train.findLr(net, [x, y], { ...base, loss: scheduled([1, 2, 3, 3.875, 3.875, 3.875, 3.875, 3.875, 3.875, 3.875]) });
  assert.strictEqual(r.stopped, 'completed');
  assert.strictEqual(r.lrs.length, 10);
  // NaN diverges at once
  r = await tg.train.findLr(net, [x, y], { ...base, loss: scheduled([1, NaN, 1]) });
  assert.deepStrictEqual([r.stopped, r.lrs.length], ['diverged', 2]);
  // smoothing 0.5, debiased: avg_i = 0.5 avg_{i-1} + 0.5 loss_i, smooth_i = avg_i / (1 - 0.5^(i+1))
  r = await tg.train.findLr(net, [x, y], { ...base, steps: 3, smoothing: 0.5, loss: scheduled([2, 4, 8]) });
  assert.deepStrictEqual(r.losses, [1 / 0.5, 2.5 / 0.75, 5.25 / 0.875]);
  tg.dispose([x, y]);
});

test('a data function is asked for epochs 0, 1, 2 as the sweep cycles it; the sweep trains in training mode and restores eval', async () => {
  const [x, y] = problem(8);
  const batches = [[x.narrow(0, 0, 4), y.narrow(0, 0, 4)], [x.narrow(0, 4, 4), y.narrow(0, 4, 4)]];
  const asked = [];
  const net = mlp();
  net.eval();
  const modes = [];
  const forward = net.forward.bind(net);
  net.forward = (input) => (modes.push(net.training), forward(input));
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const r = await tg.train.findLr(net, (epoch) => (asked.push(epoch), batches), { optimizer: opt, loss: 'crossEntropy', steps: 5, divergeFactor: Infinity });
  assert.strictEqual(r.lrs.length, 5);
  assert.deepStrictEqual(asked, [0, 1, 2]);
  assert.deepStrictEqual(modes, [true, true, true, true, true]);
  assert.strictEqual(net.training, false);
  tg.dispose([x, y]);
});

test("a model whose stateDict() is a Map is restored; one holding a non-tensor, or a batch without a target, is refused by name", async () => {
  const [x, y] = problem(8);
  const net = mlp();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const before = Array.from(net.get('fc1').weight.dataSync());
  const asMap = {
    forward: (t) => net.forward(t), train: (m) => net.train(m), eval: () => net.eval(), get training() { return net.training; },
    stateDict: () => new Map(Object.entries(net.stateDict())), loadStateDict: (sd) => net.loadStateDict(sd),
  };
  const r = await tg.train.findLr(asMap, [x, y], { optimizer: opt, loss: 'crossEntropy', steps: 4, batchSize: 4, endLr: 100 });
  assert.strictEqual(r.lrs.length, 4);
  assert.deepStrictEqual(Array.from(net.get('fc1').weight.dataSync()), before, 'weights restored from the Map');
  const withNumber = { ...asMap, stateDict: () => ({ ...net.stateDict(), steps: 3 }) };
  await assert.rejects(tg.train.findLr(withNumber, [x, y], { optimizer: opt, loss: 'crossEntropy' }),
    { name: 'TypeError', message: "findLr: the model's stateDict() must map names to tensors ('steps' is not one)" });
  await assert.rejects(tg.train.findLr(net, [[x]], { optimizer: opt, loss: 'crossEntropy' }), { name: 'TypeError', message: 'findLr: each batch needs a target: [x, y]' });
  assert.deepStrictEqual(Array.from(net.get('fc1').weight.dataSync()), before);
  tg.dispose([x, y]);
});

test('findLr refusals, word for word', async () => {
  const [x, y] = problem(8);
  const net = mlp();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const base = { optimizer: opt, loss: 'crossEntropy' };
  const fake = { zeroGrad() {}, step() {}, paramGroups: [{ lr: 1 }], stateDict() {}, loadStateDict() {} };
  const refusals = [
    [net, base, { shuffle: 'yes' }, TypeError, 'findLr: shuffle must be a boolean, got yes'],
    [net, null, {}, TypeError, 'findLr: expected options { optimizer, loss }'],
    [{ forward() {}, train() {}, eval() {} }, base, {}, TypeError, 'findLr: model needs stateDict() and loadStateDict() to be restored after the sweep (a tg.nn.Module)'],
    [{ forward() {}, train() {}, eval() {}, stateDict() {} }, base, {}, TypeError, 'findLr: model needs stateDict() and loadStateDict() to be restored after the sweep (a tg.nn.Module)'],
    [null, base, {}, TypeError, 'findLr: model must have forward(x), train() and eval() (a tg.nn.Module)'],
    [{ forward() {}, train() {} }, base, {}, TypeError, 'findLr: model must have forward(x), train() and eval() (a tg.nn.Module)'],
    [{ train() {}, eval() {} }, base, {}, TypeError, 'findLr: model must have forward(x), train() and eval() (a tg.nn.Module)'],
    [{ forward() {}, eval() {} }, base, {}, TypeError, 'findLr: model must have forward(x), train() and eval() (a tg.nn.Module)'],
    ['net', base, {}, TypeError, 'findLr: model must have forward(x), train() and eval() (a tg.nn.Module)'],
    [{ forward() {}, train() {}, eval() {}, loadStateDict() {} }, base, {}, TypeError, 'findLr: model needs stateDict() and loadStateDict() to be restored after the sweep (a tg.nn.Module)'],
    [net, 'fast', {}, TypeError, 'findLr: expected options { optimizer, loss }'],
    [net, base, { stepz: 3 }, TypeError, "findLr: unknown option 'stepz' (did you mean 'steps'?); known: optimizer, loss, startLr, endLr, steps, smoothing, divergeFactor, batchSize, shuffle, seed, device"],
    [net, base, { startLr: 'big' }, RangeError, 'findLr: startLr must be a finite number > 0, got big'],
    [net, base, { endLr: Infinity }, RangeError, 'findLr: endLr must be a finite number > 0, got Infinity'],
    [net, base, { startLr: 1, endLr: 1 }, RangeError, 'findLr: endLr (1) must be greater than startLr (1)'],
    [net, base, { steps: 1 }, RangeError, 'findLr: steps must be an integer >= 2, got 1'],
    [net, base, { smoothing: -0.1 }, RangeError, 'findLr: smoothing must be a number in [0, 1), got -0.1'],
    [net, base, { smoothing: '0.5' }, RangeError, 'findLr: smoothing must be a number in [0, 1), got 0.5'],
    [net, base, { divergeFactor: 1 }, RangeError, 'findLr: divergeFactor must be a number > 1 (Infinity never stops), got 1'],
    [net, base, { divergeFactor: '4' }, RangeError, 'findLr: divergeFactor must be a number > 1 (Infinity never stops), got 4'],
    [net, base, { batchSize: 1.5 }, RangeError, 'findLr: batchSize must be an integer >= 1, got 1.5'],
    [net, base, { batchSize: 0 }, RangeError, 'findLr: batchSize must be an integer >= 1, got 0'],
    [net, base, { steps: 2.5 }, RangeError, 'findLr: steps must be an integer >= 2, got 2.5'],
    [net, base, { optimizer: undefined }, TypeError, 'findLr: options.optimizer must be a tg.optim optimizer (paramGroups with lr, stateDict and loadStateDict to restore it)'], // undefined
    [net, base, { optimizer: { ...fake, zeroGrad: undefined } }, TypeError, 'findLr: options.optimizer must be a tg.optim optimizer (paramGroups with lr, stateDict and loadStateDict to restore it)'], // no zeroGrad
    [net, base, { optimizer: { ...fake, step: 1 } }, TypeError, 'findLr: options.optimizer must be a tg.optim optimizer (paramGroups with lr, stateDict and loadStateDict to restore it)'], // no step
    [net, base, { optimizer: { ...fake, paramGroups: { lr: 1 } } }, TypeError, 'findLr: options.optimizer must be a tg.optim optimizer (paramGroups with lr, stateDict and loadStateDict to restore it)'], // groups not an array
    [net, base, { optimizer: { ...fake, stateDict: undefined } }, TypeError, 'findLr: options.optimizer must be a tg.optim optimizer (paramGroups with lr, stateDict and loadStateDict to restore it)'], // no stateDict
    [net, base, { optimizer: { ...fake, loadStateDict: null } }, TypeError, 'findLr: options.optimizer must be a tg.optim optimizer (paramGroups with lr, stateDict and loadStateDict to restore it)'], // no loadStateDict
  ];
  for (const [model, options, extra, cls, message] of refusals)
    await assert.rejects(tg.train.findLr(model, [x, y], typeof options === 'object' && options !== null ? { ...options, ...extra } : options), { name: cls.name, message }, message);
  const r = await tg.train.findLr(net, [x, y], { ...base, steps: 3, batchSize: 4, seed: 3, device: 'cpu', shuffle: true });
  assert.strictEqual(r.lrs.length, 3, 'seed and device are known options');
  const least = await tg.train.findLr(net, [x, y], { ...base, steps: 2, batchSize: 1 });
  assert.strictEqual(least.lrs.length, 2, 'steps 2 and batchSize 1 are accepted');
  await assert.rejects(tg.train.findLr(net, 'data.csv', base), (e) => e instanceof TypeError && e.message.startsWith('findLr: '));
  await assert.rejects(tg.train.findLr(net, () => [], base), { code: 'ERR_EMPTY_DATA', message: 'findLr: the data gave no batches (epoch 0 of the sweep)' });
  await assert.rejects(tg.train.findLr(net, [x, y], { ...base, loss: 'nope' }), (e) => e instanceof TypeError && e.message.startsWith('findLr: '));
  assert.strictEqual(opt.paramGroups[0].lr, 0.1);
  tg.dispose([x, y]);
});

test("lrSuggestions: the first tenth and last five points left out only when three remain, cut at the first non-finite loss", () => {
  const lrs = Array.from({ length: 20 }, (_, i) => 10 ** (i - 10));
  // falling slowly, steeply from point 7 to 8, slowly again to its lowest at point 12, then rising
  const losses = lrs.map((_, i) => (i < 8 ? 10 - 0.1 * i : i <= 12 ? 5 - 0.1 * (i - 8) : 5 + (i - 12)));
  const s = lrSuggestions(lrs, losses, 20);
  assert.strictEqual(s.minimum, lrs[12] / 10);
  assert.strictEqual(s.steepest, lrs[7]);
  // a fall at the very start is left out with the first tenth of the curve (points 0 and 1 of 20)
  const early = lrSuggestions(lrs, losses.map((l, i) => (i === 0 ? 100 : l)), 20);
  assert.strictEqual(early.steepest, lrs[7]);
  assert.strictEqual(lrSuggestions(lrs, losses.map((l, i) => (i === 0 ? 100 : l)), 5).steepest, lrs[0], 'steps 5: nothing left out at the start');
  const fall = [5, 1, 0.9, 0.8, 0.7, 0.6, 0.5];
  assert.strictEqual(lrSuggestions(lrs.slice(0, 7), fall, 20).steepest, lrs[0], 'seven points: nothing left out (7 - 5 - 2 < 3)');
  assert.strictEqual(lrSuggestions(lrs.slice(0, 10), [5, 1, 0.9, 0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2], 20).steepest, lrs[2], 'ten points: 2..4 kept (10 - 5 - 2 = 3)');
  const cut = lrSuggestions(lrs, losses.map((l, i) => (i === 6 ? NaN : l)), 20);
  assert.strictEqual(cut.minimum, lrs[5] / 10, 'the curve ends before its first NaN');
  assert.deepStrictEqual(lrSuggestions([1e-3], [NaN], 10), { steepest: undefined, minimum: undefined, valley: undefined });
  assert.deepStrictEqual(lrSuggestions([1e-3], [1], 10), { steepest: undefined, minimum: 1e-4, valley: 1e-3 });
  // two points have one slope; ties go to the first point, as torch's argmin; slopes are per log(lr), not per step
  assert.strictEqual(lrSuggestions([1e-3, 1e-2], [2, 1], 10).steepest, 1e-3);
  assert.strictEqual(lrSuggestions([1e-3, 1e-2, 1e-1, 1], [3, 1, 2, 1], 4).minimum, 1e-2 / 10);
  assert.strictEqual(lrSuggestions([1e-3, 1e-2, 2e-2], [3, 2, 1.5], 3).steepest, 1e-2, 'a fall of 0.5 over log(2) is steeper than 1 over log(10)');
  // valley: fastai's longest strictly decreasing subsequence, its start + a third + a sixth of its span
  const five = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1];
  assert.strictEqual(lrSuggestions(five.slice(0, 2), [2, 1], 2).valley, 1e-4, 'a start before the first point: Python\'s lrs[-1], the last');
  assert.strictEqual(lrSuggestions(five.slice(0, 4), [3, 2, 2, 1], 4).valley, 1e-4, 'a plateau does not extend the descent');
  assert.strictEqual(lrSuggestions([...five, 1], [5, 4, 3, 9, 2, 1], 6).valley, 1e-4, 'the longest descent 5, 4, 3, 2, 1, not one through the 9');
});

test('a sweep leaves no tensor behind: the weight and optimizer snapshots and every batch are freed', async () => {
  const [x, y] = problem(16);
  const net = mlp();
  const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
  await tg.fit(net, [x, y], { optimizer: opt, loss: 'crossEntropy', batchSize: 8, verbose: 0, engine: 'js' }); // Adam state to snapshot
  const loader = new tg.data.DataLoader(new tg.data.TensorDataset(x, y), { batchSize: 4 });
  await settleTensors();
  const before = tg.memory().tensors;
  await tg.train.findLr(net, loader, { optimizer: opt, loss: 'crossEntropy', steps: 6, endLr: 1 });
  assert.strictEqual(tg.memory().tensors, before, 'counted before any collection');
  tg.dispose([x, y]);
});

test('a dataset is shuffled unless shuffle is false, from the seed', async () => {
  const n = 16;
  const ds = new tg.data.TensorDataset(tg.tensor(Array.from({ length: n }, (_, i) => [i, i, i]), { dtype: 'float32' }), tg.zeros([n], { dtype: 'int64' }));
  const firstRows = async (extra) => {
    const seen = [];
    const net = mlp();
    const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
    const loss = (out, y) => tg.nn.functional.crossEntropy(out, y);
    const spy = { ...net, forward: (x) => (seen.push(...Array.from(x.dataSync()).filter((_, i) => i % 3 === 0)), net.forward(x)),
      train: (m) => net.train(m), eval: () => net.eval(), stateDict: () => net.stateDict(), loadStateDict: (sd) => net.loadStateDict(sd) };
    Object.defineProperty(spy, 'training', { get: () => net.training });
    await tg.train.findLr(spy, ds, { optimizer: opt, loss, steps: 4, batchSize: 4, ...extra });
    return seen;
  };
  const inOrder = Array.from({ length: n }, (_, i) => i);
  assert.deepStrictEqual(await firstRows({ shuffle: false }), inOrder);
  const shuffled = await firstRows({ seed: 5 });
  assert.notDeepStrictEqual(shuffled, inOrder, 'shuffled by default');
  assert.deepStrictEqual([...shuffled].sort((a, b) => a - b), inOrder, 'each row once');
  assert.deepStrictEqual(await firstRows({ seed: 5 }), shuffled, 'the same order from the same seed');
});

test('a setInterval keeps firing during a sweep', async () => {
  const [x, y] = problem(64);
  const net = mlp();
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.01 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const t0 = performance.now();
  await tg.train.findLr(net, () => [[x, y]], { optimizer: opt, loss: 'crossEntropy', steps: 400, divergeFactor: Infinity, endLr: 1e-3 });
  const ms = performance.now() - t0;
  clearInterval(timer);
  assert.ok(ms < 40 || ticks >= 2, `${ticks} ticks of a 5 ms interval in a ${ms.toFixed(0)} ms sweep`);
  tg.dispose([x, y]);
});
