/** ToTensor, ToImageTensor and ConvertImageDtype: decoded images to tensors, and image dtype conversion as torchvision's. */
import { isTensor, Tensor } from '../tensor';
import { DType, isFloatingDType } from '../dtype';
import { tensor } from '../creation';
import { tidy } from '../memory';
import { registerTransform, RawImage, Transform, TransformSpec } from './transform';
import { checkImage, checkKeys, describe } from './params';

/** Whether `x` looks like a decoded image `{ data: Uint8Array (HWC), width, height, channels }`. */
export function isRawImage(x: unknown): x is RawImage {
  return x !== null && typeof x === 'object' && (x as RawImage).data instanceof Uint8Array && 'width' in x && 'height' in x && 'channels' in x;
}

// The HWC bytes of a decoded image as a uint8 tensor [C, H, W], after checking its fields agree.
function rawToCHW(img: RawImage, who: string): Tensor {
  const { data, width, height, channels } = img;
  for (const [k, v] of [['width', width], ['height', height], ['channels', channels]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${who}: the image's ${k} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`${who}: the image's data holds ${data.length} bytes, expected height * width * channels = ${height * width * channels}`);
  }
  return tidy(() => tensor(data, { shape: [height, width, channels], dtype: 'uint8' }).permute([2, 0, 1]).contiguous());
}

/**
 * A decoded image (HWC bytes) to a float32 tensor [C, H, W] in [0, 1], as torchvision's `ToTensor` on a uint8 array.
 * @throws TypeError for anything but a decoded image (convert tensors with ConvertImageDtype); RangeError for inconsistent fields.
 */
export class ToTensor implements Transform {
  apply(input: unknown): Tensor {
    if (!isRawImage(input)) {
      const hint = isTensor(input) ? ' (for a tensor image use ConvertImageDtype)' : '';
      throw new TypeError(`ToTensor: expected a decoded image { data: Uint8Array, width, height, channels }, got ${describe(input)}${hint}`);
    }
    return tidy(() => rawToCHW(input, 'ToTensor').to('float32').div(255));
  }
  toJSON(): TransformSpec {
    return { name: 'ToTensor' };
  }
}

/**
 * A decoded image to a uint8 tensor [C, H, W], as torchvision's `PILToTensor`; a uint8 tensor image passes through.
 * @throws TypeError for other inputs.
 */
export class ToImageTensor implements Transform {
  apply(input: unknown): Tensor {
    if (isTensor(input)) {
      if (input.dtype !== 'uint8') throw new TypeError(`ToImageTensor: a tensor input must already be uint8, got ${input.dtype}`);
      return checkImage(input, 'ToImageTensor');
    }
    if (!isRawImage(input)) throw new TypeError(`ToImageTensor: expected a decoded image { data: Uint8Array, width, height, channels }, got ${describe(input)}`);
    return rawToCHW(input, 'ToImageTensor');
  }
  toJSON(): TransformSpec {
    return { name: 'ToImageTensor' };
  }
}

const MAX: Partial<Record<DType, number>> = { uint8: 255, int8: 127, int16: 32767, int32: 2147483647, int64: 2 ** 63 };
const IMAGE_DTYPES: readonly DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'uint8', 'int8', 'int16', 'int32', 'int64'];

/** torchvision's `convert_image_dtype`: rescales values between integer ranges and [0, 1]. */
export function convertImageDtype(img: Tensor, dtype: DType): Tensor {
  if (img.dtype === dtype) return img;
  return tidy(() => {
    if (isFloatingDType(img.dtype)) {
      if (isFloatingDType(dtype)) return img.to(dtype);
      if ((img.dtype === 'float32' && (dtype === 'int32' || dtype === 'int64')) || (img.dtype === 'float64' && dtype === 'int64')) {
        throw new RangeError(`ConvertImageDtype: the cast from ${img.dtype} to ${dtype} cannot be performed safely`);
      }
      // max + 1 - eps spreads [0, 1] evenly over the integers, as torchvision does.
      return img.mul((MAX[dtype] as number) + 1.0 - 1e-3).to(dtype);
    }
    const inMax = MAX[img.dtype] as number;
    if (isFloatingDType(dtype)) return img.to(dtype).div(inMax);
    const outMax = MAX[dtype] as number;
    if (inMax > outMax) return img.div(Math.floor((inMax + 1) / (outMax + 1)), 'floor').to(dtype);
    return img.to(dtype).mul(Math.floor((outMax + 1) / (inMax + 1)));
  });
}

/**
 * Converts tensor images to `dtype` and rescales their values, as torchvision's `ConvertImageDtype` (uint8 0..255 ↔
 * float 0..1). @throws RangeError for a dtype that is not an image dtype or an unsafe float-to-int cast.
 * @example new tg.transforms.ConvertImageDtype('float32')
 */
export class ConvertImageDtype implements Transform {
  readonly dtype: DType;
  constructor(dtype: DType = 'float32') {
    if (!IMAGE_DTYPES.includes(dtype)) throw new RangeError(`ConvertImageDtype: dtype must be one of ${IMAGE_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`);
    this.dtype = dtype;
  }
  apply(input: unknown): Tensor {
    const img = checkImage(input, 'ConvertImageDtype');
    if (!IMAGE_DTYPES.includes(img.dtype)) throw new TypeError(`ConvertImageDtype: cannot convert images of dtype ${img.dtype}`);
    return convertImageDtype(img, this.dtype);
  }
  toJSON(): TransformSpec {
    return { name: 'ConvertImageDtype', dtype: this.dtype };
  }
}

registerTransform('ToTensor', (spec) => (checkKeys('ToTensor', spec, ['name']), new ToTensor()));
registerTransform('ToImageTensor', (spec) => (checkKeys('ToImageTensor', spec, ['name']), new ToImageTensor()));
registerTransform('ConvertImageDtype', (spec) => new ConvertImageDtype(checkKeys('ConvertImageDtype', spec, ['name', 'dtype']).dtype as DType));
