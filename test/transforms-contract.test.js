'use strict';
// tg.transforms without Python: draw distributions, toJSON/fromJSON round trips, memory, and clear errors for bad input.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { CUDA_SKIP } = require('./helpers/cuda');

const T = tg.transforms;

test('RandomHorizontalFlip flips at rate p over 2,000 draws; p = 0 and 1 never and always flip', () => {
  tg.manualSeed(11);
  const img = tg.arange(0, 6, 1, { dtype: 'float32' }).reshape([1, 2, 3]);
  for (const p of [0, 0.25, 0.5, 1]) {
    const flip = new T.RandomHorizontalFlip(p);
    let flips = 0;
    for (let i = 0; i < 2000; i++) {
      const out = flip.apply(img);
      if (out !== img) {
        flips++;
        assert.deepStrictEqual(out.toArray(), [[[2, 1, 0], [5, 4, 3]]]);
        out.dispose();
      }
    }
    // 4.5 standard deviations of a binomial(2000, p).
    const tol = 4.5 * Math.sqrt(2000 * p * (1 - p));
    assert.ok(Math.abs(flips - 2000 * p) <= tol, `p=${p}: ${flips} flips of 2000`);
  }
});

test('RandomResizedCrop boxes stay inside the image, within scale and ratio (up to rounding), and cover the range', () => {
  tg.manualSeed(12);
  const [H, W] = [375, 500];
  const scale = [0.08, 1];
  const ratio = [3 / 4, 4 / 3];
  let minArea = Infinity;
  let maxArea = 0;
  for (let k = 0; k < 2000; k++) {
    const [i, j, h, w] = T.RandomResizedCrop.getParams(H, W, scale, ratio);
    assert.ok(i >= 0 && j >= 0 && i + h <= H && j + w <= W && h > 0 && w > 0, `box ${[i, j, h, w]}`);
    const area = (h * w) / (H * W);
    minArea = Math.min(minArea, area);
    maxArea = Math.max(maxArea, area);
    // Rounding each side to whole pixels moves the area and ratio by at most about one pixel per side.
    assert.ok(area >= scale[0] * 0.97 && area <= scale[1] * 1.01, `area ${area}`);
    assert.ok(w / h >= ratio[0] * 0.99 && w / h <= ratio[1] * 1.01, `ratio ${w / h}`);
  }
  assert.ok(minArea < 0.12 && maxArea > 0.8, `areas covered ${minArea}..${maxArea}`);
});

test('ColorJitter draws every order of the four adjustments and factors inside their ranges', () => {
  tg.manualSeed(13);
  const orders = new Set();
  for (let k = 0; k < 500; k++) {
    const p = T.ColorJitter.getParams([0.6, 1.4], [0.5, 1.5], null, [-0.1, 0.1]);
    orders.add(p.order.join(''));
    assert.deepStrictEqual([...p.order].sort(), [0, 1, 2, 3]);
    assert.ok(p.brightness >= 0.6 && p.brightness <= 1.4 && p.contrast >= 0.5 && p.contrast <= 1.5 && Math.abs(p.hue) <= 0.1);
    assert.strictEqual(p.saturation, null);
  }
  assert.strictEqual(orders.size, 24);
});

