'use strict';
// A parameter without a gradient never moves: not by weight decay, not by momentum or Adam state from earlier steps.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { problem, params, loss } = require('./helpers/optim-net');
const { CUDA_SKIP } = require('./helpers/cuda');

// Every optimizer with the options that would move a parameter without a gradient if it were not skipped.
const KINDS = {
  SGD: { lr: 0.05, momentum: 0.9, weightDecay: 0.1 },
  SGD_nesterov: { cls: 'SGD', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.1 },
  Adagrad: { lr: 0.05, weightDecay: 0.1, initialAccumulatorValue: 0.1 },
  RMSprop: { lr: 0.01, momentum: 0.9, centered: true, weightDecay: 0.1 },
  Adam: { lr: 0.01, weightDecay: 0.1, amsgrad: true },
  AdamW: { lr: 0.01, weightDecay: 0.1 },
};
const make = (name, P) => {
  const { cls = name, ...o } = KINDS[name];
  return new tg.optim[cls](Object.entries(P), o);
};
const snapshot = (P) => Object.fromEntries(Object.entries(P).map(([k, t]) => [k, t.detach().clone()]));
function stepOnce(opt, P, p) {
  opt.zeroGrad();
  tg.tidy(() => loss(P, p.X, p.Y).backward());
  opt.step();
}

test('zeroGrad() sets every gradient to undefined, not to zeros', () => {
  const p = problem();
  for (const name of Object.keys(KINDS)) {
    const P = params(p);
    const opt = make(name, P);
    loss(P, p.X, p.Y).backward();
    for (const t of Object.values(P)) assert.ok(t.grad !== undefined);
    opt.zeroGrad();
    for (const [k, t] of Object.entries(P)) assert.strictEqual(t.grad, undefined, `${name}: ${k}.grad`);
  }
});

for (const device of ['cpu', 'cuda']) {
  for (const name of Object.keys(KINDS)) {
    const skip = device === 'cuda' && CUDA_SKIP;
    test(`${name} (${device}): a parameter that does not require grad stays bitwise unchanged, even with state from earlier steps`, { skip }, () => {
      const p = problem();
      const X = p.X.to(device);
      const Y = p.Y.to(device);
      const P = params(p, device);
      const opt = make(name, P);
      // Train a few steps: w1 gets momentum / Adam / Adagrad state.
      for (let i = 0; i < 3; i++) stepOnce(opt, P, { X, Y });
      const stateBefore = opt.stateDict().state.w1;
      assert.ok(stateBefore, 'w1 has state before it is frozen');
      // Freeze w1 as model.freeze() does.
      P.w1.requiresGrad = false;
      const before = snapshot(P);
      for (let i = 0; i < 4; i++) stepOnce(opt, P, { X, Y });
      assert.strictEqual(P.w1.grad, undefined);
      assert.ok(P.w1.equal(before.w1), 'frozen w1 moved');
      assert.ok(!P.w2.equal(before.w2), 'trainable w2 did not move');
      const stateAfter = opt.stateDict().state.w1;
      for (const [k, v] of Object.entries(stateBefore)) {
        if (typeof v === 'number') assert.strictEqual(stateAfter[k], v, `state ${k} of frozen w1 changed`);
        else assert.ok(stateAfter[k].equal(v), `state ${k} of frozen w1 changed`);
      }
      // Unfrozen, it trains again.
      P.w1.requiresGrad = true;
      stepOnce(opt, P, { X, Y });
      assert.ok(!P.w1.equal(before.w1), 'unfrozen w1 trains again');
    });
  }
}

for (const name of Object.keys(KINDS)) {
  test(`${name}: a parameter the loss does not use (grad undefined) is not moved by weight decay or momentum`, () => {
    const p = problem();
    const P = params(p);
    const unused = tg.tensor([1.5, -2.5, 3], { requiresGrad: true });
    const opt = make(name, { ...P, unused });
    // One step with a gradient on it builds state, then it drops out of the loss.
    opt.zeroGrad();
    tg.tidy(() => loss(P, p.X, p.Y).add(unused.pow(2).sum()).backward());
    opt.step();
    const before = unused.detach().clone();
    for (let i = 0; i < 4; i++) stepOnce(opt, P, p);
    assert.strictEqual(unused.grad, undefined);
    assert.ok(unused.equal(before), 'an unused parameter moved');
  });
}

test('a stale gradient on a parameter frozen after backward() does not move it', () => {
  const p = problem();
  for (const name of Object.keys(KINDS)) {
    const P = params(p);
    const opt = make(name, P);
    stepOnce(opt, P, p);
    opt.zeroGrad();
    tg.tidy(() => loss(P, p.X, p.Y).backward());
    P.w1.requiresGrad = false; // frozen between backward() and step(): its grad is still there
    const before = P.w1.detach().clone();
    opt.step();
    assert.ok(P.w1.equal(before), `${name}: w1 moved by a stale gradient`);
    assert.ok(P.w1.grad !== undefined, `${name}: the stale gradient is left as it was`);
  }
});
