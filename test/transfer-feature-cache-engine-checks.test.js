'use strict';
// How the native build engine's trace check tells a frozen part that reads values into JavaScript: its second input
// has the rows reversed (caught by a forward that reads a row's position) and floats moved (caught by one that reads a
// sum), in every float dtype; a shape that fails to trace after another traced is refused, never a silent switch.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { nn } = tg;

const quiet = { verbose: 0 };

// reads a value into JavaScript: the trace keeps the first batch's value as a constant
class ReadsValue extends nn.Module {
  constructor(read) {
    super();
    this.read = read;
  }
  forward(x) {
    const v = tg.tidy(() => this.read(x).item());
    return x.mul(v);
  }
}
// where the largest first feature is: the same after x * 1.5 + 0.25, not after the rows are reversed
const argmaxRow = (x) => x.select(1, 0).argmax();
// the sum: the same for rows reversed, not after x * 1.5 + 0.25
const sum = (x) => x.sum();

function net(layer) {
  return new nn.Sequential({ odd: layer, out: new nn.Linear(4, 2) });
}
function rows(dtype = 'float32', n = 12) {
  tg.manualSeed(3);
  return new tg.data.TensorDataset(tg.randn([n, 4]).to({ dtype }), tg.randint(0, 2, [n]));
}
const refused = (e) => e.code === 'ERR_TRACE_DIVERGES' && e.cause?.code === 'ERR_TRACE_DIVERGES' &&
  /^cacheFeatures: engine 'native' cannot trace the frozen part \(.+\); use engine 'js' \(or 'auto'\)$/s.test(e.message);

test("engine 'native' refuses a frozen part whose value depends on the rows' order or on their values, in each float dtype", async () => {
  await assert.rejects(tg.transfer.cacheFeatures(net(new ReadsValue(argmaxRow)), rows(), { upTo: 'odd', batchSize: 6, engine: 'native', ...quiet }), refused);
  for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'])
    await assert.rejects(tg.transfer.cacheFeatures(net(new ReadsValue(sum)), rows(dtype), { upTo: 'odd', batchSize: 6, engine: 'native', ...quiet }), refused, dtype);
});

test("engine 'native' and 'auto' say which engine ran and why", async () => {
  const plain = () => new nn.Sequential({ fc: new nn.Linear(4, 4), out: new nn.Linear(4, 2) }).freeze(/^fc\./);
  const native = await tg.transfer.cacheFeatures(plain(), rows(), { engine: 'native', ...quiet });
  assert.strictEqual(native.buildEngine, 'native');
  assert.strictEqual(native.buildEngineReason, "engine 'native': the frozen part traced, forwards on a worker thread");
  native.dispose();
  const auto = await tg.transfer.cacheFeatures(plain(), rows(), quiet);
  assert.strictEqual(auto.buildEngineReason, "engine 'auto': the frozen part traced, forwards on a worker thread");
  auto.dispose();
  const js = await tg.transfer.cacheFeatures(plain(), rows(), { engine: 'js', ...quiet });
  assert.strictEqual(js.buildEngine, 'js');
  assert.strictEqual(js.buildEngineReason, "engine 'js' asked");
  js.dispose();
});

// traceable on full batches; on the short last batch it reads a value
class ShortBatchReads extends nn.Module {
  forward(x) {
    if (x.shape[0] === 6) return x.relu();
    const v = tg.tidy(() => x.sum().item());
    return x.mul(v);
  }
}

test("engine 'auto' that traced one batch shape refuses a later shape that does not trace, instead of mixing engines", async () => {
  await assert.rejects(tg.transfer.cacheFeatures(net(new ShortBatchReads()), rows('float32', 10), { upTo: 'odd', batchSize: 6, ...quiet }), refused);
  // every batch of the traced shape: auto traces and builds
  const c = await tg.transfer.cacheFeatures(net(new ShortBatchReads()), rows('float32', 12), { upTo: 'odd', batchSize: 6, ...quiet });
  assert.strictEqual(c.buildEngine, 'native');
  c.dispose();
});
