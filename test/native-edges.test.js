'use strict';
// Values are never silently wrong at the native boundary: integers that do not fit, device indices, requiresGrad on a
// computed tensor, and data() racing an in-place write each give a clear error instead of a wrong number.
const test = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const tg = require('..');

const PYTHON = process.env.TORCHGRAFT_PYTHON || '/usr/bin/python3';

test('BigInt shapes and scalars beyond 64 bits are RangeErrors, not truncated', () => {
  assert.throws(() => tg.zeros([2n ** 64n + 3n]), RangeError);
  assert.throws(() => tg.zeros([2n ** 63n]), RangeError, 'int64 max + 1');
  assert.throws(() => tg.ones([2]).mul(2n ** 70n), RangeError);
  assert.throws(() => tg.ones([2]).add(-(2n ** 63n) - 1n), RangeError);
  assert.throws(() => tg.full([2], 2n ** 64n), RangeError);
  // the largest int64 still works, exactly
  const t = tg.full([1], 2n ** 62n, { dtype: 'int64' });
  assert.strictEqual(t.dtype, 'int64');
  assert.deepStrictEqual([...t.dataSync()], [2n ** 62n]);
});

test('numbers beyond int64 are RangeErrors where an integer dtype would wrap them', () => {
  assert.throws(() => tg.tensor([2 ** 63]), RangeError);
  assert.throws(() => tg.tensor([1e20]), RangeError);
  assert.throws(() => tg.tensor([-(2 ** 64)]), RangeError);
  assert.throws(() => tg.tensor(new Float64Array([1e20]), { dtype: 'int64' }), RangeError);
  assert.throws(() => tg.tensor(new Float32Array([300]), { dtype: 'uint8' }), RangeError);
  assert.throws(() => tg.tensor(new Float32Array([NaN]), { dtype: 'int32' }), RangeError);
  assert.throws(() => tg.tensor(new Float64Array([2 ** 31]), { dtype: 'int32' }), RangeError);
  // in range (including the edges) is exact
  assert.deepStrictEqual([...tg.tensor(new Float64Array([-(2 ** 31), 2 ** 31 - 1]), { dtype: 'int32' }).dataSync()], [-(2 ** 31), 2 ** 31 - 1]);
  assert.deepStrictEqual([...tg.tensor([-(2 ** 53), 2 ** 53]).dataSync()], [-(2n ** 53n), 2n ** 53n]);
  assert.deepStrictEqual([...tg.tensor(new Float32Array([255, 0.5]), { dtype: 'uint8' }).dataSync()], [255, 0]);
  assert.throws(() => tg.tensor(new Float32Array([255.5]), { dtype: 'uint8' }), RangeError, 'as torch.tensor: past 255');
  assert.throws(() => tg.tensor(new Float32Array([-0.5]), { dtype: 'uint8' }), RangeError, 'as torch.tensor: below 0');
});

test('a shape whose element count overflows 64 bits is a RangeError', () => {
  assert.throws(() => tg.tensor(new Float32Array(0), { shape: [2 ** 40, 2 ** 40, 0, 2 ** 40] }), (e) => e instanceof RangeError || e instanceof tg.TorchError);
  assert.throws(() => tg.tensor(new Float32Array(1), { shape: [2 ** 32, 2 ** 32] }), RangeError);
});

test('device indices out of range say so (no "stoll")', () => {
  for (const device of ['cuda:99999999999999999999', 'cuda:128', 'cuda:000000000000000000000000000999']) {
    assert.throws(() => tg.zeros([1], { device }), (e) => e instanceof RangeError && /out of range/.test(e.message) && !/stoll|stoi/.test(e.message), device);
  }
  assert.throws(() => tg.zeros([1], { device: 'cuda:-1' }), RangeError);
  for (const device of ['cuda:1.5', 'cuda:', 'cpu:0x', 'tpu', 'cuda:0x1']) {
    assert.throws(() => tg.zeros([1], { device }), TypeError, device);
  }
});

test("setting requiresGrad on a computed tensor is refused with PyTorch's message", () => {
  const expected = JSON.parse(execFileSync(PYTHON, ['-c', `
import json, torch
x = torch.ones(2, requires_grad=True); y = x * 2
msgs = []
for v in (False, True):
    try:
        y.requires_grad = v; msgs.append(None)
    except RuntimeError as e:
        msgs.append(str(e))
try:
    y.requires_grad_(False); msgs.append(None)
except RuntimeError as e:
    msgs.append(str(e))
y.requires_grad_(True)
msgs.append(y.requires_grad)
print(json.dumps(msgs))`], { encoding: 'utf8' }));
  const x = tg.ones([2], { requiresGrad: true });
  const y = x.mul(2);
  for (const [i, v] of [false, true].entries()) {
    assert.throws(() => { y.requiresGrad = v; }, (e) => e instanceof tg.TorchError && e.code === 'ERR_NOT_LEAF' && e.message === expected[i]);
  }
  assert.throws(() => y.requiresGrad_(false), (e) => e instanceof tg.TorchError && e.message === expected[2]);
  assert.strictEqual(y.requiresGrad_(true).requiresGrad, expected[3]);
  assert.strictEqual(y.requiresGrad, true, 'the graph is intact');
  // a leaf still changes freely
  x.requiresGrad = false;
  assert.strictEqual(x.requiresGrad, false);
});

test('data() rejects when the tensor (or a view of it) is written in place before the copy is delivered', async () => {
  const t = tg.zeros([1 << 16]);
  const p = t.data();
  t.fill_(1);
  await assert.rejects(p, (e) => e instanceof tg.TorchError && e.code === 'ERR_TENSOR_MODIFIED');
  const q = t.data();
  t.narrow(0, 10, 5).fill_(2);
  await assert.rejects(q, (e) => e instanceof tg.TorchError && e.code === 'ERR_TENSOR_MODIFIED');
  // an optimizer step writes its parameters in place too
  const w = tg.zeros([1000], { requiresGrad: true });
  w.mul(3).sum().backward();
  const opt = new tg.optim.SGD([w], { lr: 1 });
  const r = w.data();
  opt.step();
  await assert.rejects(r, (e) => e.code === 'ERR_TENSOR_MODIFIED');
});

test('data() never returns a mix of old and new values (100 tries)', async () => {
  const t = tg.zeros([1 << 18]);
  let rejected = 0;
  for (let i = 0; i < 100; i++) {
    const p = t.data();
    if (i % 2) t.fill_(i);
    try {
      const v = await p;
      assert.ok(v.every((x) => x === v[0]), `mixed values in run ${i}`);
    } catch (e) {
      assert.strictEqual(e.code, 'ERR_TENSOR_MODIFIED');
      rejected++;
    }
  }
  assert.strictEqual(rejected, 50, 'exactly the runs that wrote were refused');
  // reading then writing after the await is the rule, and works
  const v = await t.data();
  t.fill_(7);
  assert.strictEqual(v[0], 99);
});
