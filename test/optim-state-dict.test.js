'use strict';
// stateDict()/loadStateDict(): keyed by parameter names, validated, and resuming exactly.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { problem, params, train } = require('./helpers/optim-net');

const KINDS = {
  SGD: { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 },
  Adagrad: { lr: 0.05, lrDecay: 0.01, initialAccumulatorValue: 0.1 },
  RMSprop: { lr: 0.01, momentum: 0.9, centered: true },
  Adam: { lr: 0.01, amsgrad: true, weightDecay: 0.01 },
  AdamW: { lr: 0.01 },
};
// Two groups, named by explicit pairs.
const make = (cls, P) =>
  new tg.optim[cls](
    [
      { params: [['hidden.weight', P.w1], ['hidden.bias', P.b1]] },
      { params: [['out.weight', P.w2], ['out.bias', P.b2]], lr: KINDS[cls].lr / 4 },
    ],
    KINDS[cls],
  );

for (const cls of Object.keys(KINDS)) {
  test(`${cls}: a state dict round trip resumes exactly where training was`, () => {
    const p = problem();
    // Reference: 10 uninterrupted steps.
    const ref = params(p);
    train((P) => make(cls, P), ref, p.X, p.Y, 10);
    // Interrupted: 5 steps, save, then a new optimizer over copies of the weights loads and does 5 more.
    const A = params(p);
    const optA = train((P) => make(cls, P), A, p.X, p.Y, 5);
    const sd = optA.stateDict();
    assert.deepStrictEqual(Object.keys(sd.state).sort(), ['hidden.bias', 'hidden.weight', 'out.bias', 'out.weight']);
    assert.strictEqual(sd.paramGroups.length, 2);
    assert.deepStrictEqual(sd.paramGroups[1].params, ['out.weight', 'out.bias']);
    const B = Object.fromEntries(Object.entries(A).map(([k, t]) => [k, t.detach().clone().requiresGrad_(true)]));
    // The new optimizer starts with other options: loading brings the saved ones back.
    const optB = make(cls, B);
    optB.paramGroups[1].lr = 123;
    // Continuing A must not change the saved dict (its tensors are copies).
    train(() => optA, A, p.X, p.Y, 5);
    optB.loadStateDict(sd);
    assert.strictEqual(optB.paramGroups[1].lr, KINDS[cls].lr / 4);
    train(() => optB, B, p.X, p.Y, 5);
    for (const k of Object.keys(ref)) {
      assert.ok(B[k].equal(ref[k]), `${k} after resuming differs from uninterrupted training`);
      assert.ok(A[k].equal(ref[k]), `${k}: taking a state dict changed the course of training`);
    }
  });
}

