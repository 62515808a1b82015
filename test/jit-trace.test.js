'use strict';
// tg.jit.trace: LibTorch's tracer records a forward written in JavaScript into a ScriptModule over the same tensors;
// Python's torch.jit.load runs the saved archive with the same outputs (golden), and bad modules fail clearly.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { hasPyTorch, runTorch, assertClose, tg, avoidOneDnnBackwardNaN } = require('./helpers/torch');

avoidOneDnnBackwardNaN();  // LibTorch 2.6's oneDNN: NaN convolution gradients under load (helpers/torch.js)

const skipPy = hasPyTorch() ? false : '/usr/bin/python3 with torch is not available';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-trace-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A module with its own arithmetic around tg.nn layers: a residual block over a small CNN, BatchNorm in eval. */
class Net extends tg.nn.Module {
  constructor() {
    super();
    this.registerModule('conv', new tg.nn.Conv2d(3, 4, 3, { padding: 1 }));
    this.registerModule('bn', new tg.nn.BatchNorm2d(4));
    this.registerModule('head', new tg.nn.Sequential([new tg.nn.Flatten(), new tg.nn.Linear(4 * 5 * 5, 6), new tg.nn.Tanh()]));
    this.registerParameter('scale', tg.ones([6]).mul(0.5).requiresGrad_());
  }
  forward(x) {
    const h = this.bn.call(this.conv.call(x)).relu();
    const r = h.add(x.mean(1, true)); // a residual from the input
    return this.head.call(r).mul(this.scale).add(1);
  }
}

function makeNet() {
  tg.manualSeed(3);
  const net = new Net();
  tg.noGrad(() => {
    net.bn.runningMean.copy_(tg.randn([4]).mul(0.1));
    net.bn.runningVar.copy_(tg.rand([4]).add(0.5));
  });
  return net.eval();
}

test('a traced module computes what the eager module computes, and Python runs the saved archive to the same values', { skip: skipPy }, async () => {
  const net = makeNet();
  const x = tg.randn([2, 3, 5, 5]);
  const traced = tg.jit.trace(net, x);
  assert.ok(traced instanceof tg.io.ScriptModule);
  assert.ok(traced instanceof tg.nn.Module);
  const eager = tg.noGrad(() => net.forward(x));
  const other = tg.randn([3, 3, 5, 5]); // a new batch size: the trace is not specialised to the example's values
  assert.ok(tg.noGrad(() => traced.forward(x)).equal(eager), 'same values as eager on the example');
  assert.ok(tg.noGrad(() => traced.forward(other)).equal(tg.noGrad(() => net.forward(other))), 'and on other inputs');
  assert.deepStrictEqual(traced.namedParameters().map(([n]) => n).sort(), net.namedParameters().map(([n]) => n).sort());
  const file = path.join(dir, 'net.pt');
  await traced.save(file);
  const py = runTorch(
    `m = torch.jit.load(${JSON.stringify(file)})
m.eval()
with torch.no_grad():
    OUT['y'] = m(T['x'].float())
    OUT['y2'] = m(T['other'].float())
OUT['nparams'] = torch.tensor(len(list(m.parameters())))`,
    { x, other },
  );
  assertClose(assert, eager, py.y, 1e-6, 'Python on the archive vs torchgraft eager');
  assertClose(assert, tg.noGrad(() => net.forward(other)), py.y2, 1e-6, 'other input');
  assert.strictEqual(Number(py.nparams.data[0]), net.parameters().length);
});

test('the traced module shares its parameters with the original: training one trains the other', () => {
  const net = makeNet();
  const x = tg.randn([4, 3, 5, 5]);
  const traced = tg.jit.trace(net, x);
  const before = net.head.get('1').weight.clone();
  const opt = new tg.optim.SGD(traced.parameters(), { lr: 0.5 });
  opt.zeroGrad();
  traced.forward(x).sum().backward();
  opt.step();
  assert.ok(!net.head.get('1').weight.equal(before), 'the original moved');
  assert.ok(tg.noGrad(() => traced.forward(x)).equal(tg.noGrad(() => net.forward(x))), 'and both still agree');
  // frozen in the original: the traced one sees the same flag (one tensor)
  net.freeze(['conv']);
  const conv = traced.namedParameters().find(([n]) => n === 'conv.weight')[1];
  assert.strictEqual(conv.requiresGrad, false);
});

test('multiple outputs come back as an array; user code between layers is recorded', () => {
  const lin = new tg.nn.Linear(3, 2);
  const m = new (class extends tg.nn.Module {
    constructor() {
      super();
      this.registerModule('lin', lin);
    }
    forward(a, b) {
      const y = this.lin.call(a.sub(b));
      return [y, y.softmax(1)];
    }
  })();
  const a = tg.randn([2, 3]);
  const b = tg.randn([2, 3]);
  const traced = tg.jit.trace(m, [a, b]);
  const out = tg.noGrad(() => traced.forward(a, b));
  const ref = tg.noGrad(() => m.forward(a, b));
  assert.ok(Array.isArray(out) && out.length === 2, 'an array of two');
  assert.ok(out[0].equal(ref[0]) && out[1].equal(ref[1]));
});

test('random ops are refused unless asked for; eval() makes Dropout deterministic', () => {
  const net = new tg.nn.Sequential([new tg.nn.Linear(4, 4), new tg.nn.Dropout(0.5)]);
  const x = tg.randn([2, 4]);
  assert.throws(() => tg.jit.trace(net.train(), x), (e) => e.code === 'ERR_TRACE_RANDOM' && /eval\(\)/.test(e.message));
  assert.ok(tg.jit.trace(net.train(), x, { allowRandom: true }) instanceof tg.io.ScriptModule);
  const traced = tg.jit.trace(net.eval(), x);
  assert.ok(tg.noGrad(() => traced.forward(x)).equal(tg.noGrad(() => net.forward(x))));
});

