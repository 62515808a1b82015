'use strict';
// Hostile torch.save pickles: shared and self-referring objects, tied weights, huge integers, deep nesting and large
// containers. Each loads in time and memory linear in the file, or fails with a coded TorchError; each runs in a child
// process so that a hang or a runaway allocation fails its test instead of the runner.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { zipOf } = require('./helpers/zipwriter');
const { runChild } = require('./helpers/child-run');
const { pythonHas } = require('./helpers/foreign');

const PYTHON = process.env.TORCHGRAFT_PYTHON || '/usr/bin/python3';
const noPython = pythonHas('torch, numpy') ? false : `${PYTHON} with torch and numpy is not available`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-pickle-hostile-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Python writes each hostile file with torch.save; the views' values are its own golden answers.
const PY = `
import json, sys, torch
d = sys.argv[1]
a = []; a.append(a); a.append(a)
torch.save(a, d + '/self_twice.pt')
for n in (24, 40):
    c = []
    for _ in range(n): c = [c, c]
    torch.save(c, d + f'/nest{n}.pt')
c = torch.zeros(2)
for _ in range(40): c = [c, c]
torch.save({'x': c}, d + '/nest40_tensor.pt')
s = 'x' * 1000
for _ in range(30): s = [s, s]
torch.save({'w': torch.ones(2), 'cfg': s}, d + '/shared_meta.pt')
w = torch.zeros(512, 1024)
torch.save({f'w{i}': w for i in range(400)}, d + '/tied.pt')
e = torch.ones(1).expand(2048, 2048)
torch.save({f'e{i}': e for i in range(400)}, d + '/tied_expanded.pt')
base = torch.arange(20.).reshape(4, 5)
ints = torch.arange(12).reshape(3, 4)
views = {'a': base, 'b': base[1:, 1:3], 'c': base.t(), 'd': base[:, 2], 'e': base[3], 'f': base[::2, ::3],
         'g': base[2:3, 4:], 'h': ints[:, 1:], 'i': ints.t()[1:], 'j': base[:, :1].expand(4, 3), 'k': base.unsqueeze(1)[1:3]}
torch.save(views, d + '/views.pt')
json.dump({k: {'shape': list(v.shape), 'values': v.flatten().tolist()} for k, v in views.items()}, open(d + '/views.json', 'w'))
torch.save({'n': 1 << (8 * 200000 - 9)}, d + '/long4.pt')
torch.save({'w': torch.ones(1), 'big': 2 ** 100, 'neg': -(2 ** 70), 'mid': 2 ** 8000}, d + '/longs.pt')
`;
if (!noPython) execFileSync(PYTHON, ['-c', PY, tmp], { stdio: 'inherit' });
const file = (name) => path.join(tmp, name);

/** Loads `f` in a child; the child reports the keys it got (or the error thrown) and how long the load took. */
function loadInChild(f, extra = '', opts = {}) {
  return runChild(
    `const t0 = Date.now(); let w;
     try { w = await tg.io.loadWithMetadata(${JSON.stringify(f)}); } catch (e) { report({ ms: Date.now() - t0, thrown: { name: e.name, code: e.code, message: e.message } }); return; }
     const ms = Date.now() - t0;
     ${extra}
     report({ ms, names: w.names.length, metadata: w.metadata });`,
    { timeoutMs: 20000, ...opts },
  );
}

function assertCoded(r, code, pattern) {
  assert.ok(!r.timedOut, `the load hung (killed after ${r.ms} ms)`);
  assert.strictEqual(r.status, 0, `child exited ${r.status} (${r.signal}): ${r.stderr.slice(-2000)}`);
  assert.ok(r.result && r.result.thrown, `expected a TorchError ${code}, got ${JSON.stringify(r.result).slice(0, 300)}`);
  assert.strictEqual(r.result.thrown.name, 'TorchError', r.result.thrown.message);
  assert.strictEqual(r.result.thrown.code, code, r.result.thrown.message);
  if (pattern) assert.match(r.result.thrown.message, pattern);
}

test('a 431-byte list holding itself twice is refused as a cycle at once', { skip: noPython }, () => {
  assertCoded(loadInChild(file('self_twice.pt')), 'ERR_PICKLE_CYCLE', /refers to itself/);
});

