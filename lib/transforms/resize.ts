/** resize: images to the spatial size a pretrained model expects. */
import { isTensor, Tensor } from '../tensor';
import { isFloatingDType } from '../dtype';
import { interpolate } from '../nn/functional';

/** Options of resize. */
export interface ResizeOptions {
  /** Interpolation (default 'bilinear', as torchvision's Resize). */
  mode?: 'bilinear' | 'nearest' | 'bicubic';
  /** For bilinear and bicubic: align the corner pixels' centres (default false, as F.interpolate and torchvision). */
  alignCorners?: boolean;
}

/**
 * Resizes images (C, H, W) or batches (N, C, H, W) to `size`: `[height, width]`, or one number for a square
 * (unlike torchvision's Resize(int), which scales the shorter side). Same numbers as PyTorch's
 * `F.interpolate(x, size, mode, align_corners)` (without antialiasing). Returns a new tensor of the input's rank.
 * @throws TypeError for a non-floating or wrongly ranked input; RangeError for a bad size.
 * @example const x224 = tg.transforms.resize(x, 224);   // (N, 3, 224, 224)
 */
export function resize(x: Tensor, size: number | [number, number] | number[], options: ResizeOptions = {}): Tensor {
  if (!isTensor(x)) throw new TypeError('resize: expected a Tensor of images (C, H, W) or (N, C, H, W)');
  if (x.ndim !== 3 && x.ndim !== 4) throw new TypeError(`resize: expected (C, H, W) or (N, C, H, W), got shape [${x.shape.join(', ')}]`);
  if (!isFloatingDType(x.dtype)) throw new TypeError(`resize: expected floating-point images, got ${x.dtype} (convert with x.float() first)`);
  const hw = typeof size === 'number' ? [size, size] : size;
  if (!Array.isArray(hw) || hw.length !== 2 || hw.some((s) => !Number.isInteger(s) || s < 1)) {
    throw new RangeError(`resize: size must be a positive integer or [height, width], got ${JSON.stringify(size)}`);
  }
  const mode = options.mode ?? 'bilinear';
  if (!['bilinear', 'nearest', 'bicubic'].includes(mode)) throw new RangeError(`resize: mode must be 'bilinear', 'nearest' or 'bicubic', got '${String(mode)}'`);
  const alignCorners = mode === 'nearest' ? undefined : options.alignCorners ?? false;
  if (x.ndim === 4) return interpolate(x, { size: hw, mode, alignCorners });
  const batch = x.unsqueeze(0);
  const out = interpolate(batch, { size: hw, mode, alignCorners });
  batch.dispose();
  const r = out.squeeze(0);
  out.dispose();
  return r;
}