test('state entries are named as in PyTorch and steps are numbers', () => {
  const p = problem();
  const expected = {
    SGD: ['momentum_buffer'],
    Adagrad: ['step', 'sum'],
    RMSprop: ['step', 'square_avg', 'momentum_buffer', 'grad_avg'],
    Adam: ['step', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'],
    AdamW: ['step', 'exp_avg', 'exp_avg_sq'],
  };
  for (const cls of Object.keys(KINDS)) {
    const P = params(p);
    const sd = train((P) => make(cls, P), P, p.X, p.Y, 3).stateDict();
    assert.deepStrictEqual(Object.keys(sd.state['hidden.weight']).sort(), [...expected[cls]].sort(), cls);
    if (sd.state['hidden.weight'].step !== undefined) assert.strictEqual(sd.state['hidden.weight'].step, 3);
    assert.deepStrictEqual(sd.state['hidden.weight'][expected[cls][expected[cls].length - 1]].shape, [5, 4]);
  }
});

test('loadStateDict rejects a parameter name not in the optimizer, naming it, and changes nothing', () => {
  const p = problem();
  const P = params(p);
  const opt = train((P) => make('Adam', P), P, p.X, p.Y, 2);
  const sd = opt.stateDict();
  const before = opt.stateDict();
  sd.state['hidden2.weight'] = sd.state['hidden.weight'];
  sd.state['out.weight'] = { ...sd.state['out.weight'], step: 99 };
  assert.throws(
    () => opt.loadStateDict(sd),
    (e) => e instanceof tg.TorchError && e.code === 'ERR_OPTIMIZER_STATE' && /parameter 'hidden2.weight' is not in this optimizer/.test(e.message),
  );
  assert.strictEqual(opt.stateDict().state['out.weight'].step, before.state['out.weight'].step, 'nothing loaded on error');
});

test('loadStateDict rejects state of another shape, naming the parameter and the entry', () => {
  const p = problem();
  const P = params(p);
  const opt = train((P) => make('SGD', P), P, p.X, p.Y, 2);
  const sd = opt.stateDict();
  sd.state['hidden.weight'] = { momentum_buffer: tg.zeros([4, 5]) };
  assert.throws(() => opt.loadStateDict(sd), /'hidden.weight': state entry 'momentum_buffer' has shape \[4, 5\], the parameter has shape \[5, 4\]/);
});

test('loadStateDict lists missing and unknown entries, and group mismatches', () => {
  const p = problem();
  const P = params(p);
  const opt = train((P) => make('Adam', P), P, p.X, p.Y, 2);
  const sd = opt.stateDict();
  delete sd.state['hidden.bias'].exp_avg;
  sd.state['out.bias'].momentum_buffer = tg.zeros([3]);
  assert.throws(() => opt.loadStateDict(sd), (e) => /'hidden.bias': state entry 'exp_avg' is missing/.test(e.message) && /'out.bias': unknown state entry 'momentum_buffer'/.test(e.message));
  const sd2 = opt.stateDict();
  sd2.paramGroups.pop();
  assert.throws(() => opt.loadStateDict(sd2), /the state dict has 1 parameter groups, this optimizer has 2/);
  const sd3 = opt.stateDict();
  sd3.paramGroups[0].lr = -1;
  assert.throws(() => opt.loadStateDict(sd3), /paramGroups\[0\].lr: invalid value -1/);
  assert.throws(() => opt.loadStateDict({}), /expected \{ state, paramGroups \}/);
});

for (const cls of ['Adam', 'Adagrad', 'SGD']) {
  test(`${cls}: parameters with no saved state start afresh after loading (as PyTorch replaces the whole state)`, () => {
    const p = problem();
    const P = params(p);
    const opt = train((P) => make(cls, P), P, p.X, p.Y, 2);
    const sd = opt.stateDict();
    delete sd.state['out.bias'];
    opt.loadStateDict(sd);
    assert.strictEqual(opt.stateDict().state['out.bias'], undefined);
    // Stepping again rebuilds it (Adagrad's sums from initialAccumulatorValue; LibTorch alone would crash here).
    train(() => opt, P, p.X, p.Y, 1);
    const s = opt.stateDict().state;
    assert.ok(s['out.bias'], 'state rebuilt at the next step');
    if (s['hidden.weight'].step !== undefined) {
      assert.strictEqual(s['hidden.weight'].step, 3);
      assert.strictEqual(s['out.bias'].step, 1);
    }
  });
}

test('a state dict saved on the CPU loads into an optimizer on CUDA (tensors follow their parameters)', { skip: require('./helpers/cuda').CUDA_SKIP }, () => {
  const p = problem();
  const A = params(p);
  const sd = train((P) => make('Adam', P), A, p.X, p.Y, 3).stateDict();
  const B = params(p, 'cuda');
  const opt = make('Adam', B);
  opt.loadStateDict(sd);
  const s = opt.stateDict().state['hidden.weight'];
  assert.strictEqual(s.exp_avg.device, 'cuda:0');
  assert.ok(s.exp_avg.cpu().equal(sd.state['hidden.weight'].exp_avg));
  train(() => opt, B, p.X.to('cuda'), p.Y.to('cuda'), 2);
});
