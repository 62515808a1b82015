'use strict';
// tg.transforms: resize against PyTorch's F.interpolate, normalize against the per-channel formula.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { hasPyTorch, runTorch, assertClose } = require('./helpers/torch');
const { CUDA_SKIP } = require('./helpers/cuda');

const skip = !hasPyTorch() && 'Python PyTorch (/usr/bin/python3) is not available';

test('resize matches F.interpolate for bilinear, nearest and bicubic, batches and single images', { skip }, () => {
  tg.manualSeed(7);
  const batch = tg.randn([2, 3, 10, 14]);
  const image = tg.randn([3, 9, 7]);
  const cases = {
    up_bilinear: [batch, [16, 20], {}],
    down_bilinear: [batch, 5, {}],
    down_bilinear_ac: [batch, [6, 9], { alignCorners: true }],
    nearest: [batch, [7, 21], { mode: 'nearest' }],
    bicubic: [batch, [12, 12], { mode: 'bicubic' }],
    image_bilinear: [image, [18, 5], {}],
  };
  const py = runTorch(`
import torch.nn.functional as F
b, im = T['batch'], T['image']
OUT['up_bilinear'] = F.interpolate(b, size=(16, 20), mode='bilinear', align_corners=False)
OUT['down_bilinear'] = F.interpolate(b, size=(5, 5), mode='bilinear', align_corners=False)
OUT['down_bilinear_ac'] = F.interpolate(b, size=(6, 9), mode='bilinear', align_corners=True)
OUT['nearest'] = F.interpolate(b, size=(7, 21), mode='nearest')
OUT['bicubic'] = F.interpolate(b, size=(12, 12), mode='bicubic', align_corners=False)
OUT['image_bilinear'] = F.interpolate(im.unsqueeze(0), size=(18, 5), mode='bilinear', align_corners=False).squeeze(0)
`, { batch, image });
  for (const [name, [x, size, o]] of Object.entries(cases)) {
    const got = tg.transforms.resize(x, size, o);
    assert.deepStrictEqual(got.shape, py[name].shape, name);
    assertClose(assert, got, py[name], 1e-5, name);
  }
});

test('resize rejects bad inputs, sizes and modes', () => {
  const x = tg.randn([3, 4, 4]);
  assert.throws(() => tg.transforms.resize(tg.randn([4, 4]), 2), /expected \(C, H, W\) or \(N, C, H, W\)/);
  assert.throws(() => tg.transforms.resize(x.to('int64'), 2), /floating-point/);
  for (const size of [0, [2], [2, 0], [2.5, 3], 'big']) assert.throws(() => tg.transforms.resize(x, size), /size must be/);
  assert.throws(() => tg.transforms.resize(x, 2, { mode: 'area' }), /mode must be/);
  assert.throws(() => tg.transforms.resize([1, 2], 2), /expected a Tensor/);
});

test('normalize subtracts each channel mean and divides by its std, for images and batches', () => {
  const x = tg.rand([2, 3, 4, 5]);
  const out = tg.transforms.normalize(x, tg.transforms.IMAGENET_MEAN, tg.transforms.IMAGENET_STD);
  const xs = x.dataSync();
  const os = out.dataSync();
  const hw = 20;
  for (let i = 0; i < xs.length; i++) {
    const c = Math.floor(i / hw) % 3;
    const want = (xs[i] - tg.transforms.IMAGENET_MEAN[c]) / tg.transforms.IMAGENET_STD[c];
    assert.ok(Math.abs(os[i] - want) < 1e-5, `element ${i}`);
  }
  const single = tg.transforms.normalize(x.select(0, 1), [0.5, 0.5, 0.5], 0.5);
  assert.ok(single.allclose(x.select(0, 1).sub(0.5).div(0.5), 1e-6, 1e-6));
  assert.strictEqual(tg.transforms.normalize(x.double(), 0, 1).dtype, 'float64');
});

test('normalize rejects a mean or std of the wrong length, a zero std and non-images', () => {
  const x = tg.rand([3, 4, 4]);
  assert.throws(() => tg.transforms.normalize(x, [0.5, 0.5], 1), /mean must be a number or 3 numbers/);
  assert.throws(() => tg.transforms.normalize(x, 0, [1, 0, 1]), /std must not be 0/);
  assert.throws(() => tg.transforms.normalize(tg.rand([4]), 0, 1), /expected \(C, H, W\)/);
  assert.throws(() => tg.transforms.normalize(x, 'a', 1), /mean must be/);
});

test('resize and normalize release their intermediates: only the result stays', () => {
  const x = tg.randn([2, 3, 8, 8]);
  const image = tg.randn([3, 8, 8]);
  const n0 = tg.memory().tensors;
  const results = [tg.transforms.resize(x, 4), tg.transforms.resize(image, [5, 6]), tg.transforms.normalize(x, tg.transforms.IMAGENET_MEAN, tg.transforms.IMAGENET_STD)];
  assert.strictEqual(tg.memory().tensors - n0, results.length);
});

test('resize and normalize keep the input device', { skip: CUDA_SKIP }, () => {
  const x = tg.rand([1, 3, 8, 8], { device: 'cuda' });
  assert.strictEqual(tg.transforms.resize(x, 4).device, x.device);
  const n = tg.transforms.normalize(x, tg.transforms.IMAGENET_MEAN, tg.transforms.IMAGENET_STD);
  assert.ok(n.cpu().allclose(tg.transforms.normalize(x.cpu(), tg.transforms.IMAGENET_MEAN, tg.transforms.IMAGENET_STD), 1e-5, 1e-6));
});
