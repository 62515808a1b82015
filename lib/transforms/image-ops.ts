/** Tensor-image operations the transforms share (crop, pad, resize), computed as torchvision's tensor functions. */
import { Tensor } from '../tensor';
import { isFloatingDType } from '../dtype';
import { tensor } from '../creation';
import { tidy } from '../memory';
import { interpolate, pad as constantPad } from '../nn/functional';
import { padIndices } from '../nn/pad';
import type { Interpolation } from './params';

/** Padding modes of torchvision's `pad`. */
export type PaddingMode = 'constant' | 'edge' | 'reflect' | 'symmetric';

/** `img[..., top:top+height, left:left+width]` (the box must lie inside the image). */
export function cropImage(img: Tensor, top: number, left: number, height: number, width: number): Tensor {
  return tidy(() => img.narrow(-2, top, height).narrow(-1, left, width));
}

/**
 * Pads the last two dimensions by [left, right, top, bottom] as torchvision's `F.pad` on tensors.
 * @throws RangeError when reflect or symmetric padding is wider than the image allows.
 */
export function padImage(img: Tensor, ltrb: [number, number, number, number], fill: number, mode: PaddingMode, who: string): Tensor {
  const [l, t, r, b] = ltrb;
  if (mode === 'constant') return constantPad(img, [l, r, t, b], fill);
  const h = img.shape[img.ndim - 2];
  const w = img.shape[img.ndim - 1];
  // torch's reflect needs padding < size; torchvision's symmetric indexes at most size pixels back.
  const limit = mode === 'reflect' ? (n: number) => n - 1 : mode === 'symmetric' ? (n: number) => n : () => Infinity;
  if (Math.max(l, r) > limit(w) || Math.max(t, b) > limit(h)) {
    throw new RangeError(`${who}: ${mode} padding [${ltrb.join(', ')}] is too wide for a ${h}x${w} image`);
  }
  return tidy(() => {
    const xi = tensor(padIndices(w, l, r, mode === 'edge' ? 'replicate' : mode), { dtype: 'int64', device: img.device });
    const yi = tensor(padIndices(h, t, b, mode === 'edge' ? 'replicate' : mode), { dtype: 'int64', device: img.device });
    return img.indexSelect(-1, xi).indexSelect(-2, yi);
  });
}

/**
 * Resizes `[..., C, H, W]` to [height, width] as torchvision's tensor `F.resize`: integer images are resized in float32
 * and rounded back; antialias applies to bilinear and bicubic only (as torchvision 0.17+ ignores it for nearest).
 */
export function resizeImage(img: Tensor, size: [number, number], mode: Interpolation, antialias: boolean): Tensor {
  return tidy(() => {
    const shape = img.shape;
    const isFloat = img.dtype === 'float32' || img.dtype === 'float64';
    let x = img.reshape([-1, ...shape.slice(-3)]);
    if (!isFloat) x = x.to('float32');
    x = interpolate(x, {
      size,
      mode,
      alignCorners: mode === 'nearest' ? undefined : false,
      antialias: mode === 'nearest' ? undefined : antialias,
    });
    if (mode === 'bicubic' && img.dtype === 'uint8') x = x.clamp(0, 255);
    if (!isFloat && !isFloatingDType(img.dtype)) x = x.round();
    if (!isFloat) x = x.to(img.dtype);
    return x.reshape([...shape.slice(0, -2), size[0], size[1]]);
  });
}
