/** Resize: torchvision's `Resize` (an int scales the shorter side; maxSize; antialias) on tensor images. */
import { Tensor } from '../tensor';
import { registerTransform, Transform, TransformSpec } from './transform';
import { bool, checkImage, checkKeys, interpolation, Interpolation, positiveInt, specOptions } from './params';
import { resizeImage } from './image-ops';

/** Options of Resize, as torchvision's keyword arguments. */
export interface ResizeTransformOptions {
  /** 'bilinear' (default), 'nearest' or 'bicubic'. */
  interpolation?: Interpolation;
  /** With an int size: the longer side's bound; the shorter side shrinks below `size` to keep it. */
  maxSize?: number | null;
  /** Low-pass filter when downsampling with bilinear or bicubic (default true, as torchvision ≥ 0.17 and PIL). */
  antialias?: boolean;
}

/** torchvision's `_compute_resized_output_size`: [height, width] for an image of [h, w]. */
export function resizedOutputSize(h: number, w: number, size: number[], maxSize: number | null): [number, number] {
  if (size.length === 2) return [size[0], size[1]];
  const [short, long] = w <= h ? [w, h] : [h, w];
  let newShort = size[0];
  let newLong = Math.trunc((size[0] * long) / short);
  if (maxSize !== null && newLong > maxSize) {
    newShort = Math.trunc((maxSize * newShort) / newLong);
    newLong = maxSize;
  }
  return w <= h ? [newLong, newShort] : [newShort, newLong];
}

/**
 * Resizes tensor images `[..., C, H, W]` (uint8 or float) as torchvision's `Resize`: `size` [height, width], or one
 * int for the shorter side (the aspect ratio kept, the longer side truncated as torchvision does).
 * @throws RangeError for a bad size, maxSize or interpolation; TypeError for unknown options or a non-image input.
 * @example new tg.transforms.Resize(256, { antialias: true }).apply(img)
 */
export class Resize implements Transform {
  readonly size: number[];
  readonly interpolation: Interpolation;
  readonly maxSize: number | null;
  readonly antialias: boolean;
  constructor(size: number | number[], options: ResizeTransformOptions = {}) {
    const o = checkKeys('Resize', options, ['interpolation', 'maxSize', 'antialias']);
    if (typeof size === 'number') this.size = [positiveInt(size, 'Resize', 'size')];
    else if (Array.isArray(size) && (size.length === 1 || size.length === 2)) this.size = size.map((s) => positiveInt(s, 'Resize', 'size'));
    else throw new RangeError(`Resize: size must be a positive integer, [size] or [height, width], got ${JSON.stringify(size)}`);
    this.interpolation = interpolation(o.interpolation ?? 'bilinear', 'Resize', ['nearest', 'bilinear', 'bicubic']);
    this.maxSize = o.maxSize === undefined || o.maxSize === null ? null : positiveInt(o.maxSize, 'Resize', 'maxSize');
    if (this.maxSize !== null && this.size.length !== 1) throw new RangeError('Resize: maxSize is only allowed when size is one number (the shorter side)');
    if (this.maxSize !== null && this.maxSize <= this.size[0]) {
      throw new RangeError(`Resize: maxSize (${this.maxSize}) must be greater than size (${this.size[0]})`);
    }
    this.antialias = bool(o.antialias ?? true, 'Resize', 'antialias');
  }
  /** Resizes one image or a batch; returns the input itself when the size already matches, as torchvision. */
  apply(input: unknown): Tensor {
    const img = checkImage(input, 'Resize');
    const h = img.shape[img.ndim - 2];
    const w = img.shape[img.ndim - 1];
    const out = resizedOutputSize(h, w, this.size, this.maxSize);
    if (out[0] === h && out[1] === w) return img;
    return resizeImage(img, out, this.interpolation, this.antialias);
  }
  toJSON(): TransformSpec {
    return { name: 'Resize', size: [...this.size], interpolation: this.interpolation, maxSize: this.maxSize, antialias: this.antialias };
  }
}

registerTransform('Resize', (spec) => {
  const { size, ...options } = specOptions(spec, 'Resize', ['size', 'interpolation', 'maxSize', 'antialias']);
  return new Resize(size as number[], options as ResizeTransformOptions);
});
