'use strict';
// ONNX: the shared models load their initializers (names, shapes and values of an independent wire walk) and node
// lists; models written here by a tiny protobuf encoder cover every data-type field, and refusals (strings,
// external data, lying sizes, huge dims) are TorchErrors naming the file.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { tg, fixture, noNumpy, ref, tmpDir, assertClose, sums, rejectsWith } = require('./helpers/foreign');

const MNIST = fixture('burn_mnist_cnn.onnx');
const LINEAR = fixture('burn_linear_gemm_matmul.onnx');

// --- a minimal protobuf encoder for writing test models (the wire helpers are shared with loadOnnxModel's tests) ---
const { varint, vfield, lfield, sfield } = require('./helpers/onnx-writer');
const key = (field, wire) => varint(field * 8 + wire);
const packed = (field, values) => lfield(field, Buffer.concat(values.map(varint)));

/** A TensorProto: dims, data_type and any extra encoded fields (data). */
const tensorProto = (name, dataType, dims, ...data) => Buffer.concat([packed(1, dims), vfield(2, dataType), sfield(8, name), ...data]);
/** A ModelProto with one graph holding these initializers (and one Identity node). */
function model(...initializers) {
  const node = Buffer.concat([sfield(1, 'x'), sfield(2, 'y'), sfield(3, 'id'), sfield(4, 'Identity')]);
  const graph = Buffer.concat([lfield(1, node), sfield(2, 'g'), ...initializers.map((t) => lfield(5, t))]);
  return Buffer.concat([vfield(1, 8), sfield(2, 'test'), sfield(3, '1'), lfield(7, graph), lfield(8, vfield(2, 17))]);
}
const f32 = (...v) => Buffer.from(new Float32Array(v).buffer);

test('the MNIST CNN model loads 18 float32 initializers with PyTorch names and its 13 nodes', async () => {
  const r = await tg.io.loadWithMetadata(MNIST);
  try {
    assert.strictEqual(r.format, 'onnx');
    assert.strictEqual(r.names.length, 18);
    assert.deepStrictEqual(r.tensors['conv1.weight'].shape, [8, 1, 3, 3]);
    assert.deepStrictEqual(r.tensors['fc1.weight'].shape, [32, 11616]);
    assert.deepStrictEqual(r.tensors['norm2.running_var'].shape, [10]);
    for (const n of r.names) assert.strictEqual(r.tensors[n].dtype, 'float32');
    assert.strictEqual(r.metadata.producer_name, 'pytorch');
    assert.strictEqual(r.metadata.producer_version, '2.0.0');
    assert.strictEqual(r.metadata.ir_version, '8');
    assert.deepStrictEqual(JSON.parse(r.metadata.opset_import), [{ domain: '', version: 16 }]);
    const nodes = JSON.parse(r.metadata.nodes);
    assert.strictEqual(nodes.length, 13);
    assert.deepStrictEqual(nodes.map((n) => n.opType), ['Conv', 'Relu', 'Conv', 'Relu', 'Conv', 'Relu', 'BatchNormalization', 'Flatten', 'Gemm', 'Relu', 'Gemm', 'BatchNormalization', 'LogSoftmax']);
    assert.deepStrictEqual(nodes[0].inputs.slice(1), ['conv1.weight', 'conv1.bias']);
  } finally {
    tg.dispose(r.tensors);
  }
});

test('ONNX initializers and nodes match an independent protobuf walk of both shared models', { skip: noNumpy }, async () => {
  for (const file of [MNIST, LINEAR]) {
    const e = ref('onnx', file);
    const r = await tg.io.loadWithMetadata(file);
    try {
      assert.deepStrictEqual(r.names, e.initializers.map((i) => i.name));
      for (const i of e.initializers) {
        const t = r.tensors[i.name];
        assert.deepStrictEqual(t.shape, i.shape);
        const s = sums(t);
        assertClose([s.sum, s.abs], [i.sum, i.abs], { rtol: 1e-9, atol: 1e-9, what: i.name });
        assertClose(t.dataSync().slice(0, 4), i.first, { rtol: 0, atol: 0, what: i.name });
      }
      assert.deepStrictEqual(JSON.parse(r.metadata.nodes).map(({ opType, name, inputs, outputs }) => ({ inputs, outputs, name, opType })), e.nodes);
    } finally {
      tg.dispose(r.tensors);
    }
  }
});

