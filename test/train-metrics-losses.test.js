'use strict';
// fit's metrics, losses, callbacks check and History tables (lib/train/metrics.ts, losses.ts, callbacks.ts,
// history.ts), on values small enough to work out by hand: each expected number below is computed from the metric's
// definition, not from torchgraft's output (mutation testing found these paths unchecked).
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { resolveMetrics, Accumulator, mae, mse } = require('../dist/train/metrics');
const { resolveLoss } = require('../dist/train/losses');
const { checkCallbacks } = require('../dist/train/callbacks');

const close = (a, b, what) => assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} vs ${b}`);
const refuses = (fn, Type, re) => assert.throws(fn, (e) => e instanceof Type && re.test(e.message), `${Type.name} matching ${re}`);
const f32 = (v, shape) => tg.tensor(Float32Array.from(v.flat())).reshape(shape ?? [v.length, ...(Array.isArray(v[0]) ? [v[0].length] : [])]);
const labels = (v, shape) => tg.tensor(Int32Array.from(v), { dtype: 'int64' }).reshape(shape ?? [v.length]);

test('accuracy: argmax against class indices (1-D or [N, 1] targets); one output column is a logit against 0/1', () => {
  const logits = f32([[2, 1], [0, 3], [1, 0]]);
  close(tg.train.accuracy(logits, labels([0, 1, 1])).item(), 2 / 3, 'multi-class');
  close(tg.train.accuracy(logits, labels([0, 1, 1], [3, 1])).item(), 2 / 3, '[N, 1] targets');
  // logit > 0 predicts 1: [1, 0, 1] against [1, 0, 0]
  close(tg.train.accuracy(f32([[0.5], [-1], [2]]), f32([1, 0, 0])).item(), 2 / 3, 'one column');
  close(tg.train.accuracy(f32([0.5, -1, 2]), labels([1, 0, 0])).item(), 2 / 3, 'no column');
});

test('topK: the class among the k highest; k checked; C = k allowed', () => {
  const logits = f32([[1, 2, 3], [3, 2, 1]]);
  // row 0's two highest are classes 2, 1 (not 0); row 1's are 0, 1
  close(tg.train.topK(2)(logits, labels([0, 0])).item(), 0.5, 'top2');
  close(tg.train.topK(3)(logits, labels([0, 0])).item(), 1, 'top3 of 3 classes');
  for (const k of [0, 1.5, -1]) refuses(() => tg.train.topK(k), RangeError, new RegExp(`^topK: k must be a positive integer, got ${k}$`));
  refuses(() => tg.train.topK(4)(logits, labels([0, 0])), RangeError, /^top4: needs outputs of shape \[N, C\] with C >= 4, got \[2,3\]$/);
  refuses(() => tg.train.topK(1)(f32([1, 2]), labels([0, 0])), RangeError, /^top1: needs outputs of shape \[N, C\] with C >= 1, got \[2\]$/);
});

test('resolveMetrics: names, aliases, topK of any width, functions and { name, fn }; reserved and repeated names refused', () => {
  const names = (s) => resolveMetrics(s, 'fit').map((m) => m.name);
  assert.deepStrictEqual(names(['acc', 'mae', 'mse', 'top12']), ['accuracy', 'mae', 'mse', 'top12']);
  assert.deepStrictEqual(names('mse'), ['mse']);
  assert.deepStrictEqual(names(undefined), []);
  const [m1, m2] = resolveMetrics(['mae', 'mse'], 'fit');
  assert.strictEqual(m1.fn, mae);
  assert.strictEqual(m2.fn, mse);
  // o - t = [-1, -2]: mean |.| = 1.5, mean square = 2.5
  close(mae(f32([1, 2]), labels([2, 4])).item(), 1.5, 'mae');
  close(mse(f32([1, 2]), labels([2, 4])).item(), 2.5, 'mse');
  function myMetric() { return 0; }
  assert.deepStrictEqual(names([myMetric, { name: 'other', fn: () => 1 }]), ['myMetric', 'other']);
  for (const bad of ['top5x', 'xtop5', 'top', 'accuracy2']) refuses(() => resolveMetrics([bad], 'fit'), TypeError, new RegExp(`^fit: unknown metric '${bad}'; known: accuracy, topK \\(e.g. top5\\), mae, mse`));
  refuses(() => resolveMetrics([() => 1], 'fit'), TypeError, /^fit: an anonymous metric function needs a name: pass \{ name, fn \}$/);
  for (const bad of [null, 3, { name: 5, fn: () => 1 }, { name: 'x', fn: 3 }, { fn: () => 1 }]) refuses(() => resolveMetrics([bad], 'evaluate'), TypeError, /^evaluate: a metric must be a name, a named function, or \{ name, fn \}$/);
  for (const reserved of ['loss', 'epoch', 'time']) refuses(() => resolveMetrics([{ name: reserved, fn: () => 1 }], 'fit'), TypeError, new RegExp(`^fit: metric name '${reserved}' is used twice or is reserved \\(loss, epoch, time\\)$`));
  refuses(() => resolveMetrics(['accuracy', 'acc'], 'fit'), TypeError, /^fit: metric name 'accuracy' is used twice/);
});

test('Accumulator: weighted means of numbers and tensors; a copy of a float64 value; [1]-shaped values; bad values refused', () => {
  const acc = new Accumulator();
  acc.add('n', 2, 3);
  acc.add('n', 4, 1);
  const v = tg.tensor(Float64Array.from([3]), { dtype: 'float64' }).reshape([]);
  acc.add('t', v, 3);
  acc.add('t', tg.tensor(Float32Array.from([7])), 1); // shape [1]
  acc.count(4);
  assert.deepStrictEqual(acc.means(), { n: 2.5, t: 4 }); // (2*3 + 4*1) / 4, (3*3 + 7*1) / 4
  assert.strictEqual(v.item(), 3, 'the value added is not the running sum');
  refuses(() => acc.add('bad', tg.zeros([2]), 1), TypeError, /^metric 'bad' must return a number or a one-element tensor \(the batch mean\), got shape \[2\]$/);
  refuses(() => acc.add('bad', 'x', 1), TypeError, /^metric 'bad' must return a number or a one-element tensor \(the batch mean\)$/);
  acc.dispose();
});

test('losses by name compute their definitions; elementwise ones take [N] targets for [N, 1] outputs and integer labels', () => {
  const o = f32([[0.5], [2]]);
  const t = labels([1, 0]); // [N] integer targets: reshaped to [N, 1] and cast
  // |0.5-1| = 0.5, |2-0| = 2: l1 1.25; mse (0.25 + 4) / 2 = 2.125; smoothL1 (0.5*0.25 + (2 - 0.5)) / 2 = 0.8125
  close(resolveLoss('l1', 'fit')(o, t).item(), 1.25, 'l1');
  close(resolveLoss('mse', 'fit')(o, t).item(), 2.125, 'mse');
  close(resolveLoss('smoothL1', 'fit')(o, t).item(), 0.8125, 'smoothL1');
  const p = f32([[0.8], [0.25]]);
  close(resolveLoss('bce', 'fit')(p, t).item(), -(Math.log(0.8) + Math.log(0.75)) / 2, 'bce');
  const logp = f32([[Math.log(0.2), Math.log(0.8)], [Math.log(0.6), Math.log(0.4)]]);
  close(resolveLoss('nll', 'fit')(logp, labels([1, 0])).item(), -(Math.log(0.8) + Math.log(0.6)) / 2, 'nll');
  // the caller's target is left alone; the converted copies are freed
  const before = tg.memory().tensors;
  resolveLoss('mse', 'fit')(o, t).dispose();
  assert.strictEqual(tg.memory().tensors, before, 'no converted target left behind');
  assert.deepStrictEqual(t.shape, [2]);
  assert.strictEqual(t.dtype, 'int64');
  const same = f32([[1], [0]]);
  resolveLoss('mse', 'fit')(o, same).dispose();
  assert.ok(!same.isDisposed, "a target used as it is is not disposed");
});

test('losses: functions and modules are checked to return tensors; unknown names and other values refused', () => {
  const o = f32([1, 2]);
  const t = f32([1, 4]);
  close(resolveLoss((a, b) => a.sub(b).square().sum(), 'fit')(o, t).item(), 4, 'a function');
  close(resolveLoss({ forward: (a, b) => a.sub(b).abs().sum() }, 'fit')(o, t).item(), 2, 'a module');
  refuses(() => resolveLoss(() => 3, 'fit')(o, t), TypeError, /^fit: the loss function must return a Tensor, got number$/);
  refuses(() => resolveLoss({ forward: () => null }, 'fit')(o, t), TypeError, /^fit: the loss function must return a Tensor, got null$/);
  refuses(() => resolveLoss('hinge', 'fit'), TypeError, /^fit: unknown loss 'hinge'; known: crossEntropy, nll, mse, l1, smoothL1, bceWithLogits, bce, or pass a function \(output, target\) => loss$/);
  for (const bad of [null, 3, {}, { forward: 1 }]) refuses(() => resolveLoss(bad, 'evaluate'), TypeError, /^evaluate: loss must be a name \(crossEntropy, nll, mse, l1, smoothL1, bceWithLogits, bce\), a function \(output, target\) => loss, or a loss module$/);
});

test('checkCallbacks: an array of objects, each checked by position', () => {
  assert.deepStrictEqual(checkCallbacks(undefined, 'fit'), []);
  const cbs = [{ onEpochEnd() {} }];
  assert.strictEqual(checkCallbacks(cbs, 'fit'), cbs);
  refuses(() => checkCallbacks({}, 'fit'), TypeError, /^fit: callbacks must be an array of objects with hooks such as onEpochEnd$/);
  for (const bad of [null, 3, 'x']) refuses(() => checkCallbacks([{}, bad], 'fit'), TypeError, /^fit: callbacks\[1\] must be an object with hooks such as onEpochEnd$/);
});

test('History: keys ordered epoch, logs, val_ keys, time (first-seen order within each); CSV with empty cells', () => {
  const h = new tg.History();
  h.epochs.push({ epoch: 0, time: 1.5, val_loss: 0.4, loss: 0.5, acc: 0.9 });
  h.epochs.push({ epoch: 1, time: 1.25, val_loss: null, loss: 0.25, lr: 0.01, val_acc: 1 });
  assert.deepStrictEqual(h.keys(), ['epoch', 'loss', 'acc', 'lr', 'val_loss', 'val_acc', 'time']);
  assert.strictEqual(h.toCSV(), 'epoch,loss,acc,lr,val_loss,val_acc,time\n0,0.5,0.9,,0.4,,1.5\n1,0.25,,0.01,,1,1.25\n');
});
