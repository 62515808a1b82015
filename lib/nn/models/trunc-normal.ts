/** Truncated normal initialisation, as torch.nn.init.trunc_normal_, for the ConvNeXt and ViT builders. */
import type { Tensor } from '../../tensor';
import { noGrad } from '../../autograd';

/**
 * Fills t from N(mean, std²) truncated to [a, b] by PyTorch's method (inverse CDF of a uniform draw through erfinv), so
 * the draws follow the same distribution; a and b default to ±2 (absolute bounds, as PyTorch's).
 */
export function truncNormal_(t: Tensor, std: number, mean = 0, a = -2, b = 2): Tensor {
  const cdf = (x: number) => (1 + erf((x - mean) / std / Math.SQRT2)) / 2;
  const l = cdf(a);
  const u = cdf(b);
  return noGrad(() => {
    t.uniform_(2 * l - 1, 2 * u - 1);
    const z = t.erfinv();
    t.copy_(z);
    z.dispose();
    return t.mul_(std * Math.SQRT2).add_(mean).clamp_(a, b);
  });
}

// Abramowitz–Stegun 7.1.26 is too coarse at the tails; this series/continued-fraction pair is accurate to ~1e-15.
function erf(x: number): number {
  const s = Math.sign(x);
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = ax;
    let term = ax;
    for (let n = 1; n < 100; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17) break;
    }
    return (s * 2 * sum) / Math.sqrt(Math.PI);
  }
  // erfc by continued fraction for large |x|.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = (n / 2) / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return s * (1 - erfc);
}
