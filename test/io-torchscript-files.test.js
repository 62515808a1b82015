'use strict';
// TorchScript files from elsewhere: the TorchSharp fixtures against Python's torch.jit.load, and damaged or
// mistaken files, each refused with a TorchError naming the file and never a crash.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { hasPyTorch, runTorch, assertClose, tg, PYTHON } = require('./helpers/torch');

const skip = hasPyTorch() ? false : '/usr/bin/python3 with torch is not available';
// The foreign fixtures' folder (test/fixtures/foreign, or TORCHGRAFT_FOREIGN_FIXTURES).
const { FOREIGN } = require('./helpers/foreign');
const MLP = path.join(FOREIGN, 'torchsharp_mlp_1000_100_10_torchscript.pt');
const MYMODULE = path.join(FOREIGN, 'torchsharp_mymodule_torchscript.pt');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-script-files-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name) => path.join(dir, name);

/** Asserts that loadTorchScript rejects `f` with a TorchError whose message names the file. */
async function assertRefused(f, pattern) {
  await assert.rejects(tg.io.loadTorchScript(f), (e) => {
    assert.ok(e instanceof tg.TorchError, `expected a TorchError, got ${e && e.constructor.name}: ${e && e.message}`);
    assert.ok(e.message.includes(f), `the message names the file: ${e.message}`);
    assert.strictEqual(e.path, f);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

test('the TorchSharp traced MLP loads with its module tree and matches torch.jit.load', { skip: skip }, async () => {
  const net = await tg.io.loadTorchScript(MLP);
  assert.deepStrictEqual(net.namedChildren().map(([n]) => n), ['0', '1']);
  assert.deepStrictEqual(net.get('0').namedChildren().map(([n]) => n), ['0', '1']);
  assert.deepStrictEqual(net.namedParameters().map(([n, p]) => [n, p.shape, p.dtype]), [
    ['0.0.weight', [100, 1000], 'float32'],
    ['0.0.bias', [100], 'float32'],
    ['1.weight', [10, 100], 'float32'],
    ['1.bias', [10], 'float32'],
  ]);
  assert.match(net.submodule('0.0').typeName, /Linear$/);
  tg.manualSeed(3);
  const x = tg.randn([4, 1000]);
  const ones = tg.ones([1000]);
  const py = runTorch(
    `m = torch.jit.load(${JSON.stringify(MLP)})\nOUT['y'] = m(T['x'])\nOUT['ones'] = m(T['ones'])\nOUT['hidden'] = getattr(m, '0')(T['x'])\nOUT['w'] = m.state_dict()['1.weight']`,
    { x, ones },
  );
  tg.noGrad(() => {
    assertClose(assert, net.call(x), py.y, 1e-5, 'forward');
    assertClose(assert, net.call(ones), py.ones, 1e-5, 'forward on ones(1000)');
    assertClose(assert, net.submodule('0').call(x), py.hidden, 1e-5, 'the inner Sequential alone');
  });
  assertClose(assert, net.getParameter('1.weight'), py.w, 0, '1.weight');
});

test('the TorchSharp scripted MyModule loads with its parameter and Linear submodule and matches torch.jit.load', { skip: skip }, async () => {
  const m = await tg.io.loadTorchScript(MYMODULE);
  assert.match(m.typeName, /MyModule$/);
  assert.deepStrictEqual(m.namedParameters().map(([n, p]) => [n, p.shape]), [
    ['weight', [2, 6]],
    ['linear.weight', [6, 2]],
    ['linear.bias', [6]],
  ]);
  assert.match(m.code, /mv/);
  const ones = tg.ones([6]);
  const x = tg.tensor([0.5, -1, 2, 0, 1.5, -0.25]);
  const py = runTorch(`m = torch.jit.load(${JSON.stringify(MYMODULE)})\nOUT['ones'] = m(T['ones'])\nOUT['x'] = m(T['x'])\nOUT['lin'] = m.linear(T['x'][:2])`, { ones, x });
  tg.noGrad(() => {
    assertClose(assert, m.call(ones), py.ones, 1e-5, 'forward on ones(6)');
    assertClose(assert, m.call(x), py.x, 1e-5, 'forward');
    assertClose(assert, m.submodule('linear').call(x.slice(0, 0, 2)), py.lin, 1e-5, 'linear alone');
  });
});

test('a file cut short is refused with a TorchError naming it', async () => {
  const bytes = fs.readFileSync(MYMODULE);
  for (const keep of [0, 10, bytes.length >> 1, bytes.length - 30, bytes.length - 1]) {
    const f = file(`cut-${keep}.pt`);
    fs.writeFileSync(f, bytes.subarray(0, keep));
    await assertRefused(f);
  }
});

test('corrupted archives are refused (or load) without ever crashing the process', async () => {
  const bytes = fs.readFileSync(MYMODULE);
  // The central directory, the (deflated) TorchScript source, the pickled module data: each damaged on its own.
  const localHeader = bytes.indexOf(Buffer.from('foo/data.pkl')) - 30;
  const pickleStart = localHeader + 30 + bytes.readUInt16LE(localHeader + 26) + bytes.readUInt16LE(localHeader + 28);
  const cases = {
    'directory entry name': [bytes.lastIndexOf(Buffer.from('foo/constants.pkl')) + 4, 'XXXX'],
    'source': [bytes.indexOf(Buffer.from('foo/code/__torch__.py')) + 60, 'XXXXXXXX'],
    'pickle opcode': [pickleStart + 2, '\xff\xfe\x00\x01'],
    'pickle class name': [pickleStart + 20, '\xff\xfe\x00\x01'],
  };
  for (const [name, [at, text]] of Object.entries(cases)) {
    assert.ok(at > 0, name);
    const damaged = Buffer.from(bytes);
    Buffer.from(text, 'latin1').copy(damaged, at);
    const f = file(`bad-${name}.pt`);
    fs.writeFileSync(f, damaged);
    await assertRefused(f);
  }
  // One byte turns a memo read into a memo write at slot 671246337: LibTorch would fill a table that long (gigabytes).
  assert.strictEqual(bytes[pickleStart + 293], 0x68);
  const memo = Buffer.from(bytes);
  memo[pickleStart + 293] = 0x72;
  fs.writeFileSync(file('bad-memo.pt'), memo);
  await assertRefused(file('bad-memo.pt'), /data\.pkl.*memo slot 671246337/);
  const rss = process.memoryUsage().rss;
  assert.ok(rss < 4 * 2 ** 30, `rss ${rss}`);
  // Seeded random damage: whatever LibTorch makes of it, the answer is a module or a TorchError, never an abort.
  let seed = 12345;
  const rand = (n) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  let refused = 0;
  for (let i = 0; i < 60; i++) {
    const damaged = Buffer.from(bytes);
    for (let k = 0, n = 1 + rand(4); k < n; k++) damaged[rand(damaged.length)] = rand(256);
    const f = file(`fuzz-${i}.pt`);
    fs.writeFileSync(f, damaged);
    try {
      const m = await tg.io.loadTorchScript(f);
      assert.ok(m instanceof tg.io.ScriptModule);
    } catch (e) {
      assert.ok(e instanceof tg.TorchError, `mutation ${i}: ${e && e.stack}`);
      assert.ok(e.message.includes(f));
      refused++;
    }
  }
  assert.ok(refused > 0);
});

test('files that are not TorchScript archives are refused with a message saying what they are', { skip }, async () => {
  const plain = file('plain.zip');
  execFileSync(PYTHON, ['-c', `import zipfile\nwith zipfile.ZipFile(${JSON.stringify(plain)}, 'w') as z: z.writestr('archive/hello.txt', 'hi')`]);
  await assertRefused(plain, /without TorchScript entries/);
  const saved = file('saved.pt');
  execFileSync(PYTHON, ['-c', `import torch\ntorch.save({'w': torch.ones(2)}, ${JSON.stringify(saved)})`]);
  await assertRefused(saved, /torch\.save file.*tg\.io\.load/);
  const text = file('notes.pt');
  fs.writeFileSync(text, 'not a model at all\n');
  await assertRefused(text, /not a zip/);
  await assertRefused(file('missing.pt'), /cannot read it/);
  await assertRefused(dir, /not a regular file/);
  await assert.rejects(tg.io.loadTorchScript(''), TypeError);
  await assert.rejects(tg.io.loadTorchScript(42), TypeError);
});

test('a ScriptModule cannot be constructed from JavaScript, and a save to a missing folder fails cleanly', async () => {
  const native = require('../dist/native').binding;
  assert.throws(() => new native.ScriptModule(), TypeError);
  const m = await tg.io.loadTorchScript(MYMODULE);
  const target = path.join(dir, 'no-such-folder', 'm.pt');
  await assert.rejects(m.save(target), (e) => e instanceof tg.TorchError && e.message.includes(target) && e.path === target);
  assert.throws(() => m.registerParameter('extra', tg.zeros([1])), (e) => e instanceof tg.TorchError && /not a parameter or buffer/.test(e.message));
});
