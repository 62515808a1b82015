'use strict';
// Every public error is a TypeError, a RangeError or a coded TorchError: the bad inputs that threw a plain Error or
// a SyntaxError, and a scan of lib/ so that `new Error(` cannot come back outside a short allow-list.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const tg = require('..');
const { nn } = tg;

function net() {
  return new nn.Sequential({ hidden1: new nn.Linear(3, 4), act: new nn.ReLU(), outputs: new nn.Linear(4, 2) });
}
const empty = () => new tg.data.TensorDataset(tg.zeros([0, 3]), tg.zeros([0], { dtype: 'int64' }));
class NoForward extends nn.Module {}
class Pair extends nn.Module {
  constructor() {
    super();
    this.a = new nn.Linear(2, 2);
    this.b = new nn.Linear(2, 2);
  }
  forward(x) {
    return this.b.call(this.a.call(x));
  }
}

// [what, call, class, code]: each bad input, the class it must throw and, for a TorchError, its code.
const CASES = [
  ['fit on empty data', () => {
    const m = net();
    return tg.fit(m, empty(), { epochs: 1, loss: 'crossEntropy', optimizer: new tg.optim.SGD(m.parameters(), { lr: 0.1 }), verbose: 0 });
  }, tg.TorchError, 'ERR_EMPTY_DATA'],
  ['evaluate on empty data', () => tg.evaluate(net(), empty(), { loss: 'crossEntropy' }), tg.TorchError, 'ERR_EMPTY_DATA'],
  ['predict on empty data', () => tg.predict(net(), empty()), tg.TorchError, 'ERR_EMPTY_DATA'],
  ["freeze('zzz')", () => net().freeze('zzz'), tg.TorchError, 'ERR_PATTERN_NO_MATCH'],
  ["freeze('hidden[')", () => net().freeze('hidden['), TypeError],
  ["freeze('hidden[z-a]')", () => net().freeze('hidden[z-a]'), TypeError],
  ["layerGroups = ['hidden[12']", () => (net().layerGroups = ['hidden[12']), TypeError],
  ["get('nope')", () => net().get('nope'), tg.TorchError, 'ERR_UNKNOWN_MODULE'],
  ["getParameter('hidden1.nope')", () => net().getParameter('hidden1.nope'), tg.TorchError, 'ERR_UNKNOWN_PARAMETER'],
  ["replace('zz', ...)", () => net().replace('zz', new nn.Linear(4, 2)), tg.TorchError, 'ERR_UNKNOWN_MODULE'],
  ["drop('zz')", () => net().drop('zz'), tg.TorchError, 'ERR_UNKNOWN_MODULE'],
  ["drop('a') in a custom module", () => new Pair().drop('a'), tg.TorchError, 'ERR_MODULE_EDIT'],
  ["insert('act', 'outputs', ...): name taken", () => net().insert('act', 'outputs', new nn.ReLU()), tg.TorchError, 'ERR_MODULE_EDIT'],
  ["isFrozen('nope')", () => net().isFrozen('nope'), tg.TorchError, 'ERR_UNKNOWN_MODULE'],
  ["Sequential.at('nope')", () => net().at('nope'), tg.TorchError, 'ERR_UNKNOWN_MODULE'],
  ['summary() on an input of the wrong shape', () => net().summary([2, 5]), tg.TorchError, 'ERR_SUMMARY'],
  ['forward() not implemented', () => new NoForward().forward(tg.zeros([1])), tg.TorchError, 'ERR_NO_FORWARD'],
  ['ModuleList forward()', () => new nn.ModuleList([new nn.ReLU()]).forward(tg.zeros([1])), tg.TorchError, 'ERR_NO_FORWARD'],
  ["reuse(..., { upTo: 'nope' })", () => tg.transfer.reuse(net(), { upTo: 'nope' }), tg.TorchError, 'ERR_UNKNOWN_MODULE'],
  ['resetClassifier without a Linear', () => tg.transfer.resetClassifier(new nn.Sequential({ act: new nn.ReLU() }), 3), tg.TorchError, 'ERR_MODULE_EDIT'],
  ["collections.get('nope')", () => net().collections.get('nope'), tg.TorchError, 'ERR_UNKNOWN_COLLECTION'],
  ['zoo.open on a file', () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'tg-errors-'));
    test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.writeFileSync(path.join(dir, 'not-a-dir'), '');
    return tg.zoo.open(path.join(dir, 'not-a-dir'));
  }, tg.TorchError, 'ERR_IO'],
];