test('bad modules and inputs fail with clear errors, and the next trace still works', () => {
  const x = tg.randn([2, 4]);
  const throwing = new (class extends tg.nn.Module {
    forward() {
      throw new RangeError('my forward failed');
    }
  })();
  assert.throws(() => tg.jit.trace(throwing, x), /my forward failed/);
  const returnsNumber = new (class extends tg.nn.Module {
    forward(v) {
      return v.sum().item();
    }
  })();
  assert.throws(() => tg.jit.trace(returnsNumber, x), (e) => e instanceof TypeError && /must return a Tensor/.test(e.message));
  const nested = new (class extends tg.nn.Module {
    forward(v) {
      return tg.jit.trace(new tg.nn.Linear(4, 4), v);
    }
  })();
  assert.throws(() => tg.jit.trace(nested, x), /already running/);
  assert.throws(() => tg.jit.trace({}, x), TypeError);
  assert.throws(() => tg.jit.trace(new tg.nn.Linear(4, 2), [x, 'y']), TypeError);
  assert.throws(() => tg.jit.trace(new tg.nn.Linear(4, 2), []), TypeError);
  const before = tg.memory().tensors;
  const ok = tg.jit.trace(new tg.nn.Linear(4, 2), x);
  assert.ok(tg.noGrad(() => ok.forward(x)).shape.join() === '2,2', 'a trace after the failures works');
  assert.ok(tg.memory().tensors - before < 10, 'the traces left no intermediate tensors behind');
});

test('reading values into JavaScript during a trace emits one TracerWarning; tracing without reads emits none', async () => {
  await new Promise((r) => setImmediate(r)); // warnings of earlier tests' traces arrive on a later tick: let them pass
  const warnings = [];
  const onWarning = (w) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const branchy = new (class extends tg.nn.Module {
      forward(v) {
        return v.sum().item() > 0 ? v.relu() : v.neg(); // data-dependent: frozen as taken
      }
    })();
    const x = tg.ones([2, 2]);
    tg.jit.trace(branchy, x);
    tg.jit.trace(new tg.nn.Linear(2, 2), x);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    const ours = warnings.filter((w) => w.name === 'TracerWarning');
    assert.strictEqual(ours.length, 1, 'one warning, for the trace that read a value');
    assert.strictEqual(ours[0].code, 'TG_TRACE_VALUE_READ');
    assert.match(ours[0].message, /item\(\) during jit\.trace/);
    x.sum().item(); // outside a trace: no warning
    await new Promise((r) => setImmediate(r));
    assert.strictEqual(warnings.filter((w) => w.name === 'TracerWarning').length, 1);
  } finally {
    process.off('warning', onWarning);
  }
});

test('checkInputs catches a trace that froze a branch or a JavaScript value, and passes a faithful one', () => {
  process.on('warning', () => {}); // the TracerWarning of the value read is expected here
  const branchy = new (class extends tg.nn.Module {
    forward(x) {
      return x.sum().item() > 0 ? x.mul(2) : x.mul(-1);
    }
  })();
  const pos = tg.ones([2, 3]);
  const neg = tg.ones([2, 3]).neg();
  assert.throws(() => tg.jit.trace(branchy, pos, { checkInputs: [neg] }), (e) => e.code === 'ERR_TRACE_DIVERGES' && /checkInputs\[0\]/.test(e.message));
  let calls = 0;
  const counting = new (class extends tg.nn.Module {
    forward(x) {
      calls++;
      return x.add(calls); // a JS value the trace records as a constant
    }
  })();
  assert.throws(() => tg.jit.trace(counting, pos, { checkInputs: [pos] }), (e) => e.code === 'ERR_TRACE_DIVERGES');
  const net = makeNet();
  const traced = tg.jit.trace(net, tg.randn([2, 3, 5, 5]), { checkInputs: [tg.randn([4, 3, 5, 5]), [tg.randn([1, 3, 5, 5])]] });
  assert.ok(traced instanceof tg.io.ScriptModule);
  assert.throws(() => tg.jit.trace(net, tg.randn([2, 3, 5, 5]), { checkInputs: 'x' }), TypeError);
  assert.throws(() => tg.jit.trace(net, tg.randn([2, 3, 5, 5]), { checkInputs: [tg.randn([2, 3, 5, 5])], checkTolerance: -1 }), RangeError);
});

test('the trace check takes NaN for NaN and an infinity for the same infinity: inputs that hold them trace', () => {
  tg.manualSeed(1);
  const lin = new tg.nn.Linear(3, 2);
  lin.eval();
  const example = tg.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32' });
  const other = tg.tensor([[NaN, 0, 1], [Infinity, 1, 2], [-Infinity, 2, 3]]);
  const traced = tg.jit.trace(lin, example, { checkInputs: [other] });
  assert.deepStrictEqual(Array.from(traced.forward(other).dataSync()), Array.from(lin.forward(other).dataSync()));
  traced.dispose();
  // a NaN on one side only is still a difference
  class NanOnFirstShape extends tg.nn.Module {
    forward(x) {
      return x.shape[0] === 2 ? x.mul(1) : x.mul(NaN);
    }
  }
  assert.throws(() => tg.jit.trace(new NanOnFirstShape(), example, { checkInputs: [other] }),
    (e) => e.code === 'ERR_TRACE_DIVERGES' && /largest difference NaN/.test(e.message));
});