test("the dynamo-exported linear model keeps its renamed, pre-transposed 'val_0' and Gemm computes as Linear", async () => {
  const r = await tg.io.loadWithMetadata(LINEAR);
  try {
    assert.deepStrictEqual(r.names, ['linear1_with_gemm.weight', 'linear1_with_gemm.bias', 'linear2_with_matmul.weight', 'linear3_with_matmul.bias', 'val_0']);
    assert.deepStrictEqual(r.tensors.val_0.shape, [7, 8]);
    assert.strictEqual(r.metadata.producer_version, '2.10.0');
    assert.strictEqual(r.metadata.ir_version, '10');
    assert.deepStrictEqual(JSON.parse(r.metadata.inputs), ['x1', 'x2', 'x3']);
    const ops = JSON.parse(r.metadata.nodes).map((n) => n.opType);
    assert.deepStrictEqual(ops, ['Gemm', 'Gemm', 'MatMul', 'Add']);
    // Gemm(x, W, b) with transB=1 (PyTorch's export) is x W^T + b: a Linear with the initializers as they are.
    const lin = new tg.nn.Linear(3, 4);
    lin.loadStateDict({ weight: r.tensors['linear1_with_gemm.weight'], bias: r.tensors['linear1_with_gemm.bias'] });
    const x = [1, -2, 0.5];
    const y = tg.noGrad(() => lin.forward(tg.tensor([x]))).dataSync();
    const w = r.tensors['linear1_with_gemm.weight'].dataSync();
    const b = r.tensors['linear1_with_gemm.bias'].dataSync();
    assertClose(y, [0, 1, 2, 3].map((o) => b[o] + x.reduce((s, xi, i) => s + xi * w[o * 3 + i], 0)), { what: 'gemm' });
  } finally {
    tg.dispose(r.tensors);
  }
});

test('every ONNX data-type field reads: raw_data and float, double, int32, int64 and uint64 fields', async (t) => {
  const file = path.join(tmpDir(t), 'types.onnx');
  const i64 = Buffer.alloc(16);
  i64.writeBigInt64LE(-5n, 0);
  i64.writeBigInt64LE(1n << 40n, 8);
  fs.writeFileSync(
    file,
    model(
      tensorProto('f_raw', 1, [2], lfield(9, f32(1.5, -2))),
      tensorProto('f_typed', 1, [2, 1], lfield(4, f32(0.25, 3))),
      tensorProto('d_typed', 11, [2], lfield(10, Buffer.from(new Float64Array([1e300, -0.5]).buffer))),
      tensorProto('i64_raw', 7, [2], lfield(9, i64)),
      tensorProto('i64_typed', 7, [3], packed(7, [-1, 0, 2 ** 40])),
      tensorProto('i32_typed', 6, [2], packed(5, [-7, 2147483647])),
      tensorProto('i8_typed', 3, [2], packed(5, [-128, 127])),
      tensorProto('u8_raw', 2, [3], lfield(9, [0, 128, 255])),
      tensorProto('u16_typed', 4, [1], packed(5, [65535])),
      tensorProto('u32_typed', 12, [1], packed(11, [4294967295])),
      tensorProto('bool_typed', 9, [3], packed(5, [1, 0, 1])),
      tensorProto('f16_typed', 10, [2], packed(5, [0x3c00, 0xc000])),
      tensorProto('bf16_raw', 16, [2], lfield(9, Buffer.from([0x80, 0x3f, 0x20, 0xc0]))),
      tensorProto('scalar', 1, [], lfield(9, f32(7))),
      tensorProto('empty', 1, [0, 3]),
    ),
  );
  const r = await tg.io.loadWithMetadata(file);
  try {
    const v = (n) => Array.from(r.tensors[n].dataSync(), (x) => (typeof x === 'bigint' ? String(x) : x));
    assert.deepStrictEqual(v('f_raw'), [1.5, -2]);
    assert.deepStrictEqual(r.tensors.f_typed.shape, [2, 1]);
    assert.deepStrictEqual(v('f_typed'), [0.25, 3]);
    assert.deepStrictEqual(v('d_typed'), [1e300, -0.5]);
    assert.strictEqual(r.tensors.d_typed.dtype, 'float64');
    assert.deepStrictEqual(v('i64_raw'), ['-5', String(1n << 40n)]);
    assert.deepStrictEqual(v('i64_typed'), ['-1', '0', String(2 ** 40)]);
    assert.deepStrictEqual(v('i32_typed'), [-7, 2147483647]);
    assert.deepStrictEqual(v('i8_typed'), [-128, 127]);
    assert.deepStrictEqual(v('u8_raw'), [0, 128, 255]);
    assert.deepStrictEqual([r.tensors.u16_typed.dtype, ...v('u16_typed')], ['int32', 65535]);
    assert.deepStrictEqual([r.tensors.u32_typed.dtype, ...v('u32_typed')], ['int64', '4294967295']);
    assert.deepStrictEqual([r.tensors.bool_typed.dtype, ...v('bool_typed').map(Boolean)], ['bool', true, false, true]);
    assert.deepStrictEqual([r.tensors.f16_typed.dtype, ...v('f16_typed')], ['float16', 1, -2]);
    assert.deepStrictEqual([r.tensors.bf16_raw.dtype, ...v('bf16_raw')], ['bfloat16', 1, -2.5]);
    assert.deepStrictEqual([r.tensors.scalar.shape, v('scalar')], [[], [7]]);
    assert.deepStrictEqual(r.tensors.empty.shape, [0, 3]);
  } finally {
    tg.dispose(r.tensors);
  }
});

