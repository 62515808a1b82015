// Test helper: writes small ONNX models (ModelProto wire format) from a plain description, for loadOnnxModel tests.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function varint(v) {
  let x = BigInt.asUintN(64, BigInt(v));
  const out = [];
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
  return Buffer.from(out);
}
const key = (field, wire) => varint(field * 8 + wire);
const vfield = (field, v) => Buffer.concat([key(field, 0), varint(v)]);
const lfield = (field, bytes) => Buffer.concat([key(field, 2), varint(bytes.length), Buffer.from(bytes)]);
const sfield = (field, s) => lfield(field, Buffer.from(s, 'utf8'));
const f32 = (v) => Buffer.from(new Float32Array([v]).buffer);

const DTYPES = { float32: 1, int64: 7, float16: 10, bool: 9 };

/** IEEE half bits of a value in float16's normal range (or zero): enough for test data. */
function halfBits(v) {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  let e = Math.floor(Math.log2(a));
  let m = Math.round((a / 2 ** e - 1) * 1024);
  if (m === 1024) [m, e] = [0, e + 1];
  return sign | ((e + 15) << 10) | m;
}

/** A TensorProto from a torchgraft tensor (float32, float16, int64 or bool), data as raw_data. */
function tensorProto(name, t) {
  const data = t.dtype === 'float16' ? Uint16Array.from(t.dataSync(), halfBits) : t.dtype === 'bool' ? Uint8Array.from(t.dataSync(), Number) : t.dataSync();
  const dims = t.shape.length ? lfield(1, Buffer.concat(t.shape.map(varint))) : Buffer.alloc(0);
  return Buffer.concat([dims, vfield(2, DTYPES[t.dtype]), sfield(8, name), lfield(9, Buffer.from(data.buffer, data.byteOffset, data.byteLength))]);
}

/**
 * An AttributeProto. Values: an integer number is INT, `{ f }` FLOAT, an array INTS, `{ floats }` FLOATS,
 * a string STRING, `{ t: tensor }` TENSOR.
 */
function attribute(name, v) {
  const head = sfield(1, name);
  if (typeof v === 'number') return Buffer.concat([head, vfield(3, v), vfield(20, 2)]);
  if (typeof v === 'string') return Buffer.concat([head, sfield(4, v), vfield(20, 3)]);
  if (Array.isArray(v)) return Buffer.concat([head, lfield(8, Buffer.concat(v.map(varint))), vfield(20, 7)]);
  if ('f' in v) return Buffer.concat([head, key(2, 5), f32(v.f), vfield(20, 1)]);
  if ('floats' in v) return Buffer.concat([head, lfield(7, Buffer.concat(v.floats.map(f32))), vfield(20, 6)]);
  if ('t' in v) return Buffer.concat([head, lfield(5, tensorProto('', v.t)), vfield(20, 4)]);
  throw new Error(`attribute ${name}: unknown value`);
}

/** A node description: [opType, inputs, outputs, attrs?, { name, domain }?]. */
function nodeProto([opType, inputs, outputs, attrs = {}, extra = {}], i) {
  return Buffer.concat([
    ...inputs.map((n) => sfield(1, n)),
    ...outputs.map((n) => sfield(2, n)),
    sfield(3, extra.name ?? `n${i}`),
    sfield(4, opType),
    ...Object.entries(attrs).map(([k, v]) => lfield(5, attribute(k, v))),
    ...(extra.domain ? [sfield(7, extra.domain)] : []),
  ]);
}

/** ModelProto bytes: { opset, inputs: [names], outputs: [names], initializers: { name: tensor }, nodes: [...] }. */
function modelBytes({ opset = 13, inputs = [], outputs = [], initializers = {}, nodes = [], rawNodes = [] }) {
  const graph = Buffer.concat([
    ...nodes.map((n, i) => lfield(1, nodeProto(n, i))),
    ...rawNodes.map((b) => lfield(1, b)),
    sfield(2, 'g'),
    ...Object.entries(initializers).map(([n, t]) => lfield(5, tensorProto(n, t))),
    ...inputs.map((n) => lfield(11, sfield(1, n))),
    ...outputs.map((n) => lfield(12, sfield(1, n))),
  ]);
  return Buffer.concat([vfield(1, 8), sfield(2, 'torchgraft-test'), lfield(7, graph), lfield(8, vfield(2, opset))]);
}

/** Writes a model under `dir` and returns its path. */
function writeModel(dir, name, spec) {
  const file = path.join(dir, `${name}.onnx`);
  fs.writeFileSync(file, Buffer.isBuffer(spec) ? spec : modelBytes(spec));
  return file;
}

module.exports = { modelBytes, writeModel, attribute, nodeProto, lfield, sfield, vfield, varint };