for (const [what, call, cls, code] of CASES) {
  test(`${what}: ${cls.name}${code ? ` ${code}` : ''}`, async () => {
    let caught;
    try {
      await call();
    } catch (e) {
      caught = e;
    }
    assert.ok(caught, 'nothing was thrown');
    assert.strictEqual(caught.constructor, cls, `expected ${cls.name}, got ${caught.constructor.name}: ${caught.message}`);
    if (code) assert.strictEqual(caught.code, code, caught.message);
    assert.ok(caught.message.length > 10, 'the message says what is wrong');
  });
}

// Device strings are checked in one place (lib/device.ts) on every path into the addon: what is wrong, never 'stoll'.
const BAD_DEVICES = [
  ['cuda:99999999999999999999', RangeError, /device index '99999999999999999999' is out of range: CUDA device indices go from 0 to 127/],
  ['cuda:128', RangeError, /out of range/], // would wrap to -128 in LibTorch's 8-bit device index
  ['cuda:-1', RangeError, /device index '-1' is negative/],
  ['cuda:1.5', TypeError, /invalid device 'cuda:1\.5': the index must be a whole number/],
  ['cuda:', TypeError, /invalid device 'cuda:': no index after ':'/],
  ['cpu:0x', TypeError, /invalid device 'cpu:0x': the CPU takes no index/],
  ['tpu', TypeError, /'tpu'/],
];
const DEVICE_PATHS = [
  ['Tensor.to(string)', (d) => tg.zeros([1]).to(d)],
  ['Tensor.to({ device })', (d) => tg.zeros([1]).to({ device: d })],
  ['zeros({ device })', (d) => tg.zeros([1], { device: d })],
  ['tensor({ device })', (d) => tg.tensor([1, 2], { device: d })],
  ['randLike({ device })', (d) => tg.randLike(tg.zeros([1]), { device: d })],
  ['Module.to', (d) => new nn.Linear(1, 1).to(d)],
  ['ScriptModule.to', async (d) => (await tg.io.loadTorchScript(path.join(__dirname, 'fixtures', 'foreign', 'torchsharp_mlp_1000_100_10_torchscript.pt'))).to(d)],
];
for (const [where, call] of DEVICE_PATHS) {
  test(`${where} says what is wrong with a bad device string`, async () => {
    for (const [device, cls, message] of BAD_DEVICES) {
      await assert.rejects(async () => call(device), (e) => {
        assert.strictEqual(e.constructor, cls, `${device}: expected ${cls.name}, got ${e.constructor.name}: ${e.message}`);
        assert.match(e.message, message);
        assert.doesNotMatch(e.message, /stoll|out_of_range/);
        return true;
      }, device);
    }
  });
}

// Places where a plain Error is right: internal, caught on the spot and turned into a coded error by the caller.
const ALLOWED = new Map([
  ['lib/io/zip-names.ts', 'a system-style ENOTREG error, turned into ERR_IO by loadTorchScript'],
  ['lib/optim/schedulers/one-cycle-lr.ts', "an 'unreachable' assertion"],
]);

function sources(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('lib/ throws no plain Error and no SyntaxError outside the allow-list', () => {
  const root = path.resolve(__dirname, '..');
  const leaks = [];
  for (const file of sources(path.join(root, 'lib'))) {
    const rel = path.relative(root, file).split(path.sep).join('/');
    if (ALLOWED.has(rel)) continue;
    fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (/^\s*(\*|\/\/)/.test(line)) return; // comments and TSDoc
      if (/\bnew (Error|SyntaxError)\(|\bthrow (Error|SyntaxError)\(/.test(line)) leaks.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepStrictEqual(leaks, [], 'use TypeError, RangeError or new TorchError(message, { code }) (lib/errors.ts)');
});
