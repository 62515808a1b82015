// Fuzz targets for NumPy: the .npy header dict (descr, shape, fortran_order, keys), its version and length fields,
// and the data after it; .npz adds the zip's members and structure.
'use strict';
const { readZip, writeZip, mutateMembers, mutateLayout } = require('../zip');

const DESCRS = ['<f4', '>f4', '|b1', '<u2', '>u4', '<f2', '>f8', '<i8', '|u1', '|i1', '<c8', '|O', '<U10', '|V8', '<M8', '<f16', '=f4', 'f4', '<f4 ', '<f0', '<f99999999999', '', '>b1'];

/** An .npy buffer's parts: version, header text and data. */
function parseNpy(buf) {
  const major = buf[6];
  const lenBytes = major === 1 ? 2 : 4;
  const n = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  return { major, header: buf.toString('latin1', 8 + lenBytes, 8 + lenBytes + n), data: buf.subarray(8 + lenBytes + n) };
}

/** The header dict rewritten field by field (text level, so keys can repeat and values can be any literal). */
function mutateHeader(h, t) {
  const descr = /'descr':\s*('[^']*'|\[[^\]]*\])/.exec(h)?.[1] ?? "'<f4'";
  const shape = /'shape':\s*(\([^)]*\))/.exec(h)?.[1] ?? '()';
  const fortran = /'fortran_order':\s*(\w+)/.exec(h)?.[1] ?? 'False';
  const dims = shape.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const fields = { descr, fortran_order: fortran, shape };
  switch (t.int(6)) {
    case 0: fields.descr = t.chance(0.8) ? `'${t.pick(DESCRS)}'` : t.pick(["[('a', '<f4')]", '1', 'None', "'<f4'*9"]); break;
    case 1: fields.fortran_order = t.pick(['True', 'False', '1', "'True'", 'None', 'true']); break;
    case 2: {
      const d = t.pick([[], [0], [-1], [t.edge(dims[0] ?? 1)], [...dims, 1], dims.slice(1), [...dims].reverse(), [2 ** 53, 2 ** 53], Array(70).fill(1), [dims.reduce((a, b) => a * b, 1) * 2]]);
      fields.shape = t.pick([`(${d.join(', ')}${d.length === 1 ? ',' : ''})`, `[${d.join(', ')}]`, `(${d.join(', ')}L,)`, '((1, 2), 3)', '(1.5,)', "('2',)", '('.repeat(50) + ')'.repeat(50)]);
      break;
    }
    case 3: delete fields[t.pick(Object.keys(fields))]; break;
    case 4: fields[t.pick(['extra', 'descr', '__proto__'])] = t.pick(["'x'", '1', '{}']); break;
    default: return t.pick([h.replace('{', '{'.repeat(20)), h.replace(/'/g, '"'), h.slice(0, t.int(h.length)), `${h}\x00`, h.replace('}', ', }')]);
  }
  const body = `{${Object.entries(fields).map(([k, v]) => `'${k}': ${v}`).join(', ')}${t.chance(0.1) ? `, 'descr': '|O'` : ''}}`;
  return body.padEnd(Math.ceil((body.length + 11) / 64) * 64 - 11, ' ') + '\n';
}

/** One mutant of an .npy buffer: header dict, version, length prefix or data. */
function mutateNpy(buf, t) {
  const p = parseNpy(buf);
  let header = p.header;
  let data = p.data;
  let major = p.major;
  let lenDelta = 0;
  const r = t.int(10);
  if (r < 6) header = mutateHeader(header, t);
  else if (r === 6) major = t.pick([0, 2, 3, 4, 255]);
  else if (r === 7) lenDelta = t.pick([1, -1, 65536, -header.length]);
  else data = t.chance(0.5) ? data.subarray(0, t.int(data.length)) : Buffer.concat([data, Buffer.alloc(1 + t.int(64))]);
  const text = Buffer.from(header, major === 3 ? 'utf8' : 'latin1');
  const lenBytes = major === 1 || major === 0 || major > 3 ? 2 : 4;
  const pre = Buffer.alloc(8 + lenBytes);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]).copy(pre);
  const n = Math.max(0, text.length + lenDelta);
  if (lenBytes === 2) pre.writeUInt16LE(n & 0xffff, 8);
  else pre.writeUInt32LE(n >>> 0, 8);
  return Buffer.concat([pre, text, data]);
}

const npy = {
  name: 'npy',
  seeds: ['npy_art_mnist_cnn/W_CONV2D_NO_MPOOL_MNIST.npy', 'npy_art_mnist_cnn/B_DENSE_NO_MPOOL_MNIST.npy', 'fuzz/fortran_be.npy', 'fuzz/bool.npy', 'fuzz/u2.npy'],
  prepare: (buf) => buf,
  mutate: (seed, t) => ({ files: [['array.npy', mutateNpy(seed, t)]], entry: 'array.npy' }),
};

const npz = {
  name: 'npz',
  seeds: ['whisper_mel_filters.npz', 'fuzz/several.npz'],
  prepare: (buf) => readZip(buf),
  mutate(members, t) {
    let m = members.map((x) => ({ ...x }));
    const r = t.int(3);
    if (r === 0) {
      const i = t.int(m.length);
      m[i].data = mutateNpy(m[i].data, t);
    } else if (r === 1) m = mutateMembers(m, t);
    const { buf, layout } = writeZip(m);
    return { files: [['weights.npz', r === 2 ? mutateLayout(buf, layout, t) : buf]], entry: 'weights.npz' };
  },
};

module.exports = { npy, npz, mutateNpy };
