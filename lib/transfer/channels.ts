/** adaptInputChannels: a first convolution pretrained on RGB, adapted to another number of input channels. */
import { Conv2d } from '../nn/layers/conv';
import { noGrad } from '../autograd';
import { tensor } from '../creation';
import { describe } from '../nn/paths';
import { isModule, type Module } from '../nn/module';
import { replaceModule } from '../nn/edit';
import { TorchError } from '../errors';

/**
 * The dotted path of a model's stem: its first Conv2d in module order (`conv1` of a ResNet, `features.0.0` of
 * MobileNet, EfficientNet and ConvNeXt, `features.conv0` of DenseNet, `conv_proj` of ViT).
 * @throws TorchError `ERR_MODULE_EDIT` when the model has no Conv2d.
 */
export function findStem(model: Module): string {
  const first = model.namedModules().find(([p, m]) => p !== '' && m instanceof Conv2d);
  if (!first) throw new TorchError(`adaptInputChannels: ${model.constructor.name} has no Conv2d to adapt`, { code: 'ERR_MODULE_EDIT' });
  return first[0];
}

/**
 * A new Conv2d taking `n` input channels, with the pretrained `conv`'s filters adapted so activations keep
 * their scale: for n = 1 the weights summed over the input channels (a grayscale image then gives what the
 * original gives for that image replicated to every channel); for n > 1 the input channels repeated cyclically
 * (channel i uses the original's channel i mod C) and scaled by C/n (3/n for RGB), so an input whose channels
 * repeat the original's cyclically again gives the original's output. Same kernel, stride, padding,
 * dilation, bias (copied), device, dtype and `requiresGrad` as `conv`, which is left unchanged.
 * Given a model instead of a Conv2d, adapts its stem (see findStem) in place and returns the new convolution.
 * @throws TypeError when `conv` is neither a Conv2d nor a model; RangeError for n not a positive integer or a grouped
 * convolution; TorchError `ERR_MODULE_EDIT` for a model without a Conv2d.
 * @example model.replace('conv1', tg.transfer.adaptInputChannels(model.get('conv1'), 1));
 * @example tg.transfer.adaptInputChannels(mobilenet, 1);   // features.0.0 now takes grayscale images
 */
export function adaptInputChannels(conv: Conv2d | Module, n: number): Conv2d {
  if (isModule(conv) && !(conv instanceof Conv2d)) {
    const path = findStem(conv);
    const adapted = adaptInputChannels(conv.get(path) as Conv2d, n);
    replaceModule(conv, path, adapted);
    return adapted;
  }
  if (!(conv instanceof Conv2d)) throw new TypeError(`adaptInputChannels: expected a tg.nn.Conv2d or a model, got ${describe(conv)}`);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`adaptInputChannels: the number of channels must be a positive integer, got ${describe(n)}`);
  if (conv.groups !== 1) {
    throw new RangeError(`adaptInputChannels: the convolution has groups=${conv.groups}; only ungrouped (groups=1) first convolutions can be adapted`);
  }
  const c = conv.inChannels;
  const w = conv.weight;
  const out = new Conv2d(n, conv.outChannels, conv.kernelSize, {
    stride: conv.stride,
    padding: conv.padding,
    dilation: conv.dilation,
    bias: conv.bias !== null,
    device: w.device,
    dtype: w.dtype,
  });
  noGrad(() => {
    let adapted;
    if (n === 1) adapted = w.sum(1, true);
    else {
      const idx = tensor(Array.from({ length: n }, (_, i) => i % c), { dtype: 'int64', device: w.device });
      const picked = w.indexSelect(1, idx);
      adapted = picked.mul(c / n);
      picked.dispose();
      idx.dispose();
    }
    out.weight.copy_(adapted);
    adapted.dispose();
    if (conv.bias && out.bias) out.bias.copy_(conv.bias);
  });
  out.weight.requiresGrad = w.requiresGrad;
  if (out.bias && conv.bias) out.bias.requiresGrad = conv.bias.requiresGrad;
  return out;
}
