/** CenterCrop: the central box of an image, zero-padded first when the box is larger, as torchvision's. */
import { Tensor } from '../tensor';
import { tidy } from '../memory';
import { registerTransform, Transform, TransformSpec } from './transform';
import { checkImage, checkKeys, cropSize, pyRound } from './params';
import { cropImage, padImage } from './image-ops';

/** torchvision's `F.center_crop` on a tensor image `[..., C, H, W]`. */
export function centerCrop(img: Tensor, size: [number, number]): Tensor {
  const [ch, cw] = size;
  return tidy(() => {
    let x = img;
    let h = x.shape[x.ndim - 2];
    let w = x.shape[x.ndim - 1];
    if (cw > w || ch > h) {
      const ltrb: [number, number, number, number] = [
        cw > w ? Math.floor((cw - w) / 2) : 0,
        ch > h ? Math.floor((ch - h) / 2) : 0,
        cw > w ? Math.floor((cw - w + 1) / 2) : 0,
        ch > h ? Math.floor((ch - h + 1) / 2) : 0,
      ];
      x = padImage(x, ltrb, 0, 'constant', 'CenterCrop');
      h = x.shape[x.ndim - 2];
      w = x.shape[x.ndim - 1];
      if (cw === w && ch === h) return x;
    }
    return cropImage(x, pyRound((h - ch) / 2), pyRound((w - cw) / 2), ch, cw);
  });
}

/**
 * Crops the centre of tensor images `[..., C, H, W]` to `size` (an int for a square, or [height, width]), as
 * torchvision's `CenterCrop`; an image smaller than the crop is zero-padded around first.
 * @throws RangeError for a bad size; TypeError for a non-image input.
 * @example new tg.transforms.CenterCrop(224).apply(img)
 */
export class CenterCrop implements Transform {
  readonly size: [number, number];
  constructor(size: number | number[]) {
    this.size = cropSize(size, 'CenterCrop');
  }
  /** Crops one image or a batch. */
  apply(input: unknown): Tensor {
    return centerCrop(checkImage(input, 'CenterCrop'), this.size);
  }
  toJSON(): TransformSpec {
    return { name: 'CenterCrop', size: [...this.size] };
  }
}

registerTransform('CenterCrop', (spec) => new CenterCrop(checkKeys('CenterCrop', spec, ['name', 'size']).size as number[]));
