/** normalize: per-channel standardisation of images, as pretrained models expect their inputs. */
import { isTensor, Tensor } from '../tensor';
import { isFloatingDType } from '../dtype';
import { tensor } from '../creation';

/** The ImageNet channel means (RGB) torchvision's pretrained models were trained with. */
export const IMAGENET_MEAN: readonly number[] = Object.freeze([0.485, 0.456, 0.406]);
/** The ImageNet channel standard deviations (RGB). */
export const IMAGENET_STD: readonly number[] = Object.freeze([0.229, 0.224, 0.225]);

function perChannel(v: number | readonly number[], c: number, what: string): number[] {
  const list = typeof v === 'number' ? Array(c).fill(v) : v;
  if (!Array.isArray(list) || list.length !== c || list.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new RangeError(`normalize: ${what} must be a number or ${c} numbers (one per channel), got ${JSON.stringify(v)}`);
  }
  return list;
}

/**
 * (x - mean[c]) / std[c] for each channel c of images (C, H, W) or batches (N, C, H, W), as torchvision's
 * `Normalize`. Returns a new tensor.
 * @throws TypeError for a non-floating or wrongly ranked input; RangeError for a mean or std of the wrong length, or a std of 0.
 * @example tg.transforms.normalize(x, tg.transforms.IMAGENET_MEAN, tg.transforms.IMAGENET_STD);
 */
export function normalize(x: Tensor, mean: number | readonly number[], std: number | readonly number[]): Tensor {
  if (!isTensor(x)) throw new TypeError('normalize: expected a Tensor of images (C, H, W) or (N, C, H, W)');
  if (x.ndim !== 3 && x.ndim !== 4) throw new TypeError(`normalize: expected (C, H, W) or (N, C, H, W), got shape [${x.shape.join(', ')}]`);
  if (!isFloatingDType(x.dtype)) throw new TypeError(`normalize: expected floating-point images, got ${x.dtype} (convert with x.float() first)`);
  const c = x.shape[x.ndim - 3];
  const m = perChannel(mean, c, 'mean');
  const s = perChannel(std, c, 'std');
  if (s.some((v) => v === 0)) throw new RangeError('normalize: std must not be 0');
  const mt = tensor(Float64Array.from(m), { shape: [c, 1, 1], dtype: x.dtype, device: x.device });
  const st = tensor(Float64Array.from(s), { shape: [c, 1, 1], dtype: x.dtype, device: x.device });
  const centred = x.sub(mt);
  const out = centred.div(st);
  centred.dispose();
  mt.dispose();
  st.dispose();
  return out;
}
