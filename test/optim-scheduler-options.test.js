'use strict';
// Scheduler options at their boundaries: each check accepts its edge and refuses just past it with a message naming the
// option, and each default is the one documented (observed through the learning rates it gives).
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

const sgd = (lr = 0.1, groups = 1) => new tg.optim.SGD(Array.from({ length: groups }, () => ({ params: [tg.zeros([1], { requiresGrad: true })] })), { lr, momentum: 0.9 });
const lr = (o) => o.paramGroups[0].lr;
const refused = (make, re) => assert.throws(make, (e) => (e instanceof RangeError || e instanceof TypeError) && re.test(e.message), String(re));

test('StepLR: stepSize a positive integer, gamma finite, default gamma 0.1', () => {
  refused(() => new tg.optim.StepLR(sgd(), { stepSize: 0 }), /^StepLR: stepSize: expected a positive integer, got 0$/);
  refused(() => new tg.optim.StepLR(sgd(), { stepSize: 1.5 }), /stepSize: expected a positive integer, got 1.5/);
  refused(() => new tg.optim.StepLR(sgd(), { stepSize: NaN }), /stepSize: expected a positive integer, got NaN/);
  refused(() => new tg.optim.StepLR(sgd(), { stepSize: 2, gamma: Infinity }), /^StepLR: gamma: expected a finite number, got Infinity$/);
  refused(() => new tg.optim.StepLR(sgd(), { stepSize: 2, gamma: '0.5' }), /gamma: expected a finite number, got 0.5/);
  const o = sgd(1);
  const s = new tg.optim.StepLR(o, { stepSize: 1 });
  assert.strictEqual(lr(o), 1, 'epoch 0 keeps the initial lr');
  s.step();
  assert.ok(Math.abs(lr(o) - 0.1) < 1e-15, `default gamma 0.1: ${lr(o)}`);
  const o2 = sgd(1);
  const s2 = new tg.optim.StepLR(o2, { stepSize: 2, gamma: 0.5 });
  s2.step();
  assert.strictEqual(lr(o2), 1, 'no decay before stepSize epochs');
  s2.step();
  assert.strictEqual(lr(o2), 0.5);
});

test('ExponentialLR: gamma required and finite', () => {
  refused(() => new tg.optim.ExponentialLR(sgd(), {}), /^ExponentialLR: gamma: expected a finite number, got undefined$/);
  refused(() => new tg.optim.ExponentialLR(sgd(), { gamma: -Infinity }), /gamma: expected a finite number/);
  const o = sgd(1);
  const s = new tg.optim.ExponentialLR(o, { gamma: 0.5 });
  assert.strictEqual(lr(o), 1);
  s.step();
  s.step();
  assert.strictEqual(lr(o), 0.25);
});

test('CosineAnnealingLR: tMax a positive integer, etaMin >= 0 and finite, default etaMin 0', () => {
  refused(() => new tg.optim.CosineAnnealingLR(sgd(), { tMax: 0 }), /^CosineAnnealingLR: tMax: expected a positive integer, got 0$/);
  refused(() => new tg.optim.CosineAnnealingLR(sgd(), { tMax: 2.5 }), /tMax: expected a positive integer/);
  refused(() => new tg.optim.CosineAnnealingLR(sgd(), { tMax: 2, etaMin: -1e-9 }), /^CosineAnnealingLR: etaMin: expected a number >= 0, got -1e-9$/);
  refused(() => new tg.optim.CosineAnnealingLR(sgd(), { tMax: 2, etaMin: Infinity }), /etaMin: expected a number >= 0/);
  const o = sgd(1);
  const s = new tg.optim.CosineAnnealingLR(o, { tMax: 2 });
  s.step();
  s.step();
  assert.ok(Math.abs(lr(o)) < 1e-15, `at tMax the lr reaches the default etaMin 0: ${lr(o)}`);
});

