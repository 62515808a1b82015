'use strict';
// Scheduler state dicts: every kind resumes its sequence after a JSON round trip (ReduceLROnPlateau's best starts as
// +-Infinity, which JSON writes as null), and a malformed state dict is refused with ERR_SCHEDULER_STATE naming every
// problem, leaving the scheduler as it was.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

const sgd = (groups = 2) => new tg.optim.SGD(Array.from({ length: groups }, (_, i) => ({ params: [tg.zeros([1], { requiresGrad: true })], lr: 0.1 / (i + 1) })), { lr: 0.1, momentum: 0.9 });
const METRICS = [1, 0.9, 0.95, 0.91, 0.92, 0.93, 0.5, 0.6, 0.6, 0.6, 0.6, 0.45, 0.6, 0.6];
const KINDS = {
  StepLR: (o) => new tg.optim.StepLR(o, { stepSize: 3, gamma: 0.5 }),
  ExponentialLR: (o) => new tg.optim.ExponentialLR(o, { gamma: 0.9 }),
  CosineAnnealingLR: (o) => new tg.optim.CosineAnnealingLR(o, { tMax: 4, etaMin: 0.001 }),
  OneCycleLR: (o) => new tg.optim.OneCycleLR(o, { maxLr: [0.5, 0.05], totalSteps: 20, threePhase: true }),
  'ReduceLROnPlateau min': (o) => new tg.optim.ReduceLROnPlateau(o, { factor: 0.5, patience: 1 }),
  'ReduceLROnPlateau max': (o) => new tg.optim.ReduceLROnPlateau(o, { mode: 'max', factor: 0.5, patience: 1 }),
};
const stepOf = (name, s, i) => (name.startsWith('ReduceLROnPlateau') ? s.step(name.endsWith('max') ? -METRICS[i] : METRICS[i]) : s.step());
const lrs = (o) => o.paramGroups.map((g) => g.lr);

for (const [name, make] of Object.entries(KINDS)) {
  for (const at of [0, 5]) {
    test(`${name} saved after ${at} steps, through JSON, continues the same sequence`, () => {
      const ref = sgd();
      const refSched = make(ref);
      const want = [];
      for (let i = 0; i < 14; i++) {
        stepOf(name, refSched, i);
        if (i >= at) want.push(lrs(ref));
      }
      const a = sgd();
      const sa = make(a);
      for (let i = 0; i < at; i++) stepOf(name, sa, i);
      const saved = JSON.parse(JSON.stringify({ opt: a.stateDict(), sched: sa.stateDict() }));
      const b = sgd();
      const sb = make(b);
      b.loadStateDict(saved.opt);
      sb.loadStateDict(saved.sched);
      const got = [];
      for (let i = at; i < 14; i++) {
        stepOf(name, sb, i);
        got.push(lrs(b));
      }
      assert.deepStrictEqual(got, want);
      assert.deepStrictEqual(sb.getLastLr(), want[want.length - 1]);
    });
  }
}

/** Asserts that loading `sd` is refused naming each of `problems`, and that the scheduler's state did not change. */
function refuses(sched, sd, problems) {
  const before = JSON.stringify(sched.stateDict());
  assert.throws(
    () => sched.loadStateDict(sd),
    (e) => {
      assert.strictEqual(e.name, 'TorchError');
      assert.strictEqual(e.code, 'ERR_SCHEDULER_STATE');
      for (const p of problems) assert.match(e.message, p);
      return true;
    },
  );
  assert.strictEqual(JSON.stringify(sched.stateDict()), before, 'nothing changed');
}

test('a malformed LRScheduler state dict is refused, every problem named, nothing changed', () => {
  const s = new tg.optim.StepLR(sgd(), { stepSize: 3, gamma: 0.5 });
  s.step();
  const good = s.stateDict();
  assert.throws(() => s.loadStateDict(null), { name: 'TypeError' });
  assert.throws(() => s.loadStateDict([1, 2]), { name: 'TypeError' });
  refuses(s, { ...good, baseLrs: [0.1] }, [/baseLrs: expected 2 numbers/]);
  refuses(s, { ...good, baseLrs: 'x' }, [/baseLrs: expected 2 numbers/]);
  refuses(s, { ...good, lastLr: [0.1, NaN] }, [/lastLr\[1\]: expected a finite number >= 0, got NaN/]);
  refuses(s, { ...good, lastEpoch: 1.5 }, [/lastEpoch: expected an integer >= -1, got 1.5/]);
  refuses(s, { ...good, lastEpoch: -2 }, [/lastEpoch: expected an integer >= -1/]);
  refuses(s, { ...good, stepCount: -1 }, [/stepCount: expected an integer >= 0/]);
  refuses(s, { ...good, stepSize: 0 }, [/stepSize: expected a positive integer, got 0/]);
  refuses(s, { ...good, gamma: 'half' }, [/gamma: expected a finite number/]);
  refuses(s, { ...good, stepSise: 3 }, [/unknown key 'stepSise' \(did you mean 'stepSize'\?\)/]);
  // several at once, each named
  refuses(s, { ...good, lastEpoch: 'x', gamma: Infinity, baseLrs: [] }, [/lastEpoch/, /gamma/, /baseLrs/]);
  // a partial dict (older saves) still loads what it has
  s.loadStateDict({ gamma: 0.25 });
  assert.strictEqual(s.gamma, 0.25);
});

