// Pickles for the fuzzers: split a pickle into opcodes, mutate at opcode level (insert, delete, duplicate, stack
// effects, memo GET/PUT indices, integer and length arguments, nesting, GLOBAL names), and write it back.
'use strict';

// Argument kinds: 0 none, 'line' to newline, 'line2' two lines, n fixed bytes, ['len', n] n-byte length then payload.
const ARGS = {
  '(': 0, '.': 0, 0x30: 0, 0x31: 0, 0x32: 0, F: 'line', I: 'line', J: 4, K: 1, L: 'line', M: 2, N: 0, P: 'line', Q: 0, R: 0,
  S: 'line', T: ['len', 4], U: ['len', 1], V: 'line', X: ['len', 4], a: 0, b: 0, c: 'line2', d: 0, '}': 0, e: 0, g: 'line',
  h: 1, i: 'line2', j: 4, l: 0, ']': 0, o: 0, p: 'line', q: 1, r: 4, s: 0, t: 0, ')': 0, u: 0, G: 8, B: ['len', 4], C: ['len', 1],
  0x80: 1, 0x81: 0, 0x82: 1, 0x83: 2, 0x84: 4, 0x85: 0, 0x86: 0, 0x87: 0, 0x88: 0, 0x89: 0, 0x8a: ['len', 1], 0x8b: ['len', 4],
  0x8c: ['len', 1], 0x8d: ['len', 8], 0x8e: ['len', 8], 0x8f: 0, 0x90: 0, 0x91: 0, 0x92: 0, 0x93: 0, 0x94: 0, 0x95: 8,
  0x96: ['len', 8], 0x97: 0, 0x98: 0,
};
const argOf = (op) => ARGS[op] ?? ARGS[String.fromCharCode(op)];

/** The opcodes of a pickle as [{ op, arg: Buffer }], stopping at the first unknown opcode (the rest is one raw tail). */
function disassemble(buf) {
  const ops = [];
  let p = 0;
  while (p < buf.length) {
    const op = buf[p];
    const kind = argOf(op);
    let end;
    if (kind === undefined) break;
    if (kind === 0) end = p + 1;
    else if (typeof kind === 'number') end = p + 1 + kind;
    else if (kind === 'line' || kind === 'line2') {
      end = buf.indexOf(0x0a, p + 1) + 1;
      if (kind === 'line2' && end > 0) end = buf.indexOf(0x0a, end) + 1;
      if (end <= 0) break;
    } else {
      const n = kind[1];
      if (p + 1 + n > buf.length) break;
      const len = n === 1 ? buf[p + 1] : n === 4 ? buf.readUInt32LE(p + 1) : Number(buf.readBigUInt64LE(p + 1));
      end = p + 1 + n + len;
    }
    if (end > buf.length) break;
    ops.push({ op, arg: buf.subarray(p + 1, end) });
    p = end;
  }
  return { ops, tail: buf.subarray(p) };
}

/** The bytes of an opcode list (and an unparsed tail). */
function assemble({ ops, tail }) {
  return Buffer.concat([...ops.flatMap((o) => [Buffer.from([o.op]), o.arg]), tail ?? Buffer.alloc(0)]);
}

const u32 = (v) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};
const lenArg = (bytes, n = 4) => Buffer.concat([n === 1 ? Buffer.from([bytes.length & 0xff]) : u32(bytes.length), bytes]);

/** Opcodes worth inserting: stack effects that break a careless VM, memo access, big integers, calls. */
function randomOp(t, memoSize) {
  const s = (c) => c.charCodeAt(0);
  return t.pick([
    () => ({ op: s('h'), arg: Buffer.from([t.pick([0, 1, 255, memoSize, memoSize + 1].map((x) => x & 0xff))]) }),
    () => ({ op: s('j'), arg: u32(t.pick([0, memoSize, memoSize + 1, 0x7fffffff, 0xffffffff])) }),
    () => ({ op: s('q'), arg: Buffer.from([t.int(256)]) }),
    () => ({ op: s('r'), arg: u32(t.pick([0, 1, 0x7fffffff, 0xffffffff])) }),
    () => ({ op: 0x94, arg: Buffer.alloc(0) }),
    () => ({ op: t.pick([0x85, 0x86, 0x87, s('t'), s('R'), s('b'), s('Q'), 0x81, s('s'), s('u'), s('a'), s('e'), 0x30, 0x31, 0x32, s('('), s('.'), 0x93, 0x92, 0x90, 0x91]), arg: Buffer.alloc(0) }),
    () => ({ op: s('J'), arg: u32(t.pick([0x7fffffff, 0x80000000, 0xffffffff, 0, 1])) }),
    () => ({ op: s('K'), arg: Buffer.from([t.int(256)]) }),
    () => ({ op: 0x8a, arg: lenArg(Buffer.alloc(t.pick([0, 1, 8, 9, 255]), 0xff), 1) }),
    () => ({ op: 0x8b, arg: lenArg(Buffer.alloc(t.pick([0, 9, 4096, 200000]), 0x7f)) }),
    () => ({ op: s('X'), arg: lenArg(Buffer.from(t.pick(['', 'storage', 'cpu', '0', 'FloatStorage', '\u00ff\ud7ff']))) }),
    () => ({ op: s('c'), arg: Buffer.from(t.pick(['os\nsystem\n', 'builtins\neval\n', 'torch._utils\n_rebuild_tensor_v2\n', 'torch._utils\n_rebuild_parameter\n', 'collections\nOrderedDict\n', 'torch\nFloatStorage\n', 'torch\nLongStorage\n', '__builtin__\nset\n', 'torch._utils\n_rebuild_sparse_tensor\n'])) }),
    () => ({ op: s('G'), arg: Buffer.from([0x7f, 0xf0, 0, 0, 0, 0, 0, 0]) }),
    () => ({ op: s('N'), arg: Buffer.alloc(0) }),
    () => ({ op: s(']'), arg: Buffer.alloc(0) }),
    () => ({ op: s('}'), arg: Buffer.alloc(0) }),
    () => ({ op: s(')'), arg: Buffer.alloc(0) }),
  ])();
}

