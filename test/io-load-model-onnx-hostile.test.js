'use strict';
// loadOnnxModel on hostile files: cycles, dangling inputs, values written twice, unknown ops, impossible reshapes,
// wrong-rank weights, bad attributes, allocation bombs, truncations and byte flips are TorchErrors with codes,
// never hangs, aborts or other exceptions.
const test = require('node:test');
const assert = require('node:assert');
const { tg, fixture, tmpDir, rejectsWith } = require('./helpers/foreign');
const { writeModel, modelBytes, lfield, sfield, attribute } = require('./helpers/onnx-writer');

const LINEAR = fixture('burn_linear_gemm_matmul.onnx');

test('a graph with a cycle is ERR_ONNX_GRAPH naming the nodes, without hanging', async (t) => {
  const file = writeModel(tmpDir(t), 'cycle', {
    inputs: ['x'],
    outputs: ['b'],
    nodes: [['Add', ['x', 'c'], ['a']], ['Relu', ['a'], ['b']], ['Relu', ['b'], ['c']]],
  });
  await rejectsWith(tg.io.loadOnnxModel(file), 'ERR_ONNX_GRAPH', file, /cycle: these nodes never get all their inputs: node 'n0' \(Add\), node 'n1' \(Relu\), node 'n2' \(Relu\)$/);
  const self = writeModel(tmpDir(t), 'self', { inputs: ['x'], outputs: ['a'], nodes: [['Add', ['x', 'a'], ['a']]] });
  await rejectsWith(tg.io.loadOnnxModel(self), 'ERR_ONNX_GRAPH', self, /cycle/);
  // a 20000-node ring is refused at once, and a 20000-node chain (listed backwards) runs: no recursion, linear time
  const N = 20000;
  const ring = Array.from({ length: N }, (_, i) => ['Relu', [`v${(i + N - 1) % N}`], [`v${i}`]]);
  const ringFile = writeModel(tmpDir(t), 'ring', { inputs: ['x'], outputs: ['v0'], nodes: ring });
  await rejectsWith(tg.io.loadOnnxModel(ringFile), 'ERR_ONNX_GRAPH', ringFile, /cycle: .*\(20000 in all\)/);
  const chain = Array.from({ length: N }, (_, i) => ['Relu', [i === 0 ? 'x' : `v${i - 1}`], [`v${i}`]]).reverse();
  const net = await tg.io.loadOnnxModel(writeModel(tmpDir(t), 'chain', { inputs: ['x'], outputs: [`v${N - 1}`], nodes: chain }));
  assert.deepStrictEqual(Array.from(net.call(tg.tensor([-1, 2], { dtype: 'float32' })).dataSync()), [0, 2]);
});

test('a node input that nothing produces, a value written twice and a missing graph output are ERR_ONNX_GRAPH', async (t) => {
  const dir = tmpDir(t);
  const dangling = writeModel(dir, 'dangling', { inputs: ['x'], outputs: ['y'], nodes: [['Add', ['x', 'ghost'], ['y']]] });
  await rejectsWith(tg.io.loadOnnxModel(dangling), 'ERR_ONNX_GRAPH', dangling, /reads 'ghost', which no node, graph input or initializer produces/);
  const twice = writeModel(dir, 'twice', { inputs: ['x'], outputs: ['y'], nodes: [['Relu', ['x'], ['y']], ['Tanh', ['x'], ['y']]] });
  await rejectsWith(tg.io.loadOnnxModel(twice), 'ERR_ONNX_GRAPH', twice, /writes 'y'/);
  const noOut = writeModel(dir, 'noout', { inputs: ['x'], outputs: ['z'], nodes: [['Relu', ['x'], ['y']]] });
  await rejectsWith(tg.io.loadOnnxModel(noOut), 'ERR_ONNX_GRAPH', noOut, /graph output 'z' is never produced/);
});

test('unsupported ops are one ERR_UNSUPPORTED_OPS listing every op type with its count', async (t) => {
  const file = writeModel(tmpDir(t), 'unsupported', {
    inputs: ['x'],
    outputs: ['e'],
    nodes: [['Foo', ['x'], ['a']], ['Relu', ['a'], ['b']], ['Bar', ['b'], ['c']], ['Foo', ['c'], ['d']], ['Relu', ['d'], ['e'], {}, { domain: 'com.example' }]],
  });
  await rejectsWith(tg.io.loadOnnxModel(file), 'ERR_UNSUPPORTED_OPS', file, /3 unsupported op types: Foo \(2 nodes\), Bar \(1 node\), com\.example:Relu \(1 node\)/);
});

