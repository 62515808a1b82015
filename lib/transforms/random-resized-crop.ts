/** RandomResizedCrop: a random area and aspect ratio, resized to a fixed size, drawn as torchvision's. */
import { Tensor } from '../tensor';
import { tensor } from '../creation';
import { tidy } from '../memory';
import { registerTransform, Transform, TransformSpec } from './transform';
import { bool, checkImage, checkKeys, cropSize, interpolation, Interpolation, pyRound, randomInt, uniform, specOptions } from './params';
import { cropImage, resizeImage } from './image-ops';

/** Options of RandomResizedCrop, as torchvision's keyword arguments. */
export interface RandomResizedCropOptions {
  /** Bounds of the crop's area as a fraction of the image's (default [0.08, 1]). */
  scale?: [number, number];
  /** Bounds of the crop's width / height (default [3/4, 4/3]); drawn log-uniformly. */
  ratio?: [number, number];
  /** 'bilinear' (default), 'nearest' or 'bicubic'. */
  interpolation?: Interpolation;
  /** Low-pass filter when downsampling (default true, as torchvision ≥ 0.17 and PIL). */
  antialias?: boolean;
}

function range(v: unknown, what: string, positive: boolean): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x) || (positive ? x <= 0 : x < 0))) {
    throw new RangeError(`RandomResizedCrop: ${what} must be [min, max] of ${positive ? 'positive' : 'non-negative'} numbers, got ${JSON.stringify(v)}`);
  }
  if (v[0] > v[1]) throw new RangeError(`RandomResizedCrop: ${what} must be [min, max] with min <= max, got ${JSON.stringify(v)}`);
  return [v[0], v[1]];
}

// torch.log(torch.tensor(ratio)): float32 logs as the bounds of the uniform draw (cached: no draw depends on them).
const logCache = new Map<string, number[]>();
function logBounds(ratio: [number, number]): number[] {
  const key = `${ratio[0]},${ratio[1]}`;
  let v = logCache.get(key);
  if (!v) {
    v = tidy(() => tensor(ratio, { dtype: 'float32' }).log().toArray() as number[]);
    if (logCache.size > 64) logCache.clear();
    logCache.set(key, v);
  }
  return v;
}

/**
 * Crops a random box (area within `scale`, aspect ratio within `ratio`) out of tensor images `[..., C, H, W]` and
 * resizes it to `size`, as torchvision's `RandomResizedCrop` (the same draws: `tg.manualSeed` reproduces PyTorch's box).
 * @throws RangeError for a bad size, scale, ratio or interpolation; TypeError for unknown options.
 * @example new tg.transforms.RandomResizedCrop(224, { scale: [0.08, 1], ratio: [3 / 4, 4 / 3] })
 */
export class RandomResizedCrop implements Transform {
  readonly size: [number, number];
  readonly scale: [number, number];
  readonly ratio: [number, number];
  readonly interpolation: Interpolation;
  readonly antialias: boolean;
  constructor(size: number | number[], options: RandomResizedCropOptions = {}) {
    const o = checkKeys('RandomResizedCrop', options, ['scale', 'ratio', 'interpolation', 'antialias']);
    this.size = cropSize(size, 'RandomResizedCrop');
    this.scale = range(o.scale ?? [0.08, 1], 'scale', false);
    this.ratio = range(o.ratio ?? [3 / 4, 4 / 3], 'ratio', true);
    this.interpolation = interpolation(o.interpolation ?? 'bilinear', 'RandomResizedCrop', ['nearest', 'bilinear', 'bicubic']);
    this.antialias = bool(o.antialias ?? true, 'RandomResizedCrop', 'antialias');
  }

  /** torchvision's `RandomResizedCrop.get_params`: [top, left, height, width] for an image of [height, width]. */
  static getParams(height: number, width: number, scale: [number, number], ratio: [number, number]): [number, number, number, number] {
    const area = height * width;
    const logRatio = logBounds(ratio);
    for (let attempt = 0; attempt < 10; attempt++) {
      const targetArea = area * uniform(scale[0], scale[1]);
      const aspectRatio = tidy(() => {
        const t = tensor([uniform(logRatio[0], logRatio[1])], { dtype: 'float32' });
        return t.exp().item();
      });
      const w = pyRound(Math.sqrt(targetArea * aspectRatio));
      const h = pyRound(Math.sqrt(targetArea / aspectRatio));
      if (w > 0 && w <= width && h > 0 && h <= height) {
        const i = randomInt(0, height - h + 1);
        const j = randomInt(0, width - w + 1);
        return [i, j, h, w];
      }
    }
    // Fallback to a central crop.
    const inRatio = width / height;
    let w = width;
    let h = height;
    if (inRatio < Math.min(...ratio)) h = pyRound(w / Math.min(...ratio));
    else if (inRatio > Math.max(...ratio)) w = pyRound(h * Math.max(...ratio));
    return [Math.floor((height - h) / 2), Math.floor((width - w) / 2), h, w];
  }

  /** Crops and resizes one image, or a batch with one box. */
  apply(input: unknown): Tensor {
    const img = checkImage(input, 'RandomResizedCrop');
    const [i, j, h, w] = RandomResizedCrop.getParams(img.shape[img.ndim - 2], img.shape[img.ndim - 1], this.scale, this.ratio);
    return tidy(() => resizeImage(cropImage(img, i, j, h, w), this.size, this.interpolation, this.antialias));
  }

  toJSON(): TransformSpec {
    return { name: 'RandomResizedCrop', size: [...this.size], scale: [...this.scale], ratio: [...this.ratio], interpolation: this.interpolation, antialias: this.antialias };
  }
}

registerTransform('RandomResizedCrop', (spec) => {
  const { size, ...options } = specOptions(spec, 'RandomResizedCrop', ['size', 'scale', 'ratio', 'interpolation', 'antialias']);
  return new RandomResizedCrop(size as number[], options as RandomResizedCropOptions);
});
