/** torchvision's `_make_divisible`: channel counts rounded to a multiple of a divisor, as MobileNet and EfficientNet scale them. */

/** The nearest multiple of `divisor` to v (at least `minValue`, default `divisor`), raised by one step when rounding lost more than 10%. */
export function makeDivisible(v: number, divisor: number, minValue?: number): number {
  const min = minValue ?? divisor;
  let newV = Math.max(min, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (newV < 0.9 * v) newV += divisor;
  return newV;
}