test('a Reshape to an impossible shape is ERR_ONNX_NODE naming the node and the shapes', async (t) => {
  const dir = tmpDir(t);
  const cases = [
    [[4, -1], /cannot reshape \[2, 3\] \(6 elements\) to \[4, -1\]/],
    [[-1, -1], /more than one -1/],
    [[7], /cannot reshape \[2, 3\] \(6 elements\) to \[7\]/],
    [[2, 0, 0], /copies dimension 2, but the input has rank 2/],
    [[-2, -3], /negative size/],
  ];
  for (const [shape, pattern] of cases) {
    const file = writeModel(dir, `reshape${cases.indexOf(shape)}`, {
      inputs: ['x'], outputs: ['y'], initializers: { s: tg.tensor(shape, { dtype: 'int64' }) }, nodes: [['Reshape', ['x', 's'], ['y'], {}, { name: 'rs' }]],
    });
    const net = await tg.io.loadOnnxModel(file);
    assert.throws(() => net.call(tg.zeros([2, 3])), (e) => e instanceof tg.TorchError && e.code === 'ERR_ONNX_NODE' && /node 'rs' \(Reshape\)/.test(e.message) && pattern.test(e.message));
  }
});

test('wrong-rank weights are refused at load, bad runtime inputs name their node', async (t) => {
  const dir = tmpDir(t);
  const conv = writeModel(dir, 'conv', { inputs: ['x'], outputs: ['y'], initializers: { w: tg.zeros([8, 3]) }, nodes: [['Conv', ['x', 'w'], ['y']]] });
  await rejectsWith(tg.io.loadOnnxModel(conv), 'ERR_ONNX_NODE', conv, /weight W 'w' has shape \[8, 3\], expected rank 3 or 4/);
  const gemm = writeModel(dir, 'gemm', { inputs: ['x'], outputs: ['y'], initializers: { w: tg.zeros([2, 3, 4]) }, nodes: [['Gemm', ['x', 'w'], ['y']]] });
  await rejectsWith(tg.io.loadOnnxModel(gemm), 'ERR_ONNX_NODE', gemm, /B 'w' has shape \[2, 3, 4\], expected rank 2/);
  const gather = writeModel(dir, 'gather', { inputs: ['i'], outputs: ['y'], initializers: { e: tg.zeros([5, 2]) }, nodes: [['Gather', ['e', 'i'], ['y']]] });
  const net = await tg.io.loadOnnxModel(gather);
  assert.throws(() => net.call(tg.tensor([0, 5], { dtype: 'int64' })), (e) => e.code === 'ERR_ONNX_NODE' && /indices run from 0 to 5, outside \[-5, 5\)/.test(e.message));
  const conv2 = writeModel(dir, 'conv2', { inputs: ['x'], outputs: ['y'], initializers: { w: tg.zeros([4, 3, 3, 3]) }, nodes: [['Conv', ['x', 'w'], ['y']]] });
  const c = await tg.io.loadOnnxModel(conv2);
  assert.throws(() => c.call(tg.zeros([1, 5, 8, 8])), (e) => e.code === 'ERR_ONNX_NODE' && /X has 5 channels/.test(e.message));
  assert.throws(() => c.call(), (e) => e instanceof TypeError && /expected 1 input tensor\(s\) \(x\), got 0/.test(e.message));
});

test('attributes: a wrong type or a missing required one is ERR_ONNX_ATTRIBUTE; huge attribute lists are ERR_ONNX_FORMAT', async (t) => {
  const dir = tmpDir(t);
  const wrongType = writeModel(dir, 'wrongtype', { inputs: ['x'], outputs: ['y'], nodes: [['Flatten', ['x'], ['y'], { axis: { f: 1.5 } }]] });
  const net = await tg.io.loadOnnxModel(wrongType);
  assert.throws(() => net.call(tg.zeros([2, 3])), (e) => e.code === 'ERR_ONNX_ATTRIBUTE' && /attribute 'axis' is FLOAT, expected INT/.test(e.message));
  const noAxis = writeModel(dir, 'noaxis', { inputs: ['x'], outputs: ['y'], nodes: [['Concat', ['x', 'x'], ['y']]] });
  const cat = await tg.io.loadOnnxModel(noAxis);
  assert.throws(() => cat.call(tg.zeros([2])), (e) => e.code === 'ERR_ONNX_ATTRIBUTE' && /required attribute 'axis' is missing/.test(e.message));
  const dupe = Buffer.concat([sfield(1, 'x'), sfield(2, 'y'), sfield(4, 'Flatten'), lfield(5, attribute('axis', 1)), lfield(5, attribute('axis', 0))]);
  const dupeFile = writeModel(dir, 'dupe', modelBytes({ inputs: ['x'], outputs: ['y'], rawNodes: [dupe] }));
  await rejectsWith(tg.io.loadOnnxModel(dupeFile), 'ERR_ONNX_ATTRIBUTE', undefined, /attribute 'axis' appears twice/);
  const many = {};
  for (let i = 0; i < 300; i++) many[`a${i}`] = i;
  const manyFile = writeModel(dir, 'many', { inputs: ['x'], outputs: ['y'], nodes: [['Relu', ['x'], ['y'], many]] });
  await rejectsWith(tg.io.loadOnnxModel(manyFile), 'ERR_ONNX_FORMAT', manyFile, /more than 256 attributes/);
  const longList = writeModel(dir, 'long', { inputs: ['x'], outputs: ['y'], nodes: [['Transpose', ['x'], ['y'], { perm: new Array(70000).fill(0) }]] });
  await rejectsWith(tg.io.loadOnnxModel(longList), 'ERR_ONNX_FORMAT', longList, /lists 70000 values/);
});