test('schedulers need a tg.optim optimizer, and resuming (lastEpoch >= 0) needs each group initialLr', () => {
  refused(() => new tg.optim.ExponentialLR({ paramGroups: [] }, { gamma: 0.5 }), /^ExponentialLR: expected a tg.optim optimizer$/);
  refused(() => new tg.optim.ReduceLROnPlateau(null), /^ReduceLROnPlateau: expected a tg.optim optimizer$/);
  refused(() => new tg.optim.StepLR(sgd(), { stepSize: 2, lastEpoch: 3 }), /^StepLR: paramGroups\[0\] has no initialLr, needed to resume at lastEpoch 3$/);
  const o = sgd(0.8);
  o.paramGroups[0].initialLr = 1;
  const s = new tg.optim.StepLR(o, { stepSize: 2, gamma: 0.5, lastEpoch: 3 });
  assert.deepStrictEqual(s.baseLrs, [1]);
  assert.strictEqual(s.lastEpoch, 4, 'resumed, then the construction step');
  assert.strictEqual(lr(o), 0.4, 'epoch 4 decays (4 % 2 === 0) from the current lr');
});

test('ReduceLROnPlateau: each option at its edge, and the defaults (min, factor 0.1, patience 10, rel 1e-4, no cooldown, minLr 0)', () => {
  refused(() => new tg.optim.ReduceLROnPlateau(sgd(), { factor: 1 }), /^ReduceLROnPlateau: factor: expected a factor < 1, got 1$/);
  new tg.optim.ReduceLROnPlateau(sgd(), { factor: 0.999 });
  refused(() => new tg.optim.ReduceLROnPlateau(sgd(), { mode: 'mid' }), /^ReduceLROnPlateau: mode must be 'min' or 'max', got mid$/);
  refused(() => new tg.optim.ReduceLROnPlateau(sgd(), { thresholdMode: 'pct' }), /^ReduceLROnPlateau: thresholdMode must be 'rel' or 'abs', got pct$/);
  refused(() => new tg.optim.ReduceLROnPlateau(sgd(), { patience: -1 }), /^ReduceLROnPlateau: patience: expected a number >= 0, got -1$/);
  new tg.optim.ReduceLROnPlateau(sgd(), { patience: 0, cooldown: 0, eps: 0, minLr: 0 });
  refused(() => new tg.optim.ReduceLROnPlateau(sgd(), { threshold: NaN }), /^ReduceLROnPlateau: threshold: expected a finite number, got NaN$/);
  refused(() => new tg.optim.ReduceLROnPlateau(sgd(), { cooldown: -1 }), /^ReduceLROnPlateau: cooldown: expected a number >= 0, got -1$/);
  refused(() => new tg.optim.ReduceLROnPlateau(sgd(), { eps: -1e-9 }), /^ReduceLROnPlateau: eps: expected a number >= 0, got -1e-9$/);
  refused(() => new tg.optim.ReduceLROnPlateau(sgd(0.1, 2), { minLr: [0] }), /^ReduceLROnPlateau: expected 2 minLr values, got 1$/);
  refused(() => new tg.optim.ReduceLROnPlateau(sgd(0.1, 2), { minLr: [0, -1] }), /^ReduceLROnPlateau: minLr\[1\]: expected a number >= 0, got -1$/);

  // the defaults: a loss that never improves on its first value reduces the lr 10x after 11 bad epochs
  const o = sgd(1);
  const p = new tg.optim.ReduceLROnPlateau(o);
  assert.strictEqual(p.mode, 'min');
  p.step(1);
  for (let i = 0; i < 10; i++) p.step(1);
  assert.strictEqual(lr(o), 1, '10 bad epochs are tolerated');
  p.step(0.99995); // better by less than the relative threshold 1e-4: still bad
  assert.ok(Math.abs(lr(o) - 0.1) < 1e-15, `reduced by the default factor: ${lr(o)}`);
  p.step(0.5);
  assert.strictEqual(p.best, 0.5);
  assert.strictEqual(p.numBadEpochs, 0);
  assert.deepStrictEqual(p.getLastLr(), [lr(o)]);
  refused(() => p.step('low'), /^ReduceLROnPlateau.step: expected a number or a one-element Tensor$/);
  p.step(tg.tensor([0.25]));
  assert.strictEqual(p.best, 0.25, 'a one-element tensor is read');
});

