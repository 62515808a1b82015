/** torchvision's tensor colour adjustments (brightness, contrast, saturation, hue with rgb↔hsv), op for op. */
import { Tensor } from '../tensor';
import { isFloatingDType } from '../dtype';
import { onesLike, stack, zerosLike } from '../creation';
import { tidy } from '../memory';

// torchvision's _blend: ratio * img1 + (1 - ratio) * img2, clamped to the dtype's range, back in img1's dtype.
function blend(img1: Tensor, img2: Tensor, ratio: number): Tensor {
  const bound = isFloatingDType(img1.dtype) ? 1.0 : 255.0;
  return img1.mul(ratio).add(img2.mul(1.0 - ratio)).clamp(0, bound).to(img1.dtype);
}

/** torchvision's `rgb_to_grayscale` (one output channel) on `[..., 3, H, W]`, or a copy of a one-channel image. */
export function rgbToGrayscale(img: Tensor): Tensor {
  return tidy(() => {
    if (img.shape[img.ndim - 3] !== 3) return img.clone();
    const [r, g, b] = [0, 1, 2].map((c) => img.select(-3, c));
    return r.mul(0.2989).add(g.mul(0.587)).add(b.mul(0.114)).to(img.dtype).unsqueeze(-3);
  });
}

/** torchvision's `adjust_brightness`: blends with black. */
export function adjustBrightness(img: Tensor, factor: number): Tensor {
  return tidy(() => blend(img, zerosLike(img), factor));
}

/** torchvision's `adjust_contrast`: blends with the mean grey level of each image. */
export function adjustContrast(img: Tensor, factor: number): Tensor {
  return tidy(() => {
    const dtype = isFloatingDType(img.dtype) ? img.dtype : 'float32';
    const grey = img.shape[img.ndim - 3] === 3 ? rgbToGrayscale(img) : img;
    const mean = grey.to(dtype).mean([-3, -2, -1], true);
    return blend(img, mean, factor);
  });
}

/** torchvision's `adjust_saturation`: blends with the grey image (one-channel images unchanged). */
export function adjustSaturation(img: Tensor, factor: number): Tensor {
  if (img.shape[img.ndim - 3] === 1) return img;
  return tidy(() => blend(img, rgbToGrayscale(img), factor));
}

// torchvision's _rgb2hsv on float images [..., 3, H, W].
function rgbToHsv(img: Tensor): Tensor {
  const [r, g, b] = [0, 1, 2].map((c) => img.select(-3, c));
  const maxc = img.amax(-3);
  const minc = img.amin(-3);
  const eqc = maxc.eq(minc);
  const cr = maxc.sub(minc);
  const ones = onesLike(maxc);
  const s = cr.div(ones.where(eqc, maxc));
  const crDivisor = ones.where(eqc, cr);
  const rc = maxc.sub(r).div(crDivisor);
  const gc = maxc.sub(g).div(crDivisor);
  const bc = maxc.sub(b).div(crDivisor);
  const isR = maxc.eq(r);
  const isG = maxc.eq(g).logicalAnd(isR.logicalNot());
  const isB = maxc.ne(g).logicalAnd(isR.logicalNot());
  const hr = isR.to(img.dtype).mul(bc.sub(gc));
  const hg = isG.to(img.dtype).mul(rc.add(2.0).sub(bc));
  const hb = isB.to(img.dtype).mul(gc.add(4.0).sub(rc));
  const h = hr.add(hg).add(hb).div(6.0).add(1.0).fmod(1.0);
  return stack([h, s, maxc], -3);
}

// torchvision's _hsv2rgb; its one-hot einsum picks one of six candidates per pixel, which a gather does exactly.
function hsvToRgb(img: Tensor): Tensor {
  const [h, s, v] = [0, 1, 2].map((c) => img.select(-3, c));
  const i6 = h.mul(6.0).floor();
  const f = h.mul(6.0).sub(i6);
  const i = i6.to('int32').remainder(6).to('int64').unsqueeze(-3);
  const p = v.mul(s.mul(-1).add(1.0)).clamp(0.0, 1.0);
  const q = v.mul(s.mul(f).mul(-1).add(1.0)).clamp(0.0, 1.0);
  const t = v.mul(s.mul(f.mul(-1).add(1.0)).mul(-1).add(1.0)).clamp(0.0, 1.0);
  const pick = (cands: Tensor[]) => stack(cands, -3).gather(-3, i).squeeze(-3);
  return stack([pick([v, q, p, p, t, v]), pick([t, v, v, q, p, p]), pick([p, p, t, v, v, q])], -3);
}

/** torchvision's `adjust_hue`: shifts the hue by `factor` (in [-0.5, 0.5]) through HSV; one-channel images unchanged. */
export function adjustHue(img: Tensor, factor: number): Tensor {
  if (img.shape[img.ndim - 3] === 1) return img;
  return tidy(() => {
    const x = img.dtype === 'uint8' ? img.to('float32').div(255.0) : img;
    const hsv = rgbToHsv(x);
    const h = hsv.select(-3, 0).add(factor).remainder(1.0);
    const rgb = hsvToRgb(stack([h, hsv.select(-3, 1), hsv.select(-3, 2)], -3));
    return img.dtype === 'uint8' ? rgb.mul(255.0).to('uint8') : rgb;
  });
}
