/** ColorJitter: random brightness, contrast, saturation and hue in a random order, drawn as torchvision's. */
import { Tensor } from '../tensor';
import { tidy } from '../memory';
import { registerTransform, Transform, TransformSpec } from './transform';
import { checkImage, checkKeys, randomPermutation, uniform, specOptions } from './params';
import { adjustBrightness, adjustContrast, adjustHue, adjustSaturation } from './color';

/** A jitter amount: a number j for [max(0, 1 - j), 1 + j] (hue: [-j, j]), or an explicit [min, max]. */
export type Jitter = number | [number, number];

/** Options of ColorJitter, as torchvision's arguments (all default 0: no change). */
export interface ColorJitterOptions {
  brightness?: Jitter;
  contrast?: Jitter;
  saturation?: Jitter;
  /** Hue shift as a fraction of the colour wheel, within [-0.5, 0.5]. */
  hue?: Jitter;
}

const KEYS = ['brightness', 'contrast', 'saturation', 'hue'] as const;

// torchvision's ColorJitter._check_input: null when the range leaves the image as it is.
function checkInput(value: unknown, name: string, center: number, bound: [number, number], clipFirstOnZero: boolean): [number, number] | null {
  let v: [number, number];
  if (typeof value === 'number') {
    if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`ColorJitter: ${name} as a single number must be non-negative, got ${value}`);
    v = [center - value, center + value];
    if (clipFirstOnZero) v[0] = Math.max(v[0], 0.0);
    if (name === 'hue' && value > 0.5) throw new RangeError(`ColorJitter: hue must be at most 0.5, got ${value}`);
  } else if (Array.isArray(value) && value.length === 2 && value.every((x) => typeof x === 'number')) {
    if (!(bound[0] <= value[0] && value[0] <= value[1] && value[1] <= bound[1])) {
      throw new RangeError(`ColorJitter: ${name} must be [min, max] with ${bound[0]} <= min <= max <= ${bound[1]}, got ${JSON.stringify(value)}`);
    }
    v = [value[0], value[1]];
  } else {
    throw new TypeError(`ColorJitter: ${name} must be a number or [min, max], got ${JSON.stringify(value)}`);
  }
  return v[0] === center && v[1] === center ? null : v;
}

/**
 * Randomly changes the brightness, contrast, saturation and hue of tensor images `[..., 1 or 3, H, W]` (uint8 or float
 * in [0, 1]), as torchvision's `ColorJitter`: the order from `torch.randperm(4)`, then one uniform draw per active
 * adjustment, so `tg.manualSeed` reproduces PyTorch's factors; one set of factors for a whole batch.
 * @throws RangeError for negative amounts or out-of-range bounds; TypeError for unknown options.
 * @example new tg.transforms.ColorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 })
 */
export class ColorJitter implements Transform {
  readonly brightness: [number, number] | null;
  readonly contrast: [number, number] | null;
  readonly saturation: [number, number] | null;
  readonly hue: [number, number] | null;
  private readonly options: ColorJitterOptions;
  constructor(options: ColorJitterOptions = {}) {
    const o = checkKeys('ColorJitter', options, KEYS);
    this.brightness = checkInput(o.brightness ?? 0, 'brightness', 1, [0, Infinity], true);
    this.contrast = checkInput(o.contrast ?? 0, 'contrast', 1, [0, Infinity], true);
    this.saturation = checkInput(o.saturation ?? 0, 'saturation', 1, [0, Infinity], true);
    this.hue = checkInput(o.hue ?? 0, 'hue', 0, [-0.5, 0.5], false);
    this.options = { ...(o as ColorJitterOptions) };
  }

  /** torchvision's `ColorJitter.get_params`: the order of the four adjustments and each factor (null: skipped). */
  static getParams(b: [number, number] | null, c: [number, number] | null, s: [number, number] | null, h: [number, number] | null) {
    const order = randomPermutation(4);
    const draw = (r: [number, number] | null) => (r === null ? null : uniform(r[0], r[1]));
    const brightness = draw(b);
    const contrast = draw(c);
    const saturation = draw(s);
    const hue = draw(h);
    return { order, brightness, contrast, saturation, hue };
  }

  /** Adjusts one image, or a batch with the same factors. */
  apply(input: unknown): Tensor {
    const img = checkImage(input, 'ColorJitter');
    const c = img.shape[img.ndim - 3];
    if (c !== 1 && c !== 3) throw new TypeError(`ColorJitter: expected 1 or 3 channels, got ${c} (shape [${img.shape.join(', ')}])`);
    const p = ColorJitter.getParams(this.brightness, this.contrast, this.saturation, this.hue);
    return tidy(() => {
      let x = img;
      for (const id of p.order) {
        if (id === 0 && p.brightness !== null) x = adjustBrightness(x, p.brightness);
        else if (id === 1 && p.contrast !== null) x = adjustContrast(x, p.contrast);
        else if (id === 2 && p.saturation !== null) x = adjustSaturation(x, p.saturation);
        else if (id === 3 && p.hue !== null) x = adjustHue(x, p.hue);
      }
      return x;
    });
  }

  toJSON(): TransformSpec {
    return { name: 'ColorJitter', ...this.options };
  }
}

registerTransform('ColorJitter', (spec) => {
  const options = specOptions(spec, 'ColorJitter', [...KEYS]);
  return new ColorJitter(options as ColorJitterOptions);
});