test('ReduceLROnPlateau: improvement is judged by mode and threshold mode at the threshold edge; minLr and eps bound the reduction', () => {
  const judge = (o) => new tg.optim.ReduceLROnPlateau(sgd(), { threshold: 0.1, ...o });
  assert.strictEqual(judge({}).isBetter(0.89, 1), true);
  assert.strictEqual(judge({}).isBetter(0.9, 1), false, 'min rel: must beat best * (1 - threshold)');
  assert.strictEqual(judge({ thresholdMode: 'abs' }).isBetter(0.89, 1), true);
  assert.strictEqual(judge({ thresholdMode: 'abs' }).isBetter(0.9, 1), false, 'min abs: must beat best - threshold');
  assert.strictEqual(judge({ mode: 'max' }).isBetter(1.11, 1), true);
  assert.strictEqual(judge({ mode: 'max' }).isBetter(1.1, 1), false, 'max rel: must beat best * (1 + threshold)');
  assert.strictEqual(judge({ mode: 'max', thresholdMode: 'abs' }).isBetter(1.11, 1), true);
  assert.strictEqual(judge({ mode: 'max', thresholdMode: 'abs' }).isBetter(1.1, 1), false, 'max abs: must beat best + threshold');
  assert.strictEqual(new tg.optim.ReduceLROnPlateau(sgd(), { mode: 'max' }).best, -Infinity);

  const o = sgd(1);
  const p = new tg.optim.ReduceLROnPlateau(o, { patience: 0, factor: 0.5, minLr: 0.3, cooldown: 1 });
  p.step(1); // best
  p.step(1); // bad: reduce to 0.5, cooldown 1
  assert.strictEqual(lr(o), 0.5);
  p.step(1); // in cooldown: not counted
  assert.strictEqual(lr(o), 0.5);
  p.step(1); // bad: reduce to max(0.25, minLr 0.3)
  assert.strictEqual(lr(o), 0.3);
  const q = sgd(1);
  const e = new tg.optim.ReduceLROnPlateau(q, { patience: 0, factor: 0.99, eps: 0.02 });
  e.step(1);
  e.step(1);
  assert.strictEqual(lr(q), 1, 'a reduction smaller than eps is skipped');
});

test('OneCycleLR: each option at its edge', () => {
  const base = { maxLr: 0.1, totalSteps: 10 };
  refused(() => new tg.optim.OneCycleLR(sgd(), { ...base, divFactor: 0 }), /^OneCycleLR: divFactor: expected a number > 0, got 0$/);
  refused(() => new tg.optim.OneCycleLR(sgd(), { ...base, finalDivFactor: 0 }), /^OneCycleLR: finalDivFactor: expected a number > 0, got 0$/);
  refused(() => new tg.optim.OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 0 }), /^OneCycleLR: totalSteps: expected a positive integer, got 0$/);
  refused(() => new tg.optim.OneCycleLR(sgd(), { maxLr: 0.1, epochs: 0, stepsPerEpoch: 2 }), /^OneCycleLR: epochs: expected a positive integer, got 0$/);
  refused(() => new tg.optim.OneCycleLR(sgd(), { maxLr: 0.1, epochs: 2, stepsPerEpoch: 1.5 }), /^OneCycleLR: stepsPerEpoch: expected a positive integer, got 1.5$/);
  refused(() => new tg.optim.OneCycleLR(sgd(), { maxLr: 0.1, epochs: 2 }), /give totalSteps, or epochs and stepsPerEpoch/);
  refused(() => new tg.optim.OneCycleLR(sgd(), { ...base, pctStart: -0.01 }), /^OneCycleLR: pctStart: expected a number in \[0, 1\], got -0.01$/);
  refused(() => new tg.optim.OneCycleLR(sgd(), { ...base, pctStart: 1.01 }), /pctStart: expected a number in \[0, 1\]/);
  new tg.optim.OneCycleLR(sgd(), { ...base, pctStart: 1 });
  refused(() => new tg.optim.OneCycleLR(sgd(), { ...base, annealStrategy: 'exp' }), /^OneCycleLR: annealStrategy must be 'cos' or 'linear', got exp$/);
  refused(() => new tg.optim.OneCycleLR(sgd(), { ...base, maxLr: NaN }), /^OneCycleLR: maxLr: expected a finite number, got NaN$/);
  refused(() => new tg.optim.OneCycleLR(sgd(0.1, 2), { ...base, maxLr: [0.1, Infinity] }), /^OneCycleLR: maxLr\[1\]: expected a finite number, got Infinity$/);
  refused(() => new tg.optim.OneCycleLR(sgd(), { ...base, maxMomentum: [0.9, 0.9] }), /^OneCycleLR: expected 1 values for maxMomentum, got 2$/);
  refused(() => new tg.optim.OneCycleLR(null, base), /^OneCycleLR: expected a tg.optim optimizer$/);

  // epochs x stepsPerEpoch is the total; defaults: divFactor 25, finalDivFactor 1e4, momentum 0.95 -> 0.85
  const o = sgd();
  const s = new tg.optim.OneCycleLR(o, { maxLr: 1, epochs: 2, stepsPerEpoch: 5 });
  assert.strictEqual(s.totalSteps, 10);
  assert.ok(Math.abs(lr(o) - 1 / 25) < 1e-15, `starts at maxLr / divFactor: ${lr(o)}`);
  assert.strictEqual(o.paramGroups[0].momentum, 0.95);
  assert.deepStrictEqual(s.minLrs, [1 / 25 / 1e4]);
  assert.strictEqual(s.useBeta1, false);
  const adam = new tg.optim.Adam([tg.zeros([1], { requiresGrad: true })]);
  const sa = new tg.optim.OneCycleLR(adam, { maxLr: 1, totalSteps: 10 });
  assert.strictEqual(sa.useBeta1, true);
  assert.strictEqual(adam.paramGroups[0].betas[0], 0.95, "Adam's beta1 cycles");
  const ada = new tg.optim.Adagrad([tg.zeros([1], { requiresGrad: true })]);
  new tg.optim.OneCycleLR(ada, { maxLr: 1, totalSteps: 10, cycleMomentum: false });
});

