// Fuzz target for ONNX: protobuf-level mutants (field numbers, wire types, lengths, repeated and missing fields)
// of the model, its graph and its initializers (dims against raw_data, data_type, external_data, typed data).
'use strict';

/** A message's fields as [{ field, wire, value }] (value: bigint for varints, Buffer otherwise), or null if malformed. */
function decode(buf) {
  const out = [];
  let p = 0;
  const varint = () => {
    let v = 0n;
    for (let s = 0n; p < buf.length; s += 7n) {
      const b = buf[p++];
      v |= BigInt(b & 0x7f) << s;
      if (!(b & 0x80)) return v;
    }
    throw new Error('eof');
  };
  try {
    while (p < buf.length) {
      const tag = Number(varint());
      const field = tag >>> 3;
      const wire = tag & 7;
      let value;
      if (wire === 0) value = varint();
      else if (wire === 2) {
        const n = Number(varint());
        if (p + n > buf.length) return null;
        value = buf.subarray(p, (p += n));
      } else if (wire === 1 || wire === 5) value = buf.subarray(p, (p += wire === 1 ? 8 : 4));
      else return null;
      out.push({ field, wire, value });
    }
  } catch {
    return null;
  }
  return out;
}

function varintBytes(v) {
  const out = [];
  let x = BigInt.asUintN(64, BigInt(v));
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x ? b | 0x80 : b);
  } while (x);
  return Buffer.from(out);
}

/** Bytes of a field list; `lenOverride` lets one field lie about its length. */
function encode(fields) {
  return Buffer.concat(
    fields.flatMap(({ field, wire, value, lenOverride }) => {
      const tag = varintBytes(BigInt(field) * 8n + BigInt(wire));
      if (wire === 0) return [tag, varintBytes(typeof value === 'bigint' ? value : 0n)];
      const v = Buffer.isBuffer(value) ? value : Buffer.alloc(wire === 1 ? 8 : wire === 5 ? 4 : 0);
      return wire === 2 ? [tag, varintBytes(lenOverride ?? v.length), v] : [tag, v];
    }),
  );
}

const str = (s) => Buffer.from(s, 'utf8');

/** Mutations of one TensorProto's fields. */
function mutateTensor(fields, t) {
  const raw = fields.find((f) => f.field === 9);
  const dims = fields.filter((f) => f.field === 1);
  switch (t.int(9)) {
    case 0: if (dims.length) t.pick(dims).value = BigInt.asUintN(64, BigInt(t.pick([0, 1, -1, 2 ** 31, 2 ** 32 + 1, 2 ** 53, Number(t.pick(dims).value) * 2]))); break;
    case 1: t.chance(0.5) && dims.length ? fields.splice(fields.indexOf(t.pick(dims)), 1) : fields.unshift({ field: 1, wire: 0, value: BigInt(t.pick([0, 1, 2, 1000])) }); break;
    case 2: fields.push({ field: 2, wire: 0, value: BigInt(t.pick([0, 2, 3, 7, 8, 9, 10, 11, 12, 13, 16, 17, 23, 99, 2 ** 31])) }); break;
    case 3: if (raw) raw.value = t.chance(0.5) ? raw.value.subarray(0, t.int(raw.value.length)) : Buffer.concat([raw.value, Buffer.alloc(1 + t.int(16))]); break;
    case 4: // weights said to live in another file
      fields.push({ field: 13, wire: 2, value: encode([{ field: 1, wire: 2, value: str('location') }, { field: 2, wire: 2, value: str(t.pick(['../../../../etc/passwd', '/etc/passwd', 'weights.bin', 'model.onnx'])) }]) });
      if (t.chance(0.7)) fields.push({ field: 14, wire: 0, value: 1n });
      break;
    case 5: // raw_data replaced by typed data of a different count
      if (raw) fields.splice(fields.indexOf(raw), 1);
      fields.push(t.pick([
        { field: 4, wire: 2, value: Buffer.alloc(4 * t.int(64)) },
        { field: 7, wire: 2, value: Buffer.alloc(t.int(64), 1) },
        { field: 5, wire: 2, value: Buffer.alloc(t.int(64), 0x7f) },
        { field: 10, wire: 2, value: Buffer.alloc(8 * t.int(16)) },
        { field: 6, wire: 2, value: str('s') },
      ]));
      break;
    case 6: fields.push({ field: 3, wire: 2, value: encode([{ field: 1, wire: 0, value: 0n }, { field: 2, wire: 0, value: 4n }]) }); break; // segment
    case 7: fields.push({ field: 8, wire: 2, value: str(t.pick(['', '__proto__', 'x'.repeat(100000), fields.find((f) => f.field === 8)?.value.toString() ?? 'w'])) }); break;
    default: if (raw) fields.push({ ...raw }); // raw_data twice
  }
  return fields;
}

/** Generic faults any message can take: field number, wire type, a lying length, a duplicate, a deletion. */
function mutateFields(fields, t) {
  if (!fields.length) return fields;
  const f = t.pick(fields);
  switch (t.int(6)) {
    case 0: f.field = t.pick([0, 1, 2, 5, 7, 8, 15, 16, 2 ** 29 - 1, f.field + 1]); break;
    case 1: f.wire = t.pick([0, 1, 2, 3, 4, 5, 6, 7]); break;
    case 2: if (f.wire === 2) f.lenOverride = t.pick([f.value.length + 1, f.value.length - 1, 2 ** 31, 2 ** 53, 2 ** 64 - 1].filter((x) => x >= 0)); break;
    case 3: fields.splice(t.int(fields.length + 1), 0, { ...f }); break;
    case 4: fields.splice(fields.indexOf(f), 1); break;
    default: fields.push({ field: f.field, wire: 2, value: encode(Array.from({ length: 1 + t.int(3) }, () => ({ ...f }))) }); // nested
  }
  return fields;
}

/** One mutant: a tensor, a node, the graph or the model, re-encoded with valid lengths around the change. */
function mutate(model, t) {
  const m = model.map((f) => ({ ...f }));
  const gi = m.findIndex((f) => f.field === 7 && f.wire === 2);
  const graph = gi >= 0 ? decode(m[gi].value) : null;
  const r = t.int(10);
  if (!graph || r === 9) mutateFields(m, t);
  else {
    const inits = graph.filter((f) => f.field === 5 && f.wire === 2);
    const nodes = graph.filter((f) => f.field === 1 && f.wire === 2);
    if (r < 6 && inits.length) {
      const f = t.pick(inits);
      const fields = decode(f.value);
      if (fields) f.value = encode(r < 5 ? mutateTensor(fields, t) : mutateFields(fields, t));
    } else if (r < 7 && nodes.length) {
      const f = t.pick(nodes);
      const fields = decode(f.value);
      if (fields) f.value = encode(mutateFields(fields, t));
    } else mutateFields(graph, t);
    m[gi] = { ...m[gi], value: encode(graph) };
  }
  return { files: [['model.onnx', encode(m)]], entry: 'model.onnx' };
}

module.exports = { name: 'onnx', seeds: ['burn_mnist_cnn.onnx', 'burn_linear_gemm_matmul.onnx', 'fuzz/typed.onnx'], prepare: decode, mutate, decode, encode };