test('malformed CosineAnnealingLR, ExponentialLR and OneCycleLR state dicts are refused', () => {
  const c = new tg.optim.CosineAnnealingLR(sgd(), { tMax: 4 });
  refuses(c, { ...c.stateDict(), tMax: -1 }, [/tMax: expected a positive integer/]);
  refuses(c, { ...c.stateDict(), etaMin: -0.1 }, [/etaMin: expected a number >= 0/]);
  const e = new tg.optim.ExponentialLR(sgd(), { gamma: 0.9 });
  refuses(e, { ...e.stateDict(), gamma: null }, [/gamma: expected a finite number, got null/]);
  const o = new tg.optim.OneCycleLR(sgd(), { maxLr: [0.5, 0.05], totalSteps: 20 });
  refuses(o, { ...o.stateDict(), maxLrs: [0.5] }, [/maxLrs: expected 2 numbers/]);
  refuses(o, { ...o.stateDict(), baseMomentums: [0.85, -1] }, [/baseMomentums\[1\]: expected a finite number >= 0/]);
  refuses(o, { ...o.stateDict(), totalSteps: 0 }, [/totalSteps: expected a positive integer/]);
});

test('a malformed ReduceLROnPlateau state dict is refused, and best may be null (infinite, through JSON)', () => {
  const p = new tg.optim.ReduceLROnPlateau(sgd(), { patience: 1 });
  p.step(1);
  const good = p.stateDict();
  refuses(p, { ...good, best: 'low' }, [/best: expected a number or null/]);
  refuses(p, { ...good, numBadEpochs: -1 }, [/numBadEpochs: expected an integer >= 0/]);
  refuses(p, { ...good, cooldownCounter: 0.5 }, [/cooldownCounter: expected an integer >= 0/]);
  refuses(p, { ...good, lastLr: [1] }, [/lastLr: expected 2 numbers/]);
  refuses(p, { ...good, patience: 3 }, [/unknown key 'patience'/]);
  p.loadStateDict({ ...good, best: null });
  assert.strictEqual(p.best, Infinity);
});

test('state dict checks at their edges: index 0, -1 and 0 accepted, exact messages, a far unknown key without a guess', () => {
  const s = new tg.optim.StepLR(sgd(), { stepSize: 3, gamma: 0.5 });
  const good = s.stateDict();
  assert.throws(() => s.loadStateDict(null), /^TypeError: StepLR.loadStateDict: expected an object from stateDict\(\)$/);
  assert.throws(() => s.loadStateDict([good]), /^TypeError: StepLR.loadStateDict: expected an object from stateDict\(\)$/);
  assert.throws(() => s.loadStateDict('x'), /StepLR.loadStateDict: expected an object/);
  refuses(s, { ...good, lastLr: [NaN, 0.1] }, [/lastLr\[0\]: expected a finite number >= 0, got NaN/]);
  refuses(s, { ...good, baseLrs: [0.1, -1] }, [/^StepLR.loadStateDict: the state dict does not fit: baseLrs\[1\]: expected a finite number >= 0, got -1$/]);
  refuses(s, { ...good, gamma: 'half' }, [/gamma: expected a finite number, got 'half'/]);
  refuses(s, { ...good, baseLrs: [1, 2, 3] }, [/baseLrs: expected 2 numbers \(one per parameter group\), got an array of 3/]);
  refuses(s, { ...good, zzz: 1 }, [/unknown key 'zzz'$/]);
  s.loadStateDict({ ...good, lastEpoch: -1, lastLr: [0, 0] }); // -1 (before the first step) and lr 0 are valid
  assert.strictEqual(s.lastEpoch, -1);
  assert.deepStrictEqual(s.getLastLr(), [0, 0]);
});

test("settings in a state dict replace the constructor's (ExponentialLR, OneCycleLR)", () => {
  const e = new tg.optim.ExponentialLR(sgd(), { gamma: 0.9 });
  assert.deepStrictEqual(Object.keys(e.stateDict()).sort(), ['baseLrs', 'gamma', 'lastEpoch', 'lastLr', 'stepCount']);
  e.loadStateDict({ ...e.stateDict(), gamma: 0.5 });
  assert.strictEqual(e.gamma, 0.5);
  const o = new tg.optim.OneCycleLR(sgd(), { maxLr: [0.5, 0.05], totalSteps: 20 });
  const sd = o.stateDict();
  assert.deepStrictEqual(sd.maxLrs, [0.5, 0.05]);
  o.loadStateDict({ ...sd, maxLrs: [1, 0.1], totalSteps: 30, baseMomentums: [0.8, 0.8] });
  assert.deepStrictEqual(o.maxLrs, [1, 0.1]);
  assert.strictEqual(o.totalSteps, 30);
  assert.deepStrictEqual(o.baseMomentums, [0.8, 0.8]);
});

test("ReduceLROnPlateau's best: null or its mode's infinity reads as none yet; the other infinity is refused", () => {
  const min = new tg.optim.ReduceLROnPlateau(sgd());
  min.loadStateDict({ ...min.stateDict(), best: Infinity });
  assert.strictEqual(min.best, Infinity);
  refuses(min, { ...min.stateDict(), best: -Infinity }, [/^ReduceLROnPlateau.loadStateDict: the state dict does not fit: best: expected a number or null, got -Infinity$/]);
  const max = new tg.optim.ReduceLROnPlateau(sgd(), { mode: 'max' });
  assert.strictEqual(max.stateDict().best, null);
  max.loadStateDict({ best: null });
  assert.strictEqual(max.best, -Infinity);
  refuses(max, { lastEpoch: -1 }, [/lastEpoch: expected an integer >= 0, got -1/]);
  refuses(max, { lastLr: [0.1, 'x'] }, [/lastLr\[1\]: expected a finite number >= 0, got 'x'/]);
  max.loadStateDict({ lastEpoch: 0, numBadEpochs: 0, cooldownCounter: 0 });
});