test('allocation bombs are refused before LibTorch sees them: huge pads, ranks, reshapes and Constant shapes', async (t) => {
  const dir = tmpDir(t);
  const pads = writeModel(dir, 'pads', { inputs: ['x'], outputs: ['y'], initializers: { w: tg.zeros([1, 1, 3, 3]) }, nodes: [['Conv', ['x', 'w'], ['y'], { pads: [1e9, 0, 1e9, 0] }]] });
  const p = await tg.io.loadOnnxModel(pads);
  assert.throws(() => p.call(tg.zeros([1, 1, 4, 4])), (e) => e.code === 'ERR_ONNX_NODE' && /pad 1000000000 exceeds the kernel's extent 3/.test(e.message));
  const unsq = writeModel(dir, 'unsq', { opset: 11, inputs: ['x'], outputs: ['y'], nodes: [['Unsqueeze', ['x'], ['y'], { axes: Array.from({ length: 100 }, (_, i) => i) }]] });
  const u = await tg.io.loadOnnxModel(unsq);
  assert.throws(() => u.call(tg.zeros([1])), (e) => e.code === 'ERR_ONNX_NODE' && /101 dimensions \(at most 64\)/.test(e.message));
  const big = writeModel(dir, 'big', { inputs: ['x'], outputs: ['y'], initializers: { s: tg.tensor([2 ** 40, 2 ** 40, 0], { dtype: 'int64' }) }, nodes: [['Reshape', ['x', 's'], ['y']]] });
  const b = await tg.io.loadOnnxModel(big);
  assert.throws(() => b.call(tg.zeros([1, 1, 0])), (e) => e.code === 'ERR_ONNX_NODE' && /too large/.test(e.message));
  // A Constant declaring 2^40 floats with 4 bytes of data.
  const { vfield, varint } = require('./helpers/onnx-writer');
  const lying = Buffer.concat([lfield(1, Buffer.concat([varint(2 ** 20), varint(2 ** 20)])), vfield(2, 1), lfield(9, Buffer.alloc(4))]);
  const constNode = Buffer.concat([sfield(2, 'y'), sfield(4, 'Constant'), lfield(5, Buffer.concat([sfield(1, 'value'), lfield(5, lying), vfield(20, 4)]))]);
  const lyingFile = writeModel(dir, 'lying', modelBytes({ outputs: ['y'], rawNodes: [constNode] }));
  await rejectsWith(tg.io.loadOnnxModel(lyingFile), 'ERR_ONNX_DATA', lyingFile, /4 bytes of raw_data/);
});

test('every truncation and 300 seeded byte flips of the linear model load or fail with a TorchError, never anything else', async (t) => {
  const fs = require('node:fs');
  const path = require('node:path');
  const dir = tmpDir(t);
  const bytes = fs.readFileSync(LINEAR);
  const file = path.join(dir, 'm.onnx');
  const check = async (buf, what) => {
    fs.writeFileSync(file, buf);
    let net;
    try {
      net = await tg.io.loadOnnxModel(file);
    } catch (e) {
      assert.ok(e instanceof tg.TorchError && /^ERR_/.test(e.code), `${what}: ${e && e.stack}`);
      return 'refused';
    }
    // a model that loads also runs, or refuses its inputs with a TorchError
    try {
      net.call(...net.inputNames.map(() => tg.zeros([2, 3])));
    } catch (e) {
      assert.ok((e instanceof tg.TorchError && /^ERR_/.test(e.code)) || e instanceof TypeError, `${what} (forward): ${e && e.stack}`);
    }
    return 'loaded';
  };
  let refused = 0;
  for (let n = 0; n < bytes.length; n += 1) if ((await check(bytes.subarray(0, n), `truncated at ${n}`)) === 'refused') refused++;
  assert.ok(refused > 0);
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let k = 0; k < 300; k++) {
    const b = Buffer.from(bytes);
    b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    await check(b, `flip ${k}`);
  }
});
