'use strict';
// tg.transforms' deterministic transforms against torchvision's on the same tensors: Resize, CenterCrop, Normalize,
// ConvertImageDtype, ToTensor/ToImageTensor from decoded bytes, and interpolate(antialias) against F.interpolate.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { runTorch } = require('./helpers/torch');
const { torchvisionSkip, maxAbsDiff } = require('./helpers/torchvision');

const skip = torchvisionSkip();
const T = tg.transforms;

// Runs each case's Python expression (with torchvision as TV, F as torch.nn.functional) and compares within tol.
function compare(t, inputs, cases, tolFor) {
  let code = 'import torchvision.transforms as TV\nimport torch.nn.functional as F\n';
  for (const name of Object.keys(inputs)) code += `${name} = T['${name}']\n`;
  for (const [k, [, py]] of Object.entries(cases)) code += `OUT['${k}'] = ${py}\n`;
  const out = runTorch(code, inputs);
  const worst = {};
  for (const [k, [fn]] of Object.entries(cases)) {
    const got = fn();
    assert.deepStrictEqual(got.shape, out[k].shape, `${k}: shape`);
    const d = maxAbsDiff(got, out[k]);
    const tol = tolFor(got);
    assert.ok(d <= tol, `${k}: max |difference| ${d} > ${tol}`);
    worst[got.dtype] = Math.max(worst[got.dtype] ?? 0, d);
  }
  t.diagnostic(`max |difference| by dtype: ${JSON.stringify(worst)}`);
}
const tolerance = (got) => (got.dtype === 'uint8' ? 1 : 1e-5);

test('Resize matches torchvision.transforms.Resize on float and uint8 images, batches, odd shapes', { skip }, (t) => {
  tg.manualSeed(1);
  const f = tg.rand([3, 37, 50]);
  const u = tg.randint(0, 256, [3, 37, 50], { dtype: 'uint8' });
  const b = tg.rand([2, 3, 17, 23]);
  const ub = tg.randint(0, 256, [2, 1, 41, 19], { dtype: 'uint8' });
  const d = tg.rand([3, 11, 13], { dtype: 'float64' });
  const cases = {};
  for (const aa of [true, false]) {
    const A = aa ? 'True' : 'False';
    Object.assign(cases, {
      [`short_f_${aa}`]: [() => new T.Resize(20, { antialias: aa }).apply(f), `TV.Resize(20, antialias=${A})(f)`],
      [`short_u_${aa}`]: [() => new T.Resize([20], { antialias: aa }).apply(u), `TV.Resize([20], antialias=${A})(u)`],
      [`hw_up_u_${aa}`]: [() => new T.Resize([60, 41], { antialias: aa }).apply(u), `TV.Resize([60, 41], antialias=${A})(u)`],
      [`bicubic_u_${aa}`]: [() => new T.Resize(25, { antialias: aa, interpolation: 'bicubic' }).apply(u), `TV.Resize(25, antialias=${A}, interpolation=TV.InterpolationMode.BICUBIC)(u)`],
      [`bicubic_f_${aa}`]: [() => new T.Resize([9, 31], { antialias: aa, interpolation: 'bicubic' }).apply(f), `TV.Resize([9, 31], antialias=${A}, interpolation=TV.InterpolationMode.BICUBIC)(f)`],
      [`batch_${aa}`]: [() => new T.Resize(7, { antialias: aa }).apply(b), `TV.Resize(7, antialias=${A})(b)`],
      [`batch_u_${aa}`]: [() => new T.Resize(30, { antialias: aa }).apply(ub), `TV.Resize(30, antialias=${A})(ub)`],
      [`maxsize_${aa}`]: [() => new T.Resize(20, { maxSize: 24, antialias: aa }).apply(f), `TV.Resize(20, max_size=24, antialias=${A})(f)`],
      [`f64_${aa}`]: [() => new T.Resize([5, 6], { antialias: aa }).apply(d), `TV.Resize([5, 6], antialias=${A})(d)`],
    });
  }
  cases.nearest = [() => new T.Resize(15, { interpolation: 'nearest', antialias: false }).apply(u), 'TV.Resize(15, interpolation=TV.InterpolationMode.NEAREST)(u)'];
  compare(t, { f, u, b, ub, d }, cases, tolerance);
});

test('CenterCrop matches torchvision (smaller, larger with zero padding, odd margins, batches)', { skip }, (t) => {
  tg.manualSeed(2);
  const u = tg.randint(0, 256, [3, 37, 50], { dtype: 'uint8' });
  const b = tg.rand([2, 3, 10, 9]);
  const cases = {
    small: [() => new T.CenterCrop(20).apply(u), 'TV.CenterCrop(20)(u)'],
    odd: [() => new T.CenterCrop([36, 21]).apply(u), 'TV.CenterCrop([36, 21])(u)'],
    larger: [() => new T.CenterCrop([40, 61]).apply(u), 'TV.CenterCrop([40, 61])(u)'],
    mixed: [() => new T.CenterCrop([13, 4]).apply(b), 'TV.CenterCrop([13, 4])(b)'],
    same: [() => new T.CenterCrop([10, 9]).apply(b), 'TV.CenterCrop([10, 9])(b)'],
  };
  compare(t, { u, b }, cases, () => 0);
});

