'use strict';
// Building a feature cache with engine 'native' (the frozen part traced and run on a worker thread) or 'js': the
// same bytes either way, timers that run while the frozen part computes, and 'auto' falling back when it cannot trace.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { nn } = tg;

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fcbuild-'));
const quiet = { verbose: 0 };

function convNet() {
  tg.manualSeed(11);
  return new nn.Sequential({
    conv: new nn.Conv2d(3, 8, 3, { padding: 1 }), bn: new nn.BatchNorm2d(8), act: new nn.ReLU(), pool: new nn.MaxPool2d(2),
    flat: new nn.Flatten(), out: new nn.Linear(8 * 4 * 4, 5),
  }).freeze(/^(conv|bn)\./);
}
function images(n = 37) {
  tg.manualSeed(5);
  return new tg.data.TensorDataset(tg.randn([n, 3, 8, 8]), tg.randint(0, 5, [n]));
}
const bytes = (t) => {
  const d = t.dataSync();
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
};

test("engine 'native' and 'js' give bitwise equal features, in memory and on disk (a short last batch included)", async () => {
  const ds = images();
  const build = (engine, extra = {}) => tg.transfer.cacheFeatures(convNet(), ds, { upTo: 'flat', batchSize: 8, engine, ...quiet, ...extra });
  const js = await build('js');
  const native = await build('native');
  assert.strictEqual(js.buildEngine, 'js');
  assert.strictEqual(native.buildEngine, 'native');
  const [a] = js.examples.getBatch(Array.from({ length: 37 }, (_, i) => i));
  const [b] = native.examples.getBatch(Array.from({ length: 37 }, (_, i) => i));
  assert.deepStrictEqual(a.shape, [37, 128]);
  assert.ok(bytes(a).equals(bytes(b)), 'the same bytes');
  assert.ok(tg.tidy(() => a.abs().sum().item()) > 0, 'features that are not all zero');
  js.dispose();
  native.dispose();
  const dirs = [tmpDir(), tmpDir()];
  const files = [];
  for (const [k, engine] of ['js', 'native'].entries()) {
    const c = await build(engine, { store: 'disk', dir: dirs[k], blockRows: 16 });
    assert.strictEqual(c.buildEngine, engine);
    c.dispose();
    files.push(fs.readFileSync(path.join(dirs[k], 'features.tgcache')));
  }
  assert.ok(files[0].equals(files[1]), 'byte-identical cache files');
});

test("engine 'auto' (the default) traces a traceable frozen part and says so", async () => {
  const c = await tg.transfer.cacheFeatures(convNet(), images(), { upTo: 'flat', batchSize: 8, ...quiet });
  assert.strictEqual(c.buildEngine, 'native');
  assert.match(c.buildEngineReason, /'auto'.*worker thread/);
  c.dispose();
});

// A frozen layer that adds noise: random even in eval mode, so a trace is refused.
class Noise extends nn.Module {
  forward(x) {
    return tg.tidy(() => x.add(tg.randn(x.shape).mul(0.01)));
  }
}
// A frozen layer that reads a value into JavaScript: a trace would freeze it as taken on the first batch.
class ScaleByMax extends nn.Module {
  forward(x) {
    const m = tg.tidy(() => x.abs().max().item());
    return x.div(m);
  }
}

function withLayer(layer) {
  tg.manualSeed(2);
  return new nn.Sequential({ fc: new nn.Linear(6, 10), odd: layer, out: new nn.Linear(10, 3) }).freeze(/^fc\./);
}
function rows(n = 40) {
  tg.manualSeed(4);
  return new tg.data.TensorDataset(tg.randn([n, 6]), tg.randint(0, 3, [n]));
}

test("engine 'auto' falls back to the JavaScript loop for a random or value-reading frozen part, saying why; 'native' refuses it", async () => {
  const noisy = await tg.transfer.cacheFeatures(withLayer(new Noise()), rows(), { upTo: 'odd', batchSize: 8, allowRandom: true, ...quiet });
  assert.strictEqual(noisy.buildEngine, 'js');
  assert.match(noisy.buildEngineReason, /does not trace.*random/);
  noisy.dispose();

  const net = withLayer(new ScaleByMax());
  const ds = rows();
  const reading = await tg.transfer.cacheFeatures(net, ds, { upTo: 'odd', batchSize: 8, ...quiet });
  assert.strictEqual(reading.buildEngine, 'js');
  assert.match(reading.buildEngineReason, /does not trace/);
  // the rows after the first batch are computed with their own maximum, not the first batch's frozen one
  const [got] = reading.examples.getBatch([20, 21, 22]);
  const want = tg.noGrad(() => net.slice(0, 'odd').forward(ds.getBatch([16, 17, 18, 19, 20, 21, 22, 23])[0]).narrow(0, 4, 3));
  assert.ok(bytes(got).equals(bytes(want)));
  reading.dispose();

  await assert.rejects(
    tg.transfer.cacheFeatures(withLayer(new Noise()), rows(), { upTo: 'odd', allowRandom: true, engine: 'native', ...quiet }),
    (e) => e.name === 'TorchError' && e.code === 'ERR_TRACE_RANDOM' && /engine 'native' cannot trace/.test(e.message),
  );
});

test('timers fire while the native engine computes a batch; the JS engine lets them run only between batches', async () => {
  tg.manualSeed(8);
  const net = new nn.Sequential({ a: new nn.Linear(1024, 1024), act: new nn.ReLU(), b: new nn.Linear(1024, 1024), out: new nn.Linear(1024, 2) })
    .freeze(/^(a|b)\./);
  const ds = new tg.data.TensorDataset(tg.randn([2048, 1024]), tg.zeros([2048], { dtype: 'int64' }));
  const batches = 2048 / 256;
  const ticksDuring = async (engine) => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const c = await tg.transfer.cacheFeatures(net, ds, { upTo: 'b', batchSize: 256, engine, ...quiet });
      assert.strictEqual(c.buildEngine, engine);
      c.dispose();
    } finally {
      clearInterval(timer);
    }
    return ticks;
  };
  const js = await ticksDuring('js');
  const native = await ticksDuring('native');
  // one turn of the event loop per batch runs an interval at most once; a forward on a worker thread lets it run throughout
  assert.ok(js <= batches + 2, `js engine: ${js} ticks for ${batches} batches`);
  assert.ok(native > 2 * batches, `native engine: ${native} ticks for ${batches} batches`);
});

test('verbose 2 prints one line naming the engine', async () => {
  let text = '';
  const output = { isTTY: false, write: (s) => { text += s; } };
  const c = await tg.transfer.cacheFeatures(convNet(), images(), { upTo: 'flat', batchSize: 8, verbose: 2, output, engine: 'js' });
  assert.match(text, /^Cached features of 37 examples \(memory\) in .*, engine js\n$/);
  c.dispose();
});
