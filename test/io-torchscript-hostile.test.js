'use strict';
// Hostile TorchScript archives: real torch.jit.save output from /usr/bin/python3, then byte surgery on data.pkl,
// constants.pkl and the storage records (rebuilt with the test zip writer). LibTorch's unpickler trusts all of these;
// each must be refused with a coded TorchError before it runs. The loads run in a child process, so that a segfault
// fails the test instead of killing the runner.
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
const noPython = pythonHas('torch') ? false : `${PYTHON} with torch is not available`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-ts-hostile-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// A scripted Linear(3, 2) (weight and bias in data/), and a frozen module whose buffer became a constant (constants/).
const PY = `
import base64, json, sys, zipfile, torch
d = sys.argv[1]
torch.jit.save(torch.jit.script(torch.nn.Linear(3, 2)), d + '/lin.pt')
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer('b', torch.arange(1., 7.).reshape(2, 3))
    def forward(self, x):
        return x * self.b
torch.jit.save(torch.jit.freeze(torch.jit.script(M().eval())), d + '/const.pt')
out = {}
for f in ('lin', 'const'):
    z = zipfile.ZipFile(d + '/' + f + '.pt')
    out[f] = [[i.filename, base64.b64encode(z.read(i.filename)).decode()] for i in z.infolist()]
json.dump(out, open(d + '/entries.json', 'w'))
`;
let ENTRIES = {};
if (!noPython) {
  // From a file: TorchScript reads the class's source, which `python -c` has none of.
  fs.writeFileSync(path.join(tmp, 'gen.py'), PY);
  execFileSync(PYTHON, [path.join(tmp, 'gen.py'), tmp], { stdio: 'inherit' });
  ENTRIES = JSON.parse(fs.readFileSync(path.join(tmp, 'entries.json'), 'utf8'));
}

let counter = 0;
/** The archive `kind` with `edit(name, bytes)` applied to each entry (return undefined to drop it). */
function surgery(kind, edit) {
  const entries = [];
  for (const [name, b64] of ENTRIES[kind]) {
    const bytes = edit(name, Buffer.from(b64, 'base64'));
    if (bytes !== undefined) entries.push([name, bytes]);
  }
  const f = path.join(tmp, `${counter++}-${kind}.pt`);
  fs.writeFileSync(f, zipOf(entries));
  return f;
}
const replacePkl = (kind, which, bytes) => surgery(kind, (n, b) => (n.endsWith(`/${which}`) ? bytes : b));
/** Replaces the first occurrence of `from` (which must occur) in entry `which`. */
const patch = (kind, which, from, to) =>
  surgery(kind, (n, b) => {
    if (!n.endsWith(`/${which}`)) return b;
    const i = b.indexOf(from);
    assert.ok(i >= 0, `pattern ${from.toString('hex')} not in ${n}`);
    return Buffer.concat([b.subarray(0, i), to, b.subarray(i + from.length)]);
  });

/**
 * Loads each file in one child, with `api` ('loadTorchScript', or 'load' for the weights alone); after a load that
 * succeeds, every tensor is read (a view past its storage would read memory it does not own, or crash). Returns
 * per-file outcomes; a crash fails the test with the last file started.
 */
function loadAll(files, api = 'loadTorchScript') {
  const r = runChild(
    `const out = [];
     for (const f of ${JSON.stringify(files)}) {
       process.stderr.write('loading ' + f + '\\n');
       try {
         const m = await tg.io.${api}(f);
         for (const t of Object.values(m instanceof tg.nn.Module ? m.stateDict() : m)) t.contiguous().dataSync();
         out.push({ loaded: true });
       } catch (e) { out.push({ name: e.name, code: e.code, message: e.message }); }
     }
     report(out);`,
    { timeoutMs: 60000 },
  );
  assert.ok(!r.timedOut, 'the loads hung');
  assert.strictEqual(r.status, 0, `the child died (${r.signal}) while ${r.stderr.trim().split('\n').pop()}`);
  return r.result;
}

/** tg.io.load reads the weights without LibTorch: every hostile file is a coded TorchError there too. */
function assertWeightsRefused(files, labels) {
  loadAll(files, 'load').forEach((o, i) => {
    assert.strictEqual(o.name, 'TorchError', `io.load, ${labels[i]}: ${JSON.stringify(o)}`);
    assert.match(o.code, /^ERR_(TORCHSCRIPT|PICKLE_\w+|PYTORCH_\w+|ZIP_\w+)$/, `io.load, ${labels[i]}: ${o.message}`);
  });
}