test('Normalize and ConvertImageDtype match torchvision', { skip }, (t) => {
  tg.manualSeed(3);
  const f = tg.rand([2, 3, 8, 9]);
  const g = tg.rand([3, 5, 4], { dtype: 'float64' });
  const u = tg.randint(0, 256, [3, 6, 7], { dtype: 'uint8' });
  const i16 = tg.randint(0, 32768, [1, 4, 4], { dtype: 'int16' });
  const m = [0.485, 0.456, 0.406];
  const s = [0.229, 0.224, 0.225];
  const cases = {
    norm: [() => new T.Normalize(m, s).apply(f), `TV.Normalize(${JSON.stringify(m)}, ${JSON.stringify(s)})(f)`],
    norm64: [() => new T.Normalize([0.5], [0.25]).apply(g), 'TV.Normalize([0.5], [0.25])(g)'],
    u2f: [() => new T.ConvertImageDtype('float32').apply(u), 'TV.ConvertImageDtype(torch.float32)(u)'],
    f2u: [() => new T.ConvertImageDtype('uint8').apply(f), 'TV.ConvertImageDtype(torch.uint8)(f)'],
    d2u: [() => new T.ConvertImageDtype('uint8').apply(g), 'TV.ConvertImageDtype(torch.uint8)(g)'],
    i16u: [() => new T.ConvertImageDtype('uint8').apply(i16), 'TV.ConvertImageDtype(torch.uint8)(i16)'],
    u2i16: [() => new T.ConvertImageDtype('int16').apply(u), 'TV.ConvertImageDtype(torch.int16)(u)'],
  };
  compare(t, { f, g, u, i16 }, cases, () => 0);
});

test('ToTensor and ToImageTensor read decoded HWC bytes as torchvision reads an array and a PIL image', { skip }, (t) => {
  const images = [
    { width: 7, height: 5, channels: 3 },
    { width: 4, height: 9, channels: 4 },
    { width: 6, height: 3, channels: 1 },
  ].map((im, k) => ({ ...im, data: Uint8Array.from({ length: im.width * im.height * im.channels }, (_, i) => (i * 37 + k * 11) % 256) }));
  const inputs = {};
  const cases = {};
  images.forEach((im, k) => {
    inputs[`raw${k}`] = tg.tensor(im.data, { shape: [im.height, im.width, im.channels], dtype: 'uint8' });
    cases[`float${k}`] = [() => new T.ToTensor().apply(im), `TV.ToTensor()(raw${k}.numpy())`];
    const pil = im.channels === 1 ? `raw${k}.numpy()[:, :, 0]` : `raw${k}.numpy()`;
    cases[`uint8_${k}`] = [() => new T.ToImageTensor().apply(im), `TV.PILToTensor()(__import__('PIL.Image').Image.fromarray(${pil}))`];
  });
  compare(t, inputs, cases, () => 0);
  assert.strictEqual(new T.ToTensor().apply(images[0]).dtype, 'float32');
  assert.strictEqual(new T.ToImageTensor().apply(images[0]).dtype, 'uint8');
});

test('nn.functional.interpolate with antialias matches F.interpolate(antialias=True)', { skip }, (t) => {
  tg.manualSeed(4);
  const x = tg.rand([2, 3, 40, 31]);
  const F = tg.nn.functional;
  const cases = {
    bl_down: [() => F.interpolate(x, { size: [13, 17], mode: 'bilinear', antialias: true }), "F.interpolate(x, size=(13, 17), mode='bilinear', antialias=True)"],
    bc_down: [() => F.interpolate(x, { size: [9, 30], mode: 'bicubic', antialias: true }), "F.interpolate(x, size=(9, 30), mode='bicubic', antialias=True)"],
    bl_up: [() => F.interpolate(x, { size: [50, 62], mode: 'bilinear', antialias: true }), "F.interpolate(x, size=(50, 62), mode='bilinear', antialias=True)"],
    bl_ac: [() => F.interpolate(x, { size: [20, 10], mode: 'bilinear', alignCorners: true, antialias: true }), "F.interpolate(x, size=(20, 10), mode='bilinear', align_corners=True, antialias=True)"],
  };
  compare(t, { x }, cases, () => 1e-5);
  // Antialiasing must change a strong downsampling (else the test above could pass with it ignored).
  const plain = F.interpolate(x, { size: [13, 17], mode: 'bilinear' });
  assert.ok(plain.sub(cases.bl_down[0]()).abs().max().item() > 1e-3);
});