test('every transform rebuilds from its JSON (Compose nesting) and gives the same output from the same seed', () => {
  const all = new T.Compose([
    new T.Resize(40, { maxSize: 60, interpolation: 'bicubic', antialias: false }),
    new T.CenterCrop([38, 44]),
    new T.RandomCrop(36, { padding: [1, 2], paddingMode: 'edge', padIfNeeded: true, fill: 3 }),
    new T.RandomResizedCrop([30, 32], { scale: [0.3, 0.9], ratio: [0.8, 1.2], interpolation: 'nearest' }),
    new T.RandomHorizontalFlip(0.7),
    new T.RandomVerticalFlip(0.2),
    new T.ColorJitter({ brightness: 0.3, contrast: [0.5, 1], saturation: 0.1, hue: [-0.2, 0.1] }),
    new T.RandomRotation([-20, 35], { interpolation: 'bilinear', expand: true, center: [4, 5], fill: [1, 2, 3] }),
    new T.ConvertImageDtype('float32'),
    new T.Compose([new T.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3])]),
  ]);
  const spec = JSON.parse(JSON.stringify(all.toJSON()));
  const again = T.fromJSON(spec);
  assert.deepStrictEqual(again.toJSON(), all.toJSON());
  const img = tg.randint(0, 256, [3, 50, 70], { dtype: 'uint8' });
  tg.manualSeed(5);
  const a = all.apply(img);
  tg.manualSeed(5);
  const b = again.apply(img);
  assert.ok(a.equal(b));
  assert.deepStrictEqual(a.shape.slice(0, 1), [3]);
  assert.deepStrictEqual(T.fromJSON(new T.ToTensor().toJSON()).toJSON(), { name: 'ToTensor' });
  assert.deepStrictEqual(T.fromJSON(new T.ToImageTensor().toJSON()).toJSON(), { name: 'ToImageTensor' });
});

test('Compose releases the tensors it makes in between, and keeps its input', () => {
  const img = tg.randint(0, 256, [3, 40, 40], { dtype: 'uint8' });
  const pipe = new T.Compose([new T.RandomResizedCrop(16), new T.RandomHorizontalFlip(1), new T.ConvertImageDtype('float32'), new T.Normalize(0.5, 0.5)]);
  pipe.apply(img).dispose();
  const before = tg.memory().tensors;
  for (let i = 0; i < 20; i++) pipe.apply(img).dispose();
  // At most as many live tensors as before (the garbage collector may free unrelated ones meanwhile); a leak adds 20+.
  assert.ok(tg.memory().tensors <= before, `${tg.memory().tensors} live tensors after 20 runs, ${before} before`);
  assert.deepStrictEqual(img.shape, [3, 40, 40]);
  assert.ok(img.sum().item() >= 0);
});

test('transforms work on 5-D stacks [..., C, H, W] as on each image', () => {
  const x = tg.rand([2, 2, 3, 9, 11]);
  const r = new T.Resize([5, 6]).apply(x);
  assert.deepStrictEqual(r.shape, [2, 2, 3, 5, 6]);
  const each = new T.Resize([5, 6]).apply(x.select(0, 1).select(0, 0));
  assert.ok(r.select(0, 1).select(0, 0).allclose(each));
  assert.deepStrictEqual(new T.Normalize(0.5, 0.5).apply(x).shape, x.shape);
  assert.deepStrictEqual(new T.CenterCrop(4).apply(x).shape, [2, 2, 3, 4, 4]);
  assert.deepStrictEqual(new T.RandomRotation(10, { expand: true }).apply(x).shape.slice(0, 3), [2, 2, 3]);
});

