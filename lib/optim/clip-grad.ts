/** Gradient clipping by total norm and by value (torch.nn.utils.clip_grad_norm_ / clip_grad_value_). */
import { binding } from '../native';
import { isTensor, Tensor } from '../tensor';
import { normalizeParams, ParamsInput } from './params';

function gradsOf(params: Tensor | ParamsInput, where: string): Tensor[] {
  return normalizeParams(isTensor(params) ? [params] : params, where, false).map((p) => p.tensor);
}

/** Options of `clipGradNorm_`. */
export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite instead of scaling by it (default false). */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `params` in place so that their norm, taken over all of them as one vector, is at
 * most `maxNorm`; parameters without a gradient are ignored. Returns the total norm before clipping.
 * @param normType the p of the p-norm (default 2; `Infinity` for the largest absolute value).
 * @throws TorchError (ERR_NONFINITE_NORM) with `errorIfNonfinite` when the norm is not finite.
 */
export function clipGradNorm_(params: Tensor | ParamsInput, maxNorm: number, normType = 2, options: ClipGradNormOptions = {}): Tensor {
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm)) throw new TypeError('clipGradNorm_: maxNorm must be a number');
  if (typeof normType !== 'number' || Number.isNaN(normType)) throw new TypeError('clipGradNorm_: normType must be a number');
  return binding.clipGradNorm(gradsOf(params, 'clipGradNorm_'), maxNorm, normType, options.errorIfNonfinite ?? false);
}

/** Clamps the gradients of `params` in place to [-clipValue, clipValue]; parameters without a gradient are ignored. */
export function clipGradValue_(params: Tensor | ParamsInput, clipValue: number): void {
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) throw new RangeError(`clipGradValue_: clipValue must be a number >= 0, got ${clipValue}`);
  binding.clipGradValue(gradsOf(params, 'clipGradValue_'), clipValue);
}