function assertRefused(outcomes, labels, patterns) {
  outcomes.forEach((o, i) => {
    assert.strictEqual(o.name, 'TorchError', `${labels[i]}: ${JSON.stringify(o)}`);
    assert.strictEqual(o.code, 'ERR_TORCHSCRIPT', `${labels[i]}: ${o.message}`);
    assert.match(o.message, /damaged archive/, labels[i]);
    if (patterns) assert.match(o.message, patterns[i], labels[i]);
  });
}

const OPS = { '\\x86 TUPLE2': 0x86, '\\x87 TUPLE3': 0x87, '\\x85 TUPLE1': 0x85, 'R REDUCE': 0x52, 'b BUILD': 0x62, 'Q BINPERSID': 0x51, '\\x81 NEWOBJ': 0x81 };

test('the unmodified archives, rebuilt by the test zip writer, still load (the checks refuse only what is wrong)', { skip: noPython }, () => {
  const files = [surgery('lin', (n, b) => b), surgery('const', (n, b) => b)];
  assert.deepStrictEqual(loadAll(files), [{ loaded: true }, { loaded: true }]);
  assert.deepStrictEqual(loadAll(files, 'load'), [{ loaded: true }, { loaded: true }]);
});

test('data.pkl and constants.pkl popping from an empty or too-short stack are refused, never run', { skip: noPython }, () => {
  const files = [];
  const labels = [];
  for (const which of ['data.pkl', 'constants.pkl']) {
    for (const [label, op] of Object.entries(OPS)) {
      // An empty stack, then one item short of what the opcode pops (a BININT1 0 in front).
      files.push(replacePkl(which === 'data.pkl' ? 'lin' : 'const', which, Buffer.from([0x80, 0x02, op, 0x2e])));
      labels.push(`${which}: ${label} on an empty stack`);
      const short = { 0x86: 1, 0x87: 2, 0x85: 0, 0x52: 1, 0x62: 1, 0x51: 0, 0x81: 1 }[op];
      if (short > 0) {
        files.push(replacePkl(which === 'data.pkl' ? 'lin' : 'const', which, Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.alloc(short * 2).fill(Buffer.from([0x4b, 0])), Buffer.from([op, 0x2e])])));
        labels.push(`${which}: ${label} on ${short} item(s)`);
      }
    }
    // Popping across a MARK: the items below it are not the opcode's.
    files.push(replacePkl(which === 'data.pkl' ? 'lin' : 'const', which, Buffer.from([0x80, 0x02, 0x4b, 0, 0x4b, 0, 0x28, 0x86, 0x2e])));
    labels.push(`${which}: TUPLE2 across a MARK`);
    files.push(replacePkl(which === 'data.pkl' ? 'lin' : 'const', which, Buffer.from([0x80, 0x02, 0x74, 0x2e])));
    labels.push(`${which}: TUPLE without a MARK`);
    files.push(replacePkl(which === 'data.pkl' ? 'lin' : 'const', which, Buffer.from([0x80, 0x02, 0x28, 0x4b, 0, 0x4b, 0, 0x75, 0x2e])));
    labels.push(`${which}: SETITEMS with nothing under its MARK`);
  }
  assertRefused(loadAll(files), labels, labels.map(() => /empty stack|across a MARK|no MARK/));
  // constants.pkl is never read for the weights: only the data.pkl cases must be refused there.
  const dataOnly = labels.map((l, i) => [l, files[i]]).filter(([l]) => l.startsWith('data.pkl'));
  assertWeightsRefused(dataOnly.map((c) => c[1]), dataOnly.map((c) => c[0]));
});

// The weight of Linear(3, 2) as torch.jit.save writes it: offset 0, size (2, 3), stride (3, 1), over 6 floats.
const int32 = (v) => Buffer.concat([Buffer.from([0x4a]), Buffer.from(new Int32Array([v]).buffer)]);
const GEOMETRY = Buffer.from([0x4b, 0, 0x28, 0x4b, 2, 0x4b, 3, 0x74, 0x28, 0x4b, 3, 0x4b, 1, 0x74]);
const geometry = (offset, size, stride) => Buffer.concat([offset, Buffer.from([0x28]), ...size, Buffer.from([0x74, 0x28]), ...stride, Buffer.from([0x74])]);
const k = (v) => Buffer.from([0x4b, v]);

