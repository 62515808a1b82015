/** torchvision's tensor `rotate`: an inverse affine grid and grid sampling (nearest or bilinear) with a fill colour. */
import { Tensor } from '../tensor';
import type { Device } from '../dtype';
import { cat, linspace, onesLike, stack, tensor, where } from '../creation';
import { tidy } from '../memory';

/** torchvision's `_get_inverse_affine_matrix` for a pure rotation by `angle` degrees about `center` (from the middle). */
export function inverseRotationMatrix(center: [number, number], angle: number): number[] {
  const rot = angle * (Math.PI / 180); // math.radians
  const [cx, cy] = center;
  const a = Math.cos(rot);
  const b = -Math.sin(rot);
  const c = Math.sin(rot);
  const d = Math.cos(rot);
  const m = [d, -b, 0.0, -c, a, 0.0];
  m[2] += m[0] * -cx + m[1] * -cy;
  m[5] += m[3] * -cx + m[4] * -cy;
  m[2] += cx;
  m[5] += cy;
  return m;
}

// torchvision's _compute_affine_output_size (expand=True): the rotated corners' bounding box, in float32.
function expandedSize(matrix: number[], w: number, h: number): [number, number] {
  return tidy(() => {
    const pts = tensor([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0], [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], { dtype: 'float32' });
    const theta = tensor(matrix, { dtype: 'float32' }).reshape([2, 3]);
    const np = pts.matmul(theta.t());
    const half = tensor([w * 0.5, h * 0.5], { dtype: 'float32' });
    const minv = np.amin(0).add(half);
    const maxv = np.amax(0).add(half);
    const tol = 1e-4;
    const cmax = maxv.div(tol).trunc().mul(tol).ceil();
    const cmin = minv.div(tol).trunc().mul(tol).floor();
    const size = cmax.sub(cmin).toArray() as number[];
    return [Math.trunc(size[0]), Math.trunc(size[1])] as [number, number];
  });
}

// torchvision's _gen_affine_grid: normalised sampling coordinates [oh * ow, 2] for the inverse matrix.
function affineGrid(matrix: number[], dtype: 'float32' | 'float64', device: Device, w: number, h: number, ow: number, oh: number): Tensor {
  const theta = tensor(matrix, { dtype, device }).reshape([2, 3]);
  const xs = linspace(-ow * 0.5 + 0.5, ow * 0.5 + 0.5 - 1, ow, { dtype: 'float32', device }).to(dtype);
  const ys = linspace(-oh * 0.5 + 0.5, oh * 0.5 + 0.5 - 1, oh, { dtype: 'float32', device }).to(dtype);
  const base = stack([xs.reshape([1, ow]).expand([oh, ow]), ys.reshape([oh, 1]).expand([oh, ow]), onesLike(xs).reshape([1, ow]).expand([oh, ow])], -1);
  const rescaled = theta.t().div(tensor([0.5 * w, 0.5 * h], { dtype, device }));
  return base.reshape([oh * ow, 3]).matmul(rescaled);
}

// F.grid_sample(padding_mode='zeros', align_corners=False) of images [N, C, H*W] at pixel coordinates (ix, iy).
function sample(flat: Tensor, w: number, h: number, ix: Tensor, iy: Tensor, mode: 'nearest' | 'bilinear'): Tensor {
  const at = (x: Tensor, y: Tensor): Tensor => {
    const valid = x.ge(0).logicalAnd(x.lt(w)).logicalAnd(y.ge(0)).logicalAnd(y.lt(h));
    const index = y.clamp(0, h - 1).mul(w).add(x.clamp(0, w - 1)).to('int64');
    const got = flat.gather(2, index.reshape([1, 1, -1]).expand([flat.shape[0], flat.shape[1], index.shape[0]]));
    return where(valid, got, 0);
  };
  if (mode === 'nearest') return at(ix.round(), iy.round());
  const xw = ix.floor();
  const yn = iy.floor();
  const we = ix.sub(xw);
  const e = we.mul(-1).add(1);
  const n = iy.sub(yn);
  const s = n.mul(-1).add(1);
  const xe = xw.add(1);
  const ys = yn.add(1);
  // The order of LibTorch's CPU kernel: nw + ne + sw + se.
  return at(xw, yn).mul(s.mul(e)).add(at(xe, yn).mul(s.mul(we))).add(at(xw, ys).mul(n.mul(e))).add(at(xe, ys).mul(n.mul(we)));
}

/**
 * Rotates tensor images `[..., C, H, W]` by `angle` degrees counter-clockwise as torchvision's `F.rotate` on tensors:
 * the area outside the source is `fill` (one value per channel); integer images are sampled in float32 and rounded.
 */
export function rotateImage(
  img: Tensor,
  angle: number,
  mode: 'nearest' | 'bilinear',
  expand: boolean,
  center: [number, number] | null,
  fill: number[],
): Tensor {
  return tidy(() => {
    const shape = img.shape;
    const [c, h, w] = shape.slice(-3);
    const centerF: [number, number] = center ? [center[0] - w * 0.5, center[1] - h * 0.5] : [0.0, 0.0];
    const matrix = inverseRotationMatrix(centerF, -angle);
    const [ow, oh] = expand ? expandedSize(matrix, w, h) : [w, h];
    const isFloat = img.dtype === 'float32' || img.dtype === 'float64';
    const dtype = img.dtype === 'float64' ? 'float64' : 'float32';
    const grid = affineGrid(matrix, dtype, img.device as Device, w, h, ow, oh);
    let x = img.reshape([-1, c, h * w]);
    if (!isFloat) x = x.to(dtype);
    // torchvision appends a channel of ones and samples it too: it becomes the mask that blends in the fill.
    x = cat([x, onesLike(x.narrow(1, 0, 1))], 1);
    // LibTorch's vectorised CPU kernel unnormalises as (g + 1) * (size / 2) - 0.5.
    const ix = grid.select(1, 0).add(1).mul(w / 2).sub(0.5);
    const iy = grid.select(1, 1).add(1).mul(h / 2).sub(0.5);
    const sampled = sample(x, w, h, ix, iy, mode);
    const mask = sampled.narrow(1, c, 1).expand([sampled.shape[0], c, oh * ow]);
    let out = sampled.narrow(1, 0, c);
    const fillImg = tensor(fill, { dtype, device: img.device }).reshape([1, fill.length, 1]).expand(out.shape);
    if (mode === 'nearest') out = where(mask.lt(0.5), fillImg, out);
    else out = out.mul(mask).add(mask.mul(-1).add(1.0).mul(fillImg));
    if (!isFloat) out = out.round().to(img.dtype);
    return out.reshape([...shape.slice(0, -3), c, oh, ow]);
  });
}
