'use strict';
// More edges of the transfer helpers (lib/transfer/channels.ts, classifier.ts, copy.ts) that mutation testing found
// unchecked: the stem and classifier are never the model itself, bias settings carry over, tied tensors stay tied.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

test('findStem never names the model itself, even when it is a Conv2d', () => {
  assert.throws(
    () => tg.transfer.findStem(new tg.nn.Conv2d(3, 4, 3)),
    (e) => e instanceof tg.TorchError && e.code === 'ERR_MODULE_EDIT' && e.message === 'adaptInputChannels: Conv2d has no Conv2d to adapt',
  );
});

test("adaptInputChannels keeps the bias's requiresGrad, and a conv without bias gets none", () => {
  const conv = new tg.nn.Conv2d(3, 4, 3);
  conv.bias.requiresGrad = false;
  for (const n of [1, 2]) {
    const adapted = tg.transfer.adaptInputChannels(conv, n);
    assert.strictEqual(adapted.bias.requiresGrad, false, `n = ${n}`);
    assert.strictEqual(adapted.weight.requiresGrad, true);
    assert.deepStrictEqual(Array.from(adapted.bias.dataSync()), Array.from(conv.bias.dataSync()));
  }
  const noBias = new tg.nn.Conv2d(3, 4, 3, { bias: false });
  assert.strictEqual(tg.transfer.adaptInputChannels(noBias, 2).bias, null);
});

test("findClassifier finds a top-level 'heads' Linear that is not the last Linear", () => {
  const net = new tg.nn.Sequential({ heads: new tg.nn.Linear(4, 3), tail: new tg.nn.Linear(3, 2) });
  assert.strictEqual(tg.transfer.findClassifier(net), 'heads');
});

test('copyModule: a tensor tied between two modules stays tied in the copy; forward pre-hooks are carried and independent', () => {
  const net = new tg.nn.Sequential({ a: new tg.nn.Linear(3, 3), b: new tg.nn.Linear(3, 3) });
  net.get('b').registerParameter('weight', net.get('a').weight);
  let calls = 0;
  net.registerForwardPreHook(() => void calls++);
  const copy = tg.transfer.copyModule(net);
  assert.strictEqual(copy.get('a').weight, copy.get('b').weight, 'one tensor in two modules stays one');
  assert.notStrictEqual(copy.get('a').weight, net.get('a').weight);
  copy.call(tg.ones([1, 3]));
  assert.strictEqual(calls, 1, "the copy runs the original's pre-hook");
  copy.registerForwardPreHook(() => void (calls += 10));
  net.call(tg.ones([1, 3]));
  assert.strictEqual(calls, 2, 'a pre-hook added to the copy is not the original\'s');
});

test('copyModule: array settings are copied, not shared; an own getter-only property does not stop the copy', () => {
  const conv = new tg.nn.Conv2d(3, 4, [3, 5]);
  const copy = tg.transfer.copyModule(conv);
  assert.deepStrictEqual(copy.kernelSize, [3, 5]);
  assert.notStrictEqual(copy.kernelSize, conv.kernelSize, 'a new array');
  class Tagged extends tg.nn.Linear {
    constructor() {
      super(2, 2);
      Object.defineProperty(this, 'tag', { get: () => 'computed', configurable: true });
    }
  }
  const tagged = new Tagged();
  const twin = tg.transfer.copyModule(tagged);
  assert.ok(twin instanceof Tagged);
  assert.deepStrictEqual(Array.from(twin.weight.dataSync()), Array.from(tagged.weight.dataSync()));
});
