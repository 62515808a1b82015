/** RandomRotation: a uniformly drawn angle, applied as torchvision's tensor `rotate`. */
import { Tensor } from '../tensor';
import { registerTransform, Transform, TransformSpec } from './transform';
import { bool, checkImage, checkKeys, interpolation, uniform, specOptions } from './params';
import { rotateImage } from './rotate';

/** Options of RandomRotation, as torchvision's keyword arguments. */
export interface RandomRotationOptions {
  /** 'nearest' (default) or 'bilinear'. */
  interpolation?: 'nearest' | 'bilinear';
  /** Grow the output to hold the whole rotated image (default false: same size, corners cut). */
  expand?: boolean;
  /** The centre of rotation [x, y] in pixels from the top-left (default: the image's centre). */
  center?: [number, number] | null;
  /** The value of pixels outside the source: one number, or one per channel (default 0). */
  fill?: number | number[];
}

/**
 * Rotates tensor images `[..., C, H, W]` by an angle drawn uniformly from `degrees` ([-d, d] for a number d), as
 * torchvision's `RandomRotation` (one `torch.empty(1).uniform_` draw: `tg.manualSeed` reproduces PyTorch's angle).
 * @throws RangeError for negative or reversed degrees, a bad interpolation, center or fill; TypeError for unknown options.
 * @example new tg.transforms.RandomRotation(15, { interpolation: 'bilinear' })
 */
export class RandomRotation implements Transform {
  readonly degrees: [number, number];
  readonly interpolation: 'nearest' | 'bilinear';
  readonly expand: boolean;
  readonly center: [number, number] | null;
  readonly fill: number | number[];
  constructor(degrees: number | [number, number], options: RandomRotationOptions = {}) {
    const o = checkKeys('RandomRotation', options, ['interpolation', 'expand', 'center', 'fill']);
    if (typeof degrees === 'number') {
      if (!(degrees >= 0) || !Number.isFinite(degrees)) throw new RangeError(`RandomRotation: degrees as a single number must be non-negative, got ${degrees}`);
      this.degrees = [-degrees, degrees];
    } else if (Array.isArray(degrees) && degrees.length === 2 && degrees.every((d) => typeof d === 'number' && Number.isFinite(d)) && degrees[0] <= degrees[1]) {
      this.degrees = [degrees[0], degrees[1]];
    } else {
      throw new RangeError(`RandomRotation: degrees must be a non-negative number or [min, max] with min <= max, got ${JSON.stringify(degrees)}`);
    }
    this.interpolation = interpolation(o.interpolation ?? 'nearest', 'RandomRotation', ['nearest', 'bilinear']) as 'nearest' | 'bilinear';
    this.expand = bool(o.expand ?? false, 'RandomRotation', 'expand');
    const center = o.center ?? null;
    if (center !== null && (!Array.isArray(center) || center.length !== 2 || center.some((v) => typeof v !== 'number' || !Number.isFinite(v)))) {
      throw new RangeError(`RandomRotation: center must be [x, y], got ${JSON.stringify(center)}`);
    }
    this.center = center as [number, number] | null;
    const fill = o.fill ?? 0;
    const fills = typeof fill === 'number' ? [fill] : fill;
    if (!Array.isArray(fills) || fills.length === 0 || fills.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
      throw new RangeError(`RandomRotation: fill must be a number or one number per channel, got ${JSON.stringify(fill)}`);
    }
    this.fill = fill as number | number[];
  }

  /** torchvision's `RandomRotation.get_params`: the angle in degrees. */
  static getParams(degrees: [number, number]): number {
    return uniform(degrees[0], degrees[1]);
  }

  /** Rotates one image, or a batch by the same angle. */
  apply(input: unknown): Tensor {
    const img = checkImage(input, 'RandomRotation');
    const c = img.shape[img.ndim - 3];
    const fill = typeof this.fill === 'number' ? Array(c).fill(this.fill) : this.fill;
    if (fill.length !== c) throw new RangeError(`RandomRotation: fill has ${fill.length} values for an image of ${c} channels`);
    const angle = RandomRotation.getParams(this.degrees);
    return rotateImage(img, angle, this.interpolation, this.expand, this.center, fill);
  }

  toJSON(): TransformSpec {
    return { name: 'RandomRotation', degrees: [...this.degrees], interpolation: this.interpolation, expand: this.expand, center: this.center, fill: this.fill };
  }
}

registerTransform('RandomRotation', (spec) => {
  const { degrees, ...options } = specOptions(spec, 'RandomRotation', ['degrees', 'interpolation', 'expand', 'center', 'fill']);
  return new RandomRotation(degrees as [number, number], options as RandomRotationOptions);
});