test('lists holding their child twice, 24 and 40 levels deep, are refused quickly instead of expanded', { skip: noPython }, () => {
  for (const n of [24, 40]) {
    const r = loadInChild(file(`nest${n}.pt`));
    assertCoded(r, 'ERR_PICKLE_LIMIT', /shared/);
    assert.ok(r.result.ms < 3000, `${n} levels took ${r.result.ms} ms`);
  }
  assertCoded(loadInChild(file('nest40_tensor.pt')), 'ERR_PICKLE_LIMIT', /shared/);
  assertCoded(loadInChild(file('shared_meta.pt')), 'ERR_PICKLE_LIMIT', /shared/);
});

test('a tensor saved under 400 names loads as 400 views of one storage, as in PyTorch', { skip: noPython }, () => {
  const r = loadInChild(file('tied.pt'), `
    const bytes = tg.memory().bytes;
    w.tensors.w0.fill_(7);
    const other = w.tensors.w399.dataSync();
    report({ names: w.names.length, bytes, ms, sevens: other.every((x) => x === 7), shape: w.tensors.w399.shape });
    return;`);
  assert.ok(!r.timedOut && r.status === 0, `child: ${r.status} ${r.signal} ${r.stderr.slice(-2000)}`);
  assert.ok(!r.result.thrown, JSON.stringify(r.result));
  assert.strictEqual(r.result.names, 400);
  assert.deepStrictEqual(r.result.shape, [512, 1024]);
  // One 2 MiB storage, not 400 copies of it.
  assert.ok(r.result.bytes <= 2 * 2 ** 20 + 65536, `tensors hold ${r.result.bytes} bytes`);
  assert.ok(r.result.sevens, 'writing w0 in place did not change w399: they are copies, not views of one storage');
});

test('a 16 MB broadcast tensor (a 4-byte storage, 17 KB on disk) under 400 names stays 400 views of 4 bytes', { skip: noPython }, () => {
  assert.ok(fs.statSync(file('tied_expanded.pt')).size < 64 * 1024);
  const r = loadInChild(file('tied_expanded.pt'), `
    const bytes = tg.memory().bytes;
    const sum = w.tensors.e399.sum().item();
    report({ names: w.names.length, bytes, ms, sum, shape: w.tensors.e0.shape });
    return;`);
  assert.ok(!r.timedOut && r.status === 0, `child: ${r.status} ${r.signal} ${r.stderr.slice(-2000)}`);
  assert.ok(!r.result.thrown, JSON.stringify(r.result));
  assert.strictEqual(r.result.names, 400);
  assert.deepStrictEqual(r.result.shape, [2048, 2048]);
  assert.strictEqual(r.result.sum, 2048 * 2048);
  assert.ok(r.result.bytes < 65536, `tensors hold ${r.result.bytes} bytes`);
});

test('views of one storage keep their values, share that storage, and an in-place write shows through', { skip: noPython }, () => {
  const expected = JSON.parse(fs.readFileSync(file('views.json'), 'utf8'));
  const r = loadInChild(file('views.pt'), `
    const got = {};
    for (const n of w.names) got[n] = { shape: w.tensors[n].shape, values: Array.from(w.tensors[n].dataSync(), Number) };
    const bytes = tg.memory().bytes;
    w.tensors.a.fill_(-1);
    const after = Array.from(w.tensors.b.dataSync());
    w.tensors.h.fill_(-1);
    report({ got, bytes, after, afterInts: Array.from(w.tensors.i.dataSync(), Number) });
    return;`);
  assert.ok(!r.timedOut && r.status === 0, `child: ${r.status} ${r.signal} ${r.stderr.slice(-2000)}`);
  assert.ok(!r.result.thrown, JSON.stringify(r.result));
  assert.deepStrictEqual(r.result.got, expected);
  assert.ok(r.result.bytes <= 20 * 4 + 12 * 8, `views hold ${r.result.bytes} bytes, more than their two storages`);
  assert.deepStrictEqual(r.result.after, [-1, -1, -1, -1, -1, -1]);
  assert.deepStrictEqual(r.result.afterInts, [-1, -1, -1, -1, -1, -1, -1, -1, -1]);
});

test('a LONG4 integer of 200 KB is refused at once; integers up to the limit decode exactly', { skip: noPython }, () => {
  const r = loadInChild(file('long4.pt'));
  assertCoded(r, 'ERR_PICKLE_LIMIT', /integer of 200000 bytes/);
  assert.ok(r.result.ms < 1000, `took ${r.result.ms} ms`);
  const ok = loadInChild(file('longs.pt'));
  assert.strictEqual(ok.status, 0, ok.stderr);
  assert.ok(!ok.result.thrown, JSON.stringify(ok.result));
  assert.strictEqual(ok.result.metadata.big, JSON.stringify(String(2n ** 100n)));
  assert.strictEqual(ok.result.metadata.neg, JSON.stringify(String(-(2n ** 70n))));
  assert.strictEqual(ok.result.metadata.mid, JSON.stringify(String(2n ** 8000n)));
});

