/** LayerNorm2d: LayerNorm over the channels of NCHW images, as torchvision's (ConvNeXt's) LayerNorm2d. */
import type { Tensor } from '../../tensor';
import * as F from '../functional';
import { LayerNorm } from './layernorm';
import type { LayerNormOptions } from './layernorm';
import { checkInput } from './common';

/**
 * Normalises each pixel's C channels of (N, C, H, W) input to zero mean and unit variance, then scales by `weight`
 * and shifts by `bias` (both [C]): torchvision.models.convnext.LayerNorm2d, which permutes to NHWC, applies
 * F.layer_norm over the last dimension and permutes back. ConvNeXt builds it with `eps: 1e-6`.
 */
export class LayerNorm2d extends LayerNorm {
  /** @param numChannels C, the channels normalised together. */
  constructor(numChannels: number, options: LayerNormOptions = {}) {
    super(numChannels, options);
  }

  /** Normalises input (N, C, H, W) over C. */
  forward(input: Tensor): Tensor {
    const x = checkInput(input, [4], 'LayerNorm2d');
    const c = this.normalizedShape[0];
    if (x.shape[1] !== c) throw new RangeError(`LayerNorm2d(${c}): expected input of shape (N, ${c}, H, W), got [${x.shape.join(', ')}]`);
    const nhwc = x.permute([0, 2, 3, 1]);
    const y = F.layerNorm(nhwc, this.normalizedShape, this.weight, this.bias, this.eps);
    nhwc.dispose();
    const out = y.permute([0, 3, 1, 2]);
    y.dispose();
    return out;
  }
}