test('refused ONNX contents are TorchErrors with a code, naming the file, the tensor and the problem', async (t) => {
  const dir = tmpDir(t);
  const before = tg.memory().tensors;
  let n = 0;
  const refuse = async (bytes, code, pattern) => {
    const file = path.join(dir, `bad-${n++}.onnx`);
    fs.writeFileSync(file, bytes);
    await rejectsWith(tg.io.load(file), code, file, pattern);
  };
  const ok = tensorProto('ok', 1, [1], lfield(9, f32(1)));
  await refuse(model(ok, tensorProto('s', 8, [1], lfield(6, Buffer.from('hi')))), 'ERR_ONNX_DTYPE', /'s' has data type STRING/);
  await refuse(model(tensorProto('c', 14, [1], lfield(9, Buffer.alloc(8)))), 'ERR_ONNX_DTYPE', /COMPLEX64/);
  await refuse(model(tensorProto('q', 99, [1])), 'ERR_ONNX_DTYPE', /unknown data_type 99/);
  const ext = Buffer.concat([lfield(13, Buffer.concat([sfield(1, 'location'), sfield(2, 'weights.bin')])), vfield(14, 1)]);
  await refuse(model(tensorProto('w', 1, [1024, 1024], ext)), 'ERR_ONNX_EXTERNAL_DATA', /'w' keeps its data outside.*location=weights\.bin/);
  await refuse(model(tensorProto('short', 1, [3], lfield(9, f32(1, 2)))), 'ERR_ONNX_DATA', /'short' has 8 bytes of raw_data, but FLOAT\[3\] needs 12/);
  await refuse(model(tensorProto('few', 1, [3], lfield(4, f32(1)))), 'ERR_ONNX_DATA', /'few' has 1 values in float_data/);
  // Huge dims: refused by comparing with the bytes present, never allocated.
  await refuse(model(tensorProto('huge', 1, [1e5, 1e5, 1e3], lfield(9, f32(1)))), 'ERR_ONNX_DATA', /'huge' has 4 bytes of raw_data, but FLOAT\[100000, 100000, 1000\] needs 40000000000000/);
  await refuse(model(tensorProto('huger', 1, [1e6, 1e6, 1e6], lfield(9, f32(1)))), 'ERR_ONNX_FORMAT', /'huger'.*more than 2\^53 elements/);
  await refuse(model(tensorProto('neg', 1, [-1], lfield(9, f32(1)))), 'ERR_ONNX_FORMAT', /not a non-negative integer/);
  await refuse(model(ok, ok), 'ERR_ONNX_FORMAT', /'ok' appears twice/);
  await refuse(Buffer.concat([vfield(1, 8), sfield(2, 'x')]), 'ERR_ONNX_FORMAT', /0 graphs/);
  // A length that runs past the end of the file, and a varint that never ends.
  await refuse(Buffer.concat([vfield(1, 8), key(7, 2), varint(1e9), Buffer.alloc(10)]), 'ERR_ONNX_FORMAT', /declares 1000000000 bytes but only 10 remain/);
  await refuse(Buffer.concat([vfield(1, 8), key(7, 2), Buffer.alloc(12, 0xff)]), 'ERR_ONNX_FORMAT', /varint/);
  await refuse(Buffer.from('garbage, not protobuf\n'), 'ERR_ONNX_FORMAT');
  assert.ok(tg.memory().tensors <= before, `live tensors went from ${before} to ${tg.memory().tensors}`);
});

test('every truncation of a real ONNX model is a TorchError naming the file', async (t) => {
  const dir = tmpDir(t);
  const whole = fs.readFileSync(LINEAR);
  const cut = path.join(dir, 'cut.onnx');
  for (let n = 0; n < whole.length; n += 13) {
    fs.writeFileSync(cut, whole.subarray(0, n));
    await rejectsWith(tg.io.load(cut), undefined, cut, /^onnx: /);
  }
});

test('inspectOnnx lists initializers and nodes without making tensors', async () => {
  const before = tg.memory().tensors;
  const info = await tg.io.inspectOnnx(MNIST);
  assert.ok(tg.memory().tensors <= before, `live tensors went from ${before} to ${tg.memory().tensors}`);
  assert.strictEqual(info.initializers.length, 18);
  assert.deepStrictEqual(info.initializers[0], { name: 'conv1.weight', dataType: 'FLOAT', shape: [8, 1, 3, 3] });
  assert.strictEqual(info.nodes.length, 13);
  assert.strictEqual(info.producerName, 'pytorch');
});
