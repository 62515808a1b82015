/** Normalize as a transform: torchvision's `Normalize(mean, std)` over tensor images `[..., C, H, W]`. */
import { Tensor } from '../tensor';
import { tidy } from '../memory';
import { isFloatingDType } from '../dtype';
import { registerTransform, Transform, TransformSpec } from './transform';
import { checkImage, checkKeys } from './params';
import { normalize } from './normalize';

function list(v: unknown, what: string): number[] {
  const l = typeof v === 'number' ? [v] : v;
  if (!Array.isArray(l) || l.length === 0 || l.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new RangeError(`Normalize: ${what} must be a number or a list of numbers (one per channel), got ${JSON.stringify(v)}`);
  }
  return [...l];
}

/**
 * (x - mean[c]) / std[c] per channel of float tensor images `[..., C, H, W]`, as torchvision's `Normalize`.
 * @throws RangeError for a bad mean or std (a std of 0 included); TypeError for non-float or non-image inputs.
 * @example new tg.transforms.Normalize(tg.transforms.IMAGENET_MEAN, tg.transforms.IMAGENET_STD)
 */
export class Normalize implements Transform {
  readonly mean: number[];
  readonly std: number[];
  constructor(mean: number | readonly number[], std: number | readonly number[]) {
    this.mean = list(mean, 'mean');
    this.std = list(std, 'std');
    if (this.std.some((s) => s === 0)) throw new RangeError(`Normalize: std must not be 0, got ${JSON.stringify(std)}`);
  }
  apply(input: unknown): Tensor {
    const img = checkImage(input, 'Normalize');
    if (!isFloatingDType(img.dtype)) throw new TypeError(`Normalize: expected float images, got ${img.dtype} (ConvertImageDtype('float32') first)`);
    const per = (v: number[]) => (v.length === 1 ? v[0] : v);
    if (img.ndim <= 4) return normalize(img, per(this.mean), per(this.std));
    return tidy(() => normalize(img.reshape([-1, ...img.shape.slice(-3)]), per(this.mean), per(this.std)).reshape(img.shape));
  }
  toJSON(): TransformSpec {
    return { name: 'Normalize', mean: [...this.mean], std: [...this.std] };
  }
}

registerTransform('Normalize', (spec) => {
  const o = checkKeys('Normalize', spec, ['name', 'mean', 'std']);
  return new Normalize(o.mean as number[], o.std as number[]);
});