// Hand-written pickles (protocol 4) for what Python's pickler never writes, inside a torch.save-shaped zip.
const P = {
  proto: Buffer.from([0x80, 0x04]),
  stop: Buffer.from('.'),
  int1: (n) => Buffer.from([0x4b, n]),
  str: (s) => Buffer.concat([Buffer.from([0x8c, Buffer.byteLength(s)]), Buffer.from(s)]),
};
const archive = (pkl) => {
  const f = path.join(tmp, `crafted-${Math.random().toString(36).slice(2)}.pt`);
  fs.writeFileSync(f, zipOf([['archive/data.pkl', pkl]]));
  return f;
};

test('pickle VM: a set of 300000 items, a dict of 200000 keys and 100000 memo reads load in linear time', () => {
  const set = Buffer.concat([P.proto, Buffer.from('}'), P.str('s'), Buffer.from([0x8f, 0x28]), Buffer.concat(Array.from({ length: 300000 }, (_, i) => P.int1(i & 0xff))), Buffer.from([0x90, 0x73]), P.stop]);
  let r = loadInChild(archive(set), 'report({ ms, n: JSON.parse(w.metadata.s).length }); return;');
  assert.strictEqual(r.status, 0, r.stderr);
  assert.ok(!r.result.thrown, JSON.stringify(r.result));
  assert.strictEqual(r.result.n, 300000);
  assert.ok(r.result.ms < 5000, `the set took ${r.result.ms} ms`);
  const keys = [P.proto, Buffer.from('}(')];
  for (let i = 0; i < 200000; i++) keys.push(Buffer.from([0x4a]), Buffer.from(new Int32Array([i]).buffer), P.int1(1));
  r = loadInChild(archive(Buffer.concat([...keys, Buffer.from('u'), P.stop])), 'report({ ms, n: Object.keys(w.metadata).length }); return;');
  assert.strictEqual(r.status, 0, r.stderr);
  assert.ok(!r.result.thrown, JSON.stringify(r.result));
  assert.strictEqual(r.result.n, 200000);
  assert.ok(r.result.ms < 5000, `the dict took ${r.result.ms} ms`);
  // A 100-byte string memoised once and read back 100000 times into a list: 10 MB of JSON, fine.
  const reads = Buffer.concat([P.proto, Buffer.from('}'), P.str('l'), Buffer.from(']('), P.str('y'.repeat(100)), Buffer.from([0x94]), Buffer.concat(Array.from({ length: 99999 }, () => Buffer.from([0x68, 0]))), Buffer.from('es'), P.stop]);
  r = loadInChild(archive(reads), 'report({ ms, n: JSON.parse(w.metadata.l).length }); return;');
  assert.strictEqual(r.status, 0, r.stderr);
  assert.ok(!r.result.thrown, JSON.stringify(r.result));
  assert.strictEqual(r.result.n, 100000);
  assert.ok(r.result.ms < 5000, `the memo reads took ${r.result.ms} ms`);
});

test('pickle VM: a list appended to itself 100000 times is a cycle; lists nested 200000 deep are a coded limit', () => {
  const self = Buffer.concat([P.proto, Buffer.from(']'), Buffer.from([0x94]), Buffer.concat(Array.from({ length: 100000 }, () => Buffer.from([0x68, 0, 0x61]))), P.stop]);
  assertCoded(loadInChild(archive(self)), 'ERR_PICKLE_CYCLE', /refers to itself/);
  const deep = Buffer.concat([P.proto, Buffer.alloc(200000, ']'), Buffer.alloc(199999, 'a'), P.stop]);
  assertCoded(loadInChild(archive(deep)), 'ERR_PICKLE_LIMIT', /deeper/);
  // A GLOBAL whose name line never ends, in front of 10 MB: refused without scanning the rest.
  const noLine = Buffer.concat([P.proto, Buffer.from('ctorch'), Buffer.alloc(10 << 20, 'x'), P.stop]);
  assertCoded(loadInChild(archive(noLine)), 'ERR_PICKLE_CORRUPT', /line missing or too long/);
});
