'use strict';
// The conveniences PyTorch users reach for, against /usr/bin/python3 PyTorch: tg.randperm (global and private
// generators, the generator left where PyTorch leaves it), tg.manualSeed's Generator (initialSeed, getState/setState),
// t.dim() and t.size(dim) with negative dimensions and PyTorch's errors.
const test = require('node:test');
const assert = require('node:assert');
const { hasPyTorch, runTorch, tg } = require('./helpers/torch');
const { resolveZeros } = require('../dist/randperm');

const skip = !hasPyTorch() && 'Python PyTorch is not available';
const SIZES = [0, 1, 2, 3, 10, 1000, 100000];
const SEEDS = [0, 7, 123456789];
const ints = (t) => Array.from(t.dataSync(), Number);
const text = (t) => Buffer.from(Array.from(t.data, Number)).toString();

test('randperm after manualSeed gives torch.randperm\'s values and leaves the generator where PyTorch does', { skip }, () => {
  const js = {};
  for (const seed of SEEDS) {
    for (const n of SIZES) {
      tg.manualSeed(seed);
      js[`p_${seed}_${n}`] = tg.randperm(n);
      js[`after_${seed}_${n}`] = tg.rand([3]);
    }
  }
  tg.manualSeed(11);
  js.f32 = tg.randperm(50, { dtype: 'float32' });
  js.i32 = tg.randperm(50, { dtype: 'int32' });
  const py = runTorch(`
for seed in ${JSON.stringify(SEEDS)}:
    for n in ${JSON.stringify(SIZES)}:
        torch.manual_seed(seed)
        OUT['p_%d_%d' % (seed, n)] = torch.randperm(n)
        OUT['after_%d_%d' % (seed, n)] = torch.rand(3)
torch.manual_seed(11)
OUT['f32'] = torch.randperm(50, dtype=torch.float32)
OUT['i32'] = torch.randperm(50, dtype=torch.int32)
`);
  for (const [k, t] of Object.entries(js)) {
    assert.deepStrictEqual(t.shape, py[k].shape, k);
    assert.deepStrictEqual(Array.from(t.to('float64').dataSync()), Array.from(py[k].data, Number), k);
  }
  assert.strictEqual(js.f32.dtype, 'float32');
  assert.strictEqual(js.i32.dtype, 'int32');
  assert.strictEqual(js.p_0_10.dtype, 'int64');
  tg.dispose(Object.values(js));
});

test('a private Generator gives torch.Generator()\'s stream and leaves the global one alone', { skip }, () => {
  tg.manualSeed(5);
  const g = new tg.Generator().manualSeed(3);
  const a = tg.randperm(20, { generator: g });
  const b = tg.randperm(20, { generator: g });
  const globalAfter = tg.rand([4]);
  const fresh = tg.randperm(30, { generator: new tg.Generator() });
  const py = runTorch(`
torch.manual_seed(5)
g = torch.Generator().manual_seed(3)
OUT['a'] = torch.randperm(20, generator=g)
OUT['b'] = torch.randperm(20, generator=g)
OUT['globalAfter'] = torch.rand(4)
OUT['fresh'] = torch.randperm(30, generator=torch.Generator())
OUT['freshSeed'] = torch.tensor([torch.Generator().initial_seed()])
`);
  assert.deepStrictEqual(ints(a), Array.from(py.a.data, Number));
  assert.deepStrictEqual(ints(b), Array.from(py.b.data, Number));
  assert.deepStrictEqual(Array.from(globalAfter.to('float64').dataSync()), Array.from(py.globalAfter.data));
  assert.deepStrictEqual(ints(fresh), Array.from(py.fresh.data, Number));
  assert.strictEqual(new tg.Generator().initialSeed(), Number(py.freshSeed.data[0]));
  assert.strictEqual(g.initialSeed(), 3);
  assert.strictEqual(g.isDefault, false);
  tg.dispose([a, b, globalAfter, fresh]);
});

test('manualSeed returns the default generator: initialSeed and the state bytes are PyTorch\'s', { skip }, () => {
  const g = tg.manualSeed(42);
  assert.strictEqual(g, tg.defaultGenerator);
  assert.ok(g instanceof tg.Generator && g.isDefault && g.device === 'cpu');
  assert.strictEqual(g.initialSeed(), 42);
  tg.manualSeed(7);
  const state = tg.defaultGenerator.getState();
  const negative = tg.manualSeed(-5).initialSeed();
  const py = runTorch(`
torch.manual_seed(7)
OUT['state'] = torch.get_rng_state()
OUT['negative'] = torch.tensor(list(str(torch.manual_seed(-5).initial_seed()).encode()))
`);
  assert.deepStrictEqual(state.shape, py.state.shape);
  assert.deepStrictEqual(Array.from(state.dataSync()), Array.from(py.state.data, Number));
  assert.strictEqual(typeof negative, 'bigint');
  assert.strictEqual(String(negative), text(py.negative));
  state.dispose();
});

