// Fuzz target for Keras HDF5 files: the superblock's fields, version 1 object headers found by a structural scan
// (dataspace dims and rank, datatype class and size, layout class, address and size, message types and sizes,
// external-file and continuation messages), B-tree, symbol-table and local-heap node fields.
'use strict';

// Message types a scan accepts (HDF5 spec, IV.A.2): NIL to attribute-info; more means the bytes are not a header.
const MAX_MSG_TYPE = 0x18;

/** Version 1 object headers in an HDF5 file: [{ at, msgs: [{ type, at, data, len }] }], found by their shape. */
function objectHeaders(buf) {
  const found = [];
  for (let p = 8; p + 24 <= buf.length; p += 8) {
    if (buf[p] !== 1 || buf[p + 1] !== 0) continue;
    const nmsg = buf.readUInt16LE(p + 2);
    const size = buf.readUInt32LE(p + 8);
    if (nmsg < 1 || nmsg > 200 || size < 8 || size > 1 << 20 || p + 16 + size > buf.length) continue;
    const msgs = [];
    let q = p + 16;
    while (q + 8 <= p + 16 + size) {
      const type = buf.readUInt16LE(q);
      const len = buf.readUInt16LE(q + 2);
      if (type > MAX_MSG_TYPE || len % 8 || q + 8 + len > p + 16 + size) break;
      msgs.push({ type, at: q, data: q + 8, len });
      q += 8 + len;
    }
    if (q === p + 16 + size && msgs.some((m) => [1, 3, 8, 0x11].includes(m.type))) found.push({ at: p, msgs });
  }
  return found;
}

/** The offsets of signed metadata nodes (B-trees, symbol-table nodes, local heaps). */
function signed(buf) {
  const out = [];
  for (const sig of ['TREE', 'SNOD', 'HEAP']) for (let p = buf.indexOf(sig); p >= 0; p = buf.indexOf(sig, p + 4)) out.push({ sig, at: p });
  return out;
}

function prepare(buf) {
  return { buf, headers: objectHeaders(buf), nodes: signed(buf) };
}

/** A field written with a boundary value. */
function put(out, at, width, t, near = 1) {
  if (at + width > out.length) return;
  const v = t.edge(near);
  if (width === 8) out.writeBigUInt64LE(BigInt.asUintN(64, BigInt(Math.trunc(Math.min(Math.max(v, -(2 ** 63)), 2 ** 64 - 1)))), at);
  else if (width === 4) out.writeUInt32LE(v >>> 0, at);
  else if (width === 2) out.writeUInt16LE(v & 0xffff, at);
  else out[at] = v & 0xff;
}

/** One mutant of the file, aimed at one structure. */
function mutate(seed, t) {
  const out = Buffer.from(seed.buf);
  const hdr = seed.headers.length ? t.pick(seed.headers) : null;
  const pickMsg = (types) => {
    const all = seed.headers.flatMap((h) => h.msgs.filter((m) => !types || types.includes(m.type)));
    return all.length ? t.pick(all) : null;
  };
  const r = t.int(12);
  let m;
  if (r === 0) put(out, t.pick([8, 13, 14, 16, 18, 24, 32, 40, 48, 64, 72]), t.pick([1, 2, 8]), t, out.length); // superblock
  else if (r <= 2 && (m = pickMsg([1]))) {
    // dataspace: rank, or one dimension
    if (t.chance(0.3)) out[m.data + 1] = t.pick([0, 2, 32, 33, 255]);
    else put(out, m.data + 8 + 8 * t.int(Math.max(1, out[m.data + 1])), 8, t, 1);
  } else if (r === 3 && (m = pickMsg([3]))) {
    if (t.chance(0.5)) out[m.data] = (out[m.data] & 0xf0) | t.int(11); // class: fixed, float, string, compound, vlen, ...
    else put(out, m.data + 4, 4, t, 4); // element size
  } else if (r <= 5 && (m = pickMsg([8]))) {
    // layout: class (compact, contiguous, chunked, virtual), data address, data size
    if (t.chance(0.3)) out[m.data + 1] = t.pick([0, 1, 2, 3, 9]);
    else put(out, m.data + 2 + 8 * t.int(2), 8, t, out.length);
  } else if (r === 6 && (m = pickMsg(null))) {
    // another message type where this one stood: external files (7), continuation (0x10), symbol table, ...
    out.writeUInt16LE(t.pick([0x07, 0x10, 0x11, 0x06, 0x0b, 0x0c, 0x12, 0x15, 0x16, 0xff]), m.at);
  } else if (r === 7 && (m = pickMsg(null))) put(out, m.at + 2, 2, t, m.len); // message size
  else if (r === 8 && hdr) put(out, hdr.at + t.pick([2, 4, 8]), t.pick([2, 4]), t, hdr.msgs.length); // header counts and size
  else if (r === 9 && (m = pickMsg([0x0c, 0x0b]))) {
    for (let k = 1 + t.int(4); k > 0; k--) out[m.data + t.int(m.len)] = t.int(256); // attribute or filter bytes
  } else if (r === 10 && seed.nodes.length) {
    const n = t.pick(seed.nodes);
    if (n.sig === 'TREE') put(out, n.at + t.pick([4, 5, 6, 8, 16]), t.pick([1, 2, 8]), t, 1); // type, level, entries, siblings
    else if (n.sig === 'SNOD') put(out, n.at + 6, 2, t, 1); // symbol count
    else put(out, n.at + t.pick([8, 16, 24]), 8, t, 64); // heap size, free list, data address
  } else {
    for (let k = 1 + t.int(8); k > 0; k--) {
      const base = hdr ? hdr.at : 0;
      out[Math.min(out.length - 1, base + t.int(512))] ^= 1 << t.int(8);
    }
  }
  return { files: [['model.h5', out]], entry: 'model.h5' };
}

module.exports = { name: 'hdf5', seeds: ['keras2_dscnn_wakeword.h5', 'keras2_resnet8_cifar10.h5', 'fuzz/keras_small.h5'], prepare, mutate, objectHeaders };