/** New integer argument for an opcode that carries one (indices, sizes, shapes and strides live in these). */
function bumpInt(o, t) {
  const code = String.fromCharCode(o.op);
  if (code === 'K' || code === 'h' || code === 'q') o.arg = Buffer.from([t.pick([0, 1, 255, (o.arg[0] + 1) & 0xff, (o.arg[0] - 1) & 0xff])]);
  else if (code === 'M') o.arg = Buffer.from([t.int(256), t.int(256)]);
  else if (code === 'J' || code === 'j' || code === 'r') o.arg = u32(t.pick([0, 1, 0x7fffffff, 0x80000000, 0xffffffff, o.arg.readUInt32LE(0) + 1, o.arg.readUInt32LE(0) * 2]));
  else if (o.op === 0x8a) o.arg = lenArg(Buffer.from(t.pick([[], [0xff], [0, 0, 0, 0, 0, 0, 0, 0x80], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0], [1, 0, 0, 0, 0, 0, 0, 0, 1]])), 1);
  else if (o.arg.length && (o.op === 0x8c || code === 'X' || code === 'U' || code === 'C' || code === 'B' || code === 'T')) {
    // a length prefix that lies about its payload
    const n = argOf(o.op)[1];
    const a = Buffer.from(o.arg);
    if (n === 1) a[0] = t.pick([0, 255, a[0] + 1, a[0] - 1]) & 0xff;
    else a.writeUInt32LE(t.pick([0, 0xffffffff, a.readUInt32LE(0) + 1]) >>> 0, 0);
    o.arg = a;
  } else return false;
  return true;
}

/** One opcode-level mutant of a pickle. */
function mutatePickle(buf, t) {
  const d = disassemble(buf);
  const ops = d.ops;
  if (!ops.length) return buf;
  const memo = ops.filter((o) => o.op === 0x94 || o.op === 0x71 || o.op === 0x72).length;
  for (let k = 1 + t.int(3); k > 0 && ops.length; k--) {
    const i = t.int(ops.length);
    switch (t.int(9)) {
      case 0: ops.splice(t.int(ops.length), 1); break;
      case 1: ops.splice(i, 0, { ...ops[i] }); break; // duplicate (a second PUT, a second REDUCE, a second BUILD, ...)
      case 2: ops.splice(t.int(ops.length + 1), 0, randomOp(t, memo)); break;
      case 3: { // swap two opcodes
        const j = t.int(ops.length);
        [ops[i], ops[j]] = [ops[j], ops[i]];
        break;
      }
      case 4: { // change an integer, memo index or length prefix somewhere
        const ints = ops.filter((o) => 'KhqMJjr'.includes(String.fromCharCode(o.op)) || o.op === 0x8a || o.op === 0x8c || o.op === 0x58);
        if (ints.length) bumpInt(t.pick(ints), t);
        break;
      }
      case 5: { // nesting: repeat a run of opcodes (shared references, deep structures, self-reference through the memo)
        const a = t.int(ops.length);
        const run = ops.slice(a, a + 1 + t.int(8));
        const times = t.pick([2, 16, 200, 2000]);
        ops.splice(a, 0, ...Array.from({ length: times }, () => run).flat().map((o) => ({ ...o })));
        break;
      }
      case 6: { // a GET of a memo entry where its PUT stood: an object that contains itself
        const puts = ops.map((o, j) => [o, j]).filter(([o]) => o.op === 0x71 || o.op === 0x72);
        if (puts.length) {
          const [o, j] = t.pick(puts);
          ops.splice(j + 1 + t.int(4), 0, { op: o.op === 0x71 ? 0x68 : 0x6a, arg: Buffer.from(o.arg) });
        }
        break;
      }
      case 7: // a STOP early, or none at all
        if (t.chance(0.5)) ops.splice(t.int(ops.length), 0, { op: 0x2e, arg: Buffer.alloc(0) });
        else if (ops[ops.length - 1]?.op === 0x2e) ops.pop();
        break;
      default: // a string argument (GLOBAL, storage keys, device names) rewritten
        for (const o of ops.filter((x) => x.op === 0x58 || x.op === 0x8c || x.op === 0x63).slice(0, 1 + t.int(4))) {
          if (t.chance(0.5)) continue;
          const s = t.pick(['', '0', '1', '99999', 'cuda', 'meta', 'cpu\u0000', '../x', 'FloatStorage', 'HalfStorage', '__builtin__\nset\n', 'torch\nDoubleStorage\n']);
          o.arg = o.op === 0x63 ? Buffer.from(s.includes('\n') ? s : 'torch\nFloatStorage\n') : lenArg(Buffer.from(s), o.op === 0x8c ? 1 : 4);
        }
    }
  }
  return assemble({ ops, tail: d.tail });
}

module.exports = { disassemble, assemble, mutatePickle };