test('getState/setState replay the same draws, for the default and a private generator', () => {
  for (const g of [tg.manualSeed(9), new tg.Generator().manualSeed(9)]) {
    const saved = g.getState();
    const first = tg.randperm(100, { generator: g });
    assert.strictEqual(g.setState(saved), g);
    const again = tg.randperm(100, { generator: g });
    assert.deepStrictEqual(ints(again), ints(first));
    assert.strictEqual(saved.isDisposed, false, 'setState leaves the tensor to the caller');
    tg.dispose([saved, first, again]);
  }
  const g = new tg.Generator();
  assert.throws(() => g.setState(tg.zeros([5056])), TypeError);
  assert.throws(() => g.setState('state'), TypeError);
  assert.throws(() => g.setState(tg.zeros([10], { dtype: 'uint8' })), (e) => e instanceof Error && !(e instanceof TypeError));
  const p = tg.randperm(5, { generator: g });
  assert.deepStrictEqual(ints(p).sort(), [0, 1, 2, 3, 4], 'a refused state leaves the generator usable');
  assert.throws(() => g.manualSeed(1.5), TypeError);
  assert.throws(() => tg.manualSeed('1'), TypeError);
  p.dispose();
});

test('a private generator holds one tensor; randperm leaves only its result', () => {
  const before = tg.memory().tensors;
  const g = new tg.Generator().manualSeed(1);
  assert.strictEqual(tg.memory().tensors, before + 1);
  const p = tg.tidy(() => tg.randperm(10, { generator: g.manualSeed(2) }));
  assert.strictEqual(tg.memory().tensors, before + 2);
  p.dispose();
  g.seed();
  assert.strictEqual(tg.memory().tensors, before + 1);
});

test('randperm refuses bad arguments', () => {
  const cases = [
    [() => tg.randperm(-1), RangeError, /n must be an integer/],
    [() => tg.randperm(2.5), RangeError, /n must be an integer/],
    [() => tg.randperm('3'), RangeError, /n must be an integer/],
    [() => tg.randperm(214748365), RangeError, /214748364/],
    [() => tg.randperm(300, { dtype: 'uint8' }), RangeError, /too large for dtype uint8/],
    [() => tg.randperm(3, { dtype: 'bool' }), TypeError, /integer or floating dtype/],
    [() => tg.randperm(3, { dtype: 'int7' }), TypeError, /dtype/],
    [() => tg.randperm(3, { generator: {} }), TypeError, /tg.Generator/],
    [() => tg.randperm(3, null), TypeError, /options/],
    [() => tg.randperm(3, { device: 'tpu' }), TypeError, /device/],
  ];
  for (const [fn, cls, re] of cases) assert.throws(fn, (e) => e instanceof cls && re.test(e.message), String(fn));
});

test('an ambiguous draw (0 mod 2^32 - 1) is told apart by the second draw', () => {
  const first = new Float64Array([5, 0, 0, 7]);
  resolveZeros(first, new Float64Array([5, 0, 1, 7]));
  assert.deepStrictEqual(Array.from(first), [5, 0, 0xffffffff, 7]);
});

test('dim() and size(dim) with negative dimensions, and their errors, as PyTorch', { skip }, () => {
  const shapes = [[2, 3, 4], [5], []];
  const js = [];
  for (const shape of shapes) {
    const t = tg.zeros(shape);
    const row = { dim: t.dim(), size: t.size(), dims: {} };
    for (let d = -shape.length - 1; d <= shape.length; d++) {
      try {
        row.dims[d] = t.size(d);
      } catch (e) {
        assert.ok(e instanceof RangeError, `${e.constructor.name}: ${e.message}`);
        row.dims[d] = `error: ${e.message.split('\n')[0]}`;
      }
    }
    js.push(row);
    t.dispose();
  }
  const py = runTorch(`
import json
rows = []
for shape in ${JSON.stringify(shapes)}:
    t = torch.zeros(shape)
    row = {'dim': t.dim(), 'size': list(t.size()), 'dims': {}}
    for d in range(-len(shape) - 1, len(shape) + 1):
        try:
            row['dims'][str(d)] = t.size(d)
        except IndexError as e:
            row['dims'][str(d)] = 'error: ' + str(e).split('\\n')[0]
    rows.append(row)
OUT['rows'] = torch.tensor(list(json.dumps(rows).encode()))
`);
  assert.deepStrictEqual(js, JSON.parse(text(py.rows)));
  assert.throws(() => tg.zeros([2]).size(1.5), TypeError);
  assert.throws(() => tg.zeros([2]).size(undefined), TypeError);
});