test('edges the golden sequences do not reach: a reduction of exactly eps, best far from 1, a resumed cosine, momentum left alone', () => {
  // a reduction equal to eps is skipped (it must exceed eps)
  const o = sgd(1);
  const p = new tg.optim.ReduceLROnPlateau(o, { patience: 0, factor: 0.5, eps: 0.5 });
  p.step(1);
  p.step(1);
  assert.strictEqual(lr(o), 1);
  // rel and abs thresholds differ once best is not 1
  const judge = (opts) => new tg.optim.ReduceLROnPlateau(sgd(), { threshold: 0.1, ...opts });
  assert.strictEqual(judge({}).isBetter(9.5, 10), false, 'min rel: 9.5 is not below 10 x 0.9');
  assert.strictEqual(judge({ thresholdMode: 'abs' }).isBetter(9.5, 10), true, 'min abs: 9.5 is below 10 - 0.1');
  assert.strictEqual(judge({ mode: 'max' }).isBetter(10.5, 10), false, 'max rel: 10.5 is not above 10 x 1.1');
  assert.strictEqual(judge({ mode: 'max', thresholdMode: 'abs' }).isBetter(10.5, 10), true, 'max abs: 10.5 is above 10 + 0.1');
  // a cosine resumed at lastEpoch 3 starts from the closed form at epoch 4: lr = initialLr x (1 + cos(pi/2)) / 2
  const c = sgd(0.3);
  c.paramGroups[0].initialLr = 1;
  new tg.optim.CosineAnnealingLR(c, { tMax: 8, lastEpoch: 3 });
  assert.ok(Math.abs(lr(c) - 0.5) < 1e-15, `resumed cosine: ${lr(c)}`);
  // OneCycleLR without cycleMomentum leaves momentum as it was
  const m = sgd(0.1);
  const s = new tg.optim.OneCycleLR(m, { maxLr: 1, totalSteps: 10, cycleMomentum: false });
  s.step();
  s.step();
  assert.strictEqual(m.paramGroups[0].momentum, 0.9);
  // edges accepted: pctStart 0; and the messages name the option
  new tg.optim.OneCycleLR(sgd(), { maxLr: 1, totalSteps: 10, pctStart: 0 });
  refused(() => new tg.optim.OneCycleLR(sgd(), { maxLr: 0.1, stepsPerEpoch: 2 }), /^OneCycleLR: give totalSteps, or epochs and stepsPerEpoch$/);
  refused(() => new tg.optim.OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 5, baseMomentum: [0.8, 0.8] }), /^OneCycleLR: expected 1 values for baseMomentum, got 2$/);
});