test('tensor records that reach past their storage, or claim more than their record holds, are refused', { skip: noPython }, () => {
  const cases = [
    ['a storage offset near 2^31', patch('lin', 'data.pkl', GEOMETRY, geometry(int32(2 ** 31 - 1), [k(2), k(3)], [k(3), k(1)])), /offset 2147483647.*reaches past its storage/],
    ['a storage offset one past what fits', patch('lin', 'data.pkl', GEOMETRY, geometry(k(1), [k(2), k(3)], [k(3), k(1)])), /offset 1, .*reaches past/],
    ['strides [2147483647, 1]', patch('lin', 'data.pkl', GEOMETRY, geometry(k(0), [k(2), k(3)], [int32(2147483647), k(1)])), /stride \[2147483647,1\].*reaches past/],
    ['a negative stride', patch('lin', 'data.pkl', GEOMETRY, geometry(k(0), [k(2), k(3)], [k(3), int32(-1)])), /stride is -1/],
    ['a negative size', patch('lin', 'data.pkl', GEOMETRY, geometry(k(0), [int32(-2), k(3)], [k(3), k(1)])), /size is -2/],
    ['an offset of 2^70', patch('lin', 'data.pkl', GEOMETRY, geometry(Buffer.from([0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0x40]), [k(2), k(3)], [k(3), k(1)])), /offset is 1180591620717411303424/],
    ['more sizes than strides', patch('lin', 'data.pkl', GEOMETRY, geometry(k(0), [k(2), k(3)], [k(3)])), /2 sizes and 1 strides/],
    // The storage's declared element count (6) raised to 2^30: its record holds 24 bytes.
    ['a storage declaring 2^30 elements', patch('lin', 'data.pkl', Buffer.from([0x4b, 6, 0x74, 0x51]), Buffer.concat([int32(2 ** 30), Buffer.from([0x74, 0x51])])), /declares 1073741824 elements of 4 bytes, its record holds 24/],
    ['a storage record cut to 8 bytes', surgery('lin', (n, b) => (n.endsWith('/data/0') ? b.subarray(0, 8) : b)), /its record holds 8 bytes/],
    ['a missing storage record', surgery('lin', (n, b) => (n.endsWith('/data/0') ? undefined : b)), /has no record/],
    ['a constant tensor reaching past its storage', patch('const', 'constants.pkl', Buffer.from([0x4b, 0, 0x28, 0x4b, 2, 0x4b, 3, 0x74]), Buffer.from([0x4b, 0, 0x28, 0x4b, 3, 0x4b, 3, 0x74])), /size \[3,3\].*reaches past/],
    ['a constant storage record cut short', surgery('const', (n, b) => (n.endsWith('/constants/0') ? b.subarray(0, 4) : b)), /its record holds 4 bytes/],
  ];
  assertRefused(loadAll(cases.map((c) => c[1])), cases.map((c) => c[0]), cases.map((c) => c[2]));
  const weights = cases.filter((c) => !c[0].startsWith('a constant'));
  assertWeightsRefused(weights.map((c) => c[1]), weights.map((c) => c[0]));
});

// Class-body statements LibTorch's importer reads as typed constants: without a type it crashed (a segfault in
// ScriptTypeParser::parseClassConstant on 1.13). Each must be refused before LibTorch compiles the code.
const codeEdit = (from, to) => surgery('lin', (n, b) => (/code\/.*linear\.py$/.test(n) ? Buffer.from(b.toString('utf8').replace(from, to)) : b));

test('class bodies with untyped assignments are refused before the TorchScript compiler sees them', { skip: noPython }, () => {
  const cases = [
    ['__parameters__ renamed by one byte', codeEdit('__parameters__', '__qarameters__')],
    ['a new untyped attribute', codeEdit('  __buffers__ = []', '  __buffers__ = []\n  scale = 3')],
    ['an untyped attribute in parentheses', codeEdit('  __buffers__ = []', '  __buffers__ = []\n  (scale) = 3')],
    ['an untyped attribute after a semicolon', codeEdit('  __buffers__ = []', '  __buffers__ = []; scale = 3')],
    ['an untyped attribute over a backslash continuation', codeEdit('  __buffers__ = []', '  __buffers__ = []\n  scale \\\n = 3')],
    ['a class body indented by four spaces', codeEdit(/\n {2}(?=\S)/g, '\n    ')],
  ];
  cases[5][1] = surgery('lin', (n, b) => (/code\/.*linear\.py$/.test(n) ? Buffer.from(b.toString('utf8').replace(/^ {2}__parameters__/m, '  __qarameters__').replace(/\n {2}(?=\S)/g, '\n    ')) : b));
  const out = loadAll(cases.map((c) => c[1]));
  assertRefused(out, cases.map((c) => c[0]), cases.map(() => /class 'Linear' assigns '(__qarameters__|scale)' without a type/));
  // The weights alone never go through the compiler; the same check refuses these code records there too.
  assertWeightsRefused(cases.map((c) => c[1]), cases.map((c) => c[0]));
});

test('tg.io.load reads the weights of an archive whose code does not compile: nothing is compiled for them', { skip: noPython }, () => {
  const broken = codeEdit('return', 'return +* ');
  const [script] = loadAll([broken]);
  assert.strictEqual(script.code, 'ERR_TORCHSCRIPT', JSON.stringify(script));
  assert.deepStrictEqual(loadAll([broken], 'load'), [{ loaded: true }]);
});
