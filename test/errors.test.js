'use strict';
// Bad inputs: every mistake is a JavaScript error of the right class with a clear message; the process never aborts.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const tg = require('..');
const { CUDA_SKIP, cudaAvailable } = require('./helpers/cuda');

const F = tg.nn.functional;
const NO_BACKTRACE = /Exception raised from|frame #\d|\.cpp:\d+/;

function expectError(fn, cls, pattern) {
  let caught;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, `expected ${cls.name}, nothing was thrown`);
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${caught && caught.name}: ${caught && caught.message}`);
  if (pattern) assert.match(caught.message, pattern);
  assert.doesNotMatch(caught.message, NO_BACKTRACE);
  return caught;
}

test('a plain object where a tensor belongs is a TypeError naming the argument', () => {
  tg.tidy(() => {
    const x = tg.randn([2, 3]);
    expectError(() => x.add({}), TypeError, /^other: expected a Tensor or a number, got a plain object/);
    expectError(() => x.matmul({ shape: [3, 2] }), TypeError, /^other: /);
    expectError(() => F.linear({}, x), TypeError, /^input: expected a Tensor/);
    expectError(() => F.linear(x, x, 'b'), TypeError, /^bias: expected a Tensor, got a string/);
    expectError(() => F.crossEntropy(x, [1, 2]), TypeError, /^target: expected a Tensor, got an array/);
    expectError(() => x.gather(0, { shape: [2] }), TypeError, /^index: /);
    expectError(() => x.maskedFill(null, 1), TypeError, /^mask: /);
    expectError(() => tg.cat([x, {}]), TypeError, /tensors: expected a Tensor, got a plain object/);
    expectError(() => tg.where('yes', x, x), TypeError, /condition: expected a Tensor, got a string/);
    expectError(() => tg.zerosLike({}), TypeError);
  });
});

test('a foreign object dressed as a tensor is rejected by its missing type tag', () => {
  tg.tidy(() => {
    const x = tg.randn([2]);
    const fake = Object.create(tg.Tensor.prototype);
    expectError(() => x.mul(fake), TypeError, /^other: expected a Tensor/);
    expectError(() => F.relu(fake), TypeError, /^input: expected a Tensor/);
    expectError(() => tg.zerosLike(fake), TypeError, /expected a Tensor/);
    expectError(() => x.add.call({}, x), TypeError);
    expectError(() => new tg.Tensor(), TypeError, /cannot be constructed directly/);
  });
});

test('unknown dtype or device is a TypeError', () => {
  tg.tidy(() => {
    const x = tg.randn([2]);
    expectError(() => tg.zeros([2], { dtype: 'float99' }), TypeError, /unknown dtype 'float99'/);
    expectError(() => x.to({ dtype: 'complex64' }), TypeError, /unknown dtype 'complex64'/);
    expectError(() => x.sum(0, false, 'quad'), TypeError, /unknown dtype 'quad'/);
    expectError(() => tg.ones([2], { device: 'tpu' }), TypeError, /invalid device 'tpu'/);
    expectError(() => x.to('cuda:x'), TypeError, /invalid device 'cuda:x'/);
    expectError(() => x.to({ device: 42 }), TypeError, /device: expected a device name/);
    expectError(() => F.mseLoss(x, x, { reduction: 'avg' }), TypeError, /reduction: expected 'mean', 'sum' or 'none'/);
    expectError(() => F.interpolate(tg.randn([1, 1, 2, 2]), { size: 4, mode: 'trilinear' }), TypeError, /mode must be/);
    expectError(() => F.interpolate(tg.randn([1, 1, 2, 2]), { size: 4, alignCorners: true }), TypeError, /alignCorners can only be set/);
    expectError(() => F.interpolate(tg.randn([1, 1, 2, 2]), { size: [4, 4, 4] }), tg.TorchError, /size has 3 values but the input has 2 spatial dimensions/);
  });
});

test('a dimension or index out of range is a RangeError', () => {
  tg.tidy(() => {
    const x = tg.randn([2, 3]);
    expectError(() => x.sum(5), RangeError, /Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)/);
    expectError(() => x.softmax(2), RangeError, /Dimension out of range/);
    expectError(() => x.transpose(0, 7), RangeError);
    expectError(() => x.unsqueeze(9), RangeError);
    expectError(() => x.argmax(-3), RangeError);
    expectError(() => tg.cat([x, x], 4), RangeError);
    expectError(() => x.select(0, 10), RangeError, /index 10 out of range/);
    expectError(() => x.indexSelect(0, tg.tensor([9])), RangeError, /index out of range/);
    expectError(() => x.index(tg.tensor([7])), RangeError, /index 7 is out of bounds/);
    expectError(() => x.gather(1, tg.tensor([[9]])), RangeError, /index 9 is out of bounds for dimension 1 with size 3/);
    expectError(() => x.scatter(1, tg.tensor([[7]]), 1), RangeError, /out of bounds/);
    expectError(() => x.narrow(1, 2, 5), RangeError, /exceeds dimension size/);
    expectError(() => x.topk(9), RangeError, /out of range/);
    expectError(() => F.embedding(tg.tensor([7]), tg.randn([3, 2])), RangeError, /index out of range/);
    expectError(() => F.crossEntropy(x, tg.tensor([5, 0])), RangeError, /Target 5 is out of bounds/);
    expectError(() => F.oneHot(tg.tensor([5]), 3), RangeError, /Class values must be smaller than num_classes/);
    expectError(() => tg.zeros([-2]), RangeError, /non-negative/);
    expectError(() => tg.randn([2, 3], {}).reshape([1e300]), RangeError, /out of range/);
    expectError(() => F.dropout(x, 1.5), RangeError, /between 0 and 1/);
  });
});

test('a shape mismatch is a TorchError with LibTorch message and no C++ backtrace', () => {
  tg.tidy(() => {
    const x = tg.randn([2, 3]);
    const e = expectError(() => x.add(tg.randn([4])), tg.TorchError, /^The size of tensor a \(3\) must match the size of tensor b \(4\) at non-singleton dimension 1$/);
    assert.strictEqual(e.name, 'TorchError');
    assert.ok(e instanceof Error);
    expectError(() => x.mm(tg.randn([4, 5])), tg.TorchError, /^mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)$/);
    expectError(() => F.linear(x, tg.randn([3, 4])), tg.TorchError, /cannot be multiplied/);
    expectError(() => x.reshape([4]), tg.TorchError, /shape '\[4\]' is invalid for input of size 6/);
    expectError(() => x.t().view([6]), tg.TorchError, /view size is not compatible/);
    expectError(() => tg.cat([x, tg.randn([2, 4])]), tg.TorchError, /Sizes of tensors must match except in dimension 0/);
    expectError(() => F.conv2d(tg.randn([1, 3, 4, 4]), tg.randn([2, 4, 3, 3])), tg.TorchError, /expected input\[1, 3, 4, 4\] to have 4 channels/);
    expectError(() => x.expand([3, 3]), tg.TorchError, /The expanded size of the tensor/);
    expectError(() => x.item(), tg.TorchError, /6 elements/);
    expectError(() => x.sum().backward(), tg.TorchError, /does not require grad/);
  });
});

test('using a disposed tensor throws ERR_TENSOR_DISPOSED, as receiver or argument', async () => {
  const d = tg.ones([2]);
  d.dispose();
  const live = tg.ones([2]);
  for (const fn of [() => d.add(1), () => live.add(d), () => d.shape, () => d.dtype, () => F.relu(d), () => tg.cat([live, d]), () => d.toArray()]) {
    const e = expectError(fn, tg.TorchError, /tensor was disposed/);
    assert.strictEqual(e.code, 'ERR_TENSOR_DISPOSED');
  }
  await assert.rejects(d.data(), (e) => e.code === 'ERR_TENSOR_DISPOSED');
  assert.strictEqual(String(d), 'tensor(<disposed>)');
  assert.strictEqual(d.isDisposed, true);
  live.dispose();
});

test("'cuda' without a GPU is a TorchError ERR_NO_CUDA", { skip: cudaAvailable && 'a GPU is present' }, () => {
  for (const fn of [() => tg.zeros([2], { device: 'cuda' }), () => tg.ones([1]).to('cuda:1'), () => tg.randn([2], { device: 'cuda:0' })]) {
    const e = expectError(fn, tg.TorchError, /CUDA is not available/);
    assert.strictEqual(e.code, 'ERR_NO_CUDA');
  }
  assert.strictEqual(tg.cuda.isAvailable(), false);
  assert.strictEqual(tg.cuda.deviceCount(), 0);
});

test('a missing GPU index on a CUDA machine is an error, not an abort', { skip: CUDA_SKIP }, () => {
  const n = tg.cuda.deviceCount();
  assert.throws(() => tg.zeros([2], { device: `cuda:${n + 3}` }), Error);
});

test('fuzz: every Tensor method, functional and factory with junk arguments never aborts the process', () => {
  const child = path.join(__dirname, 'fixtures', 'fuzz-child.js');
  for (const seed of [1, 2]) {
    const r = spawnSync(process.execPath, [child, String(seed), '2500'], { encoding: 'utf8', timeout: 120000 });
    assert.strictEqual(r.signal, null, `seed ${seed}: child killed by ${r.signal}\n${r.stderr.slice(-2000)}`);
    assert.strictEqual(r.status, 0, `seed ${seed}: child exited with ${r.status}\n${r.stderr.slice(-2000)}`);
    const report = JSON.parse(r.stdout.trim().split('\n').pop());
    assert.ok(report.methods > 150 && report.functional >= 35, 'the fuzz saw every method and functional');
    assert.strictEqual(report.covered, report.methods + report.functional + 25, 'every target was called');
    assert.ok(report.calls >= report.covered, 'at least one round over every target');
    assert.strictEqual(report.nonErrorThrows, 0, `thrown values that are not Errors: ${report.samples.join('\n')}`);
    assert.strictEqual(report.backtraces, 0, `C++ backtraces leaked: ${report.samples.join('\n')}`);
    assert.ok(report.byClass.TypeError > 0 && report.byClass.TorchError > 0 && report.byClass.RangeError > 0);
  }
});