test('bad inputs and options give TypeError or RangeError naming the transform and the option', () => {
  const img = tg.rand([3, 8, 8]);
  const noImage = [tg.rand([8, 8]), [1, 2], null, 'img', { data: 1 }];
  for (const t of [new T.Resize(4), new T.CenterCrop(4), new T.RandomCrop(4), new T.RandomResizedCrop(4), new T.RandomHorizontalFlip(), new T.ColorJitter(), new T.RandomRotation(5), new T.Normalize(0, 1)]) {
    const name = t.toJSON().name;
    for (const bad of noImage) assert.throws(() => t.apply(bad), (e) => e instanceof TypeError && e.message.startsWith(`${name}:`), `${name} on ${String(bad)}`);
  }
  for (const size of [0, -3, 2.5, [2, 0], [1, 2, 3], 'big', null]) {
    assert.throws(() => new T.Resize(size), /^RangeError: Resize: size/);
    assert.throws(() => new T.CenterCrop(size), /^RangeError: CenterCrop: size/);
    assert.throws(() => new T.RandomCrop(size), /^RangeError: RandomCrop: size/);
    assert.throws(() => new T.RandomResizedCrop(size), /^RangeError: RandomResizedCrop: size/);
  }
  assert.throws(() => new T.Resize(4, { interpolation: 'lanczos' }), /RangeError: Resize: interpolation must be 'nearest' or 'bilinear' or 'bicubic', got "lanczos"/);
  assert.throws(() => new T.Resize([4, 5], { maxSize: 9 }), /Resize: maxSize is only allowed/);
  assert.throws(() => new T.Resize(4, { maxSize: 4 }), /Resize: maxSize \(4\) must be greater/);
  assert.throws(() => new T.Resize(4, { antialias: 'yes' }), /TypeError: Resize: antialias must be a boolean/);
  assert.throws(() => new T.Resize(4, { antiAlias: true }), /TypeError: Resize: unknown option 'antiAlias'/);
  assert.throws(() => new T.RandomResizedCrop(4, { scale: [0.9, 0.1] }), /RangeError: RandomResizedCrop: scale must be \[min, max\] with min <= max/);
  assert.throws(() => new T.RandomResizedCrop(4, { ratio: [0, 1] }), /RangeError: RandomResizedCrop: ratio/);
  assert.throws(() => new T.RandomResizedCrop(4, { interpolation: 'area' }), /RandomResizedCrop: interpolation/);
  for (const p of [-0.1, 1.5, NaN, '0.5']) {
    assert.throws(() => new T.RandomHorizontalFlip(p), /RangeError: RandomHorizontalFlip: p must be a probability/);
    assert.throws(() => new T.RandomVerticalFlip(p), /RangeError: RandomVerticalFlip: p must be a probability/);
  }
  assert.throws(() => new T.ColorJitter({ brightness: -0.1 }), /RangeError: ColorJitter: brightness/);
  assert.throws(() => new T.ColorJitter({ contrast: [1.5, 0.5] }), /RangeError: ColorJitter: contrast must be \[min, max\]/);
  assert.throws(() => new T.ColorJitter({ hue: 0.6 }), /RangeError: ColorJitter: hue/);
  assert.throws(() => new T.ColorJitter({ hue: [-0.7, 0] }), /RangeError: ColorJitter: hue/);
  assert.throws(() => new T.ColorJitter({ saturation: 'lots' }), /TypeError: ColorJitter: saturation/);
  assert.throws(() => new T.ColorJitter({ brightness: 0.1 }).apply(tg.rand([4, 5, 5])), /TypeError: ColorJitter: expected 1 or 3 channels/);
  assert.throws(() => new T.RandomCrop(4, { padding: -1 }), /RangeError: RandomCrop: padding/);
  assert.throws(() => new T.RandomCrop(4, { padding: [1, 2, 3] }), /RangeError: RandomCrop: padding/);
  assert.throws(() => new T.RandomCrop(4, { paddingMode: 'wrap' }), /RangeError: RandomCrop: paddingMode/);
  assert.throws(() => new T.RandomCrop(4, { fill: 'red' }), /RangeError: RandomCrop: fill/);
  assert.throws(() => new T.RandomCrop(10).apply(img), /RangeError: RandomCrop: the crop 10x10 is larger/);
  assert.throws(() => new T.RandomCrop(4, { padding: 8, paddingMode: 'reflect' }).apply(img), /RangeError: RandomCrop: reflect padding/);
  assert.throws(() => new T.RandomRotation(-5), /RangeError: RandomRotation: degrees/);
  assert.throws(() => new T.RandomRotation([10, -10]), /RangeError: RandomRotation: degrees/);
  assert.throws(() => new T.RandomRotation(5, { interpolation: 'bicubic' }), /RangeError: RandomRotation: interpolation/);
  assert.throws(() => new T.RandomRotation(5, { center: [1] }), /RangeError: RandomRotation: center/);
  assert.throws(() => new T.RandomRotation(5, { fill: [1, 2] }).apply(img), /RangeError: RandomRotation: fill has 2 values/);
  assert.throws(() => new T.Normalize([0.5], [0]), /RangeError: Normalize: std must not be 0/);
  assert.throws(() => new T.Normalize(0.5, 0.5).apply(tg.randint(0, 255, [3, 4, 4], { dtype: 'uint8' })), /TypeError: Normalize: expected float images/);
  assert.throws(() => new T.ConvertImageDtype('bool'), /RangeError: ConvertImageDtype: dtype/);
  assert.throws(() => new T.ConvertImageDtype('int32').apply(img), /RangeError: ConvertImageDtype: the cast from float32 to int32/);
  assert.throws(() => new T.ToTensor().apply(img), /TypeError: ToTensor: expected a decoded image .* use ConvertImageDtype/);
  assert.throws(() => new T.ToTensor().apply({ data: new Uint8Array(5), width: 2, height: 2, channels: 1 }), /RangeError: ToTensor: the image's data holds 5 bytes/);
  assert.throws(() => new T.ToImageTensor().apply({ data: new Uint8Array(0), width: 0, height: 2, channels: 1 }), /RangeError: ToImageTensor: the image's width/);
  assert.throws(() => new T.ToImageTensor().apply(img), /TypeError: ToImageTensor: a tensor input must already be uint8/);
  assert.throws(() => new T.Compose([new T.Resize(4), { apply() {} }]), /TypeError: Compose: element 1 is not a transform/);
});

test('fromJSON rejects unknown names and bad options with the transform and the option named', () => {
  assert.throws(() => T.fromJSON({ name: 'RandomErasing' }), /TypeError: transforms.fromJSON: no transform is registered as 'RandomErasing'/);
  assert.throws(() => T.fromJSON({ name: 'Resize', size: 4, colour: 'red' }), /TypeError: Resize: unknown option 'colour'/);
  assert.throws(() => T.fromJSON({ name: 'Resize', size: -4 }), /RangeError: Resize: size/);
  assert.throws(() => T.fromJSON({ name: 'RandomHorizontalFlip', p: 2 }), /RangeError: RandomHorizontalFlip: p/);
  assert.throws(() => T.fromJSON({ name: 'Compose', transforms: [{ name: 'CenterCrop', size: 0 }] }), /RangeError: CenterCrop: size/);
  assert.throws(() => T.fromJSON({ name: 'Compose' }), /TypeError: Compose: the spec needs transforms/);
  assert.throws(() => T.fromJSON({ name: 'ColorJitter', brightness: -1 }), /RangeError: ColorJitter: brightness/);
  assert.throws(() => T.fromJSON({ name: 'RandomRotation', degrees: [5, 1] }), /RangeError: RandomRotation: degrees/);
});

test('on CUDA images every transform gives what it gives on the CPU from the same seed', { skip: CUDA_SKIP }, () => {
  const pipe = new T.Compose([
    new T.RandomCrop(44, { padding: 3, paddingMode: 'reflect' }),
    new T.RandomResizedCrop(32, { antialias: true }),
    new T.RandomHorizontalFlip(),
    new T.ColorJitter({ brightness: 0.3, contrast: 0.3, saturation: 0.3, hue: 0.1 }),
    new T.RandomRotation(20, { interpolation: 'bilinear', fill: 1 }),
    new T.ConvertImageDtype('float32'),
    new T.Normalize(T.IMAGENET_MEAN, T.IMAGENET_STD),
    new T.CenterCrop(36),
  ]);
  const img = tg.randint(0, 256, [2, 3, 45, 50], { dtype: 'uint8' });
  tg.manualSeed(21);
  const cpu = pipe.apply(img);
  tg.manualSeed(21);
  const gpu = pipe.apply(img.to('cuda'));
  assert.ok(gpu.device.startsWith('cuda'));
  // Kernels differ on the GPU: uint8 steps may round one level apart (1/255 before Normalize, about 0.02 after, and a few such steps chain).
  assert.ok(gpu.cpu().sub(cpu).abs().max().item() <= 0.1);
});
