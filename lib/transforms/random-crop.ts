/** RandomCrop: a random box of fixed size, after optional padding, drawn as torchvision's `RandomCrop` draws it. */
import { Tensor } from '../tensor';
import { tidy } from '../memory';
import { registerTransform, Transform, TransformSpec } from './transform';
import { bool, checkImage, checkKeys, cropSize, randomInt, specOptions } from './params';
import { cropImage, padImage, PaddingMode } from './image-ops';

/** Options of RandomCrop, as torchvision's keyword arguments. */
export interface RandomCropOptions {
  /** Border added first: an int for all sides, [leftRight, topBottom], or [left, top, right, bottom]. */
  padding?: number | number[] | null;
  /** Pad (both sides, as torchvision) an image narrower or shorter than the crop. */
  padIfNeeded?: boolean;
  /** The value of constant padding (default 0). */
  fill?: number;
  /** 'constant' (default), 'edge', 'reflect' or 'symmetric'. */
  paddingMode?: PaddingMode;
}

const MODES: readonly PaddingMode[] = ['constant', 'edge', 'reflect', 'symmetric'];

function parsePadding(p: unknown): [number, number, number, number] | null {
  if (p === undefined || p === null) return null;
  const list = typeof p === 'number' ? [p] : p;
  if (!Array.isArray(list) || ![1, 2, 4].includes(list.length) || list.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < 0)) {
    throw new RangeError(`RandomCrop: padding must be a non-negative integer or 1, 2 or 4 of them, got ${JSON.stringify(p)}`);
  }
  if (list.length === 1) return [list[0], list[0], list[0], list[0]];
  if (list.length === 2) return [list[0], list[1], list[0], list[1]];
  return [list[0], list[1], list[2], list[3]];
}

/**
 * Crops a random `size` box out of tensor images `[..., C, H, W]` (one box for a whole batch), as torchvision's
 * `RandomCrop`: same padding rules and the same `torch.randint` draws, so `tg.manualSeed` reproduces PyTorch's box.
 * @throws RangeError for bad sizes, padding, fill or mode, or an image smaller than the crop; TypeError for unknown options.
 * @example new tg.transforms.RandomCrop(32, { padding: 4, paddingMode: 'reflect' })
 */
export class RandomCrop implements Transform {
  readonly size: [number, number];
  readonly padding: [number, number, number, number] | null;
  readonly padIfNeeded: boolean;
  readonly fill: number;
  readonly paddingMode: PaddingMode;
  constructor(size: number | number[], options: RandomCropOptions = {}) {
    const o = checkKeys('RandomCrop', options, ['padding', 'padIfNeeded', 'fill', 'paddingMode']);
    this.size = cropSize(size, 'RandomCrop');
    this.padding = parsePadding(o.padding);
    this.padIfNeeded = bool(o.padIfNeeded ?? false, 'RandomCrop', 'padIfNeeded');
    const fill = o.fill ?? 0;
    if (typeof fill !== 'number' || !Number.isFinite(fill)) throw new RangeError(`RandomCrop: fill must be a finite number, got ${JSON.stringify(fill)}`);
    this.fill = fill;
    if (!MODES.includes(o.paddingMode as PaddingMode) && o.paddingMode !== undefined) {
      throw new RangeError(`RandomCrop: paddingMode must be 'constant', 'edge', 'reflect' or 'symmetric', got ${JSON.stringify(o.paddingMode)}`);
    }
    this.paddingMode = (o.paddingMode as PaddingMode | undefined) ?? 'constant';
  }

  /** torchvision's `RandomCrop.get_params`: [top, left, height, width] for an image of [h, w]. */
  static getParams(h: number, w: number, size: [number, number]): [number, number, number, number] {
    const [th, tw] = size;
    if (h < th || w < tw) throw new RangeError(`RandomCrop: the crop ${th}x${tw} is larger than the (padded) image ${h}x${w}`);
    if (w === tw && h === th) return [0, 0, h, w];
    const i = randomInt(0, h - th + 1);
    const j = randomInt(0, w - tw + 1);
    return [i, j, th, tw];
  }

  /** Crops one image, or a batch with one box. */
  apply(input: unknown): Tensor {
    const img = checkImage(input, 'RandomCrop');
    return tidy(() => {
      let x = img;
      if (this.padding) x = padImage(x, this.padding, this.fill, this.paddingMode, 'RandomCrop');
      const width = x.shape[x.ndim - 1];
      const height = x.shape[x.ndim - 2];
      // As torchvision: the missing width (height) is added on both sides.
      if (this.padIfNeeded && width < this.size[1]) {
        const d = this.size[1] - width;
        x = padImage(x, [d, 0, d, 0], this.fill, this.paddingMode, 'RandomCrop');
      }
      if (this.padIfNeeded && height < this.size[0]) {
        const d = this.size[0] - height;
        x = padImage(x, [0, d, 0, d], this.fill, this.paddingMode, 'RandomCrop');
      }
      const [i, j, h, w] = RandomCrop.getParams(x.shape[x.ndim - 2], x.shape[x.ndim - 1], this.size);
      return cropImage(x, i, j, h, w);
    });
  }

  toJSON(): TransformSpec {
    return { name: 'RandomCrop', size: [...this.size], padding: this.padding, padIfNeeded: this.padIfNeeded, fill: this.fill, paddingMode: this.paddingMode };
  }
}

registerTransform('RandomCrop', (spec) => {
  const { size, ...options } = specOptions(spec, 'RandomCrop', ['size', 'padding', 'padIfNeeded', 'fill', 'paddingMode']);
  return new RandomCrop(size as number[], options as RandomCropOptions);
});
