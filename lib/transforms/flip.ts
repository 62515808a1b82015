/** RandomHorizontalFlip and RandomVerticalFlip, drawing `torch.rand(1) < p` as torchvision does. */
import { Tensor } from '../tensor';
import { rand } from '../creation';
import { registerTransform, Transform, TransformSpec } from './transform';
import { checkImage, checkKeys, probability } from './params';

// `torch.rand(1) < p`: one float32 draw, compared in float32 as the tensor comparison does.
function draw(p: number): boolean {
  const t = rand([1]);
  const u = t.item();
  t.dispose();
  return u < Math.fround(p);
}

abstract class RandomFlip implements Transform {
  readonly p: number;
  constructor(
    private readonly kind: 'RandomHorizontalFlip' | 'RandomVerticalFlip',
    private readonly dim: number,
    p: unknown,
  ) {
    this.p = probability(p, kind);
  }
  /** Returns the flipped image (a new tensor) with probability p, else the input itself. */
  apply(input: unknown): Tensor {
    const img = checkImage(input, this.kind);
    return draw(this.p) ? img.flip([this.dim]) : img;
  }
  toJSON(): TransformSpec {
    return { name: this.kind, p: this.p };
  }
}

/**
 * Flips tensor images `[..., C, H, W]` left-right with probability `p` (default 0.5), as torchvision's
 * `RandomHorizontalFlip` (the same draw from the global generator, so `tg.manualSeed` reproduces PyTorch's choice).
 * @throws RangeError for p outside [0, 1].
 */
export class RandomHorizontalFlip extends RandomFlip {
  constructor(p = 0.5) {
    super('RandomHorizontalFlip', -1, p);
  }
}

/** Flips tensor images upside down with probability `p` (default 0.5), as torchvision's `RandomVerticalFlip`. */
export class RandomVerticalFlip extends RandomFlip {
  constructor(p = 0.5) {
    super('RandomVerticalFlip', -2, p);
  }
}

function pOf(spec: TransformSpec, who: string): number | undefined {
  checkKeys(who, spec, ['name', 'p']);
  return spec.p as number | undefined;
}
registerTransform('RandomHorizontalFlip', (spec) => new RandomHorizontalFlip(pOf(spec, 'RandomHorizontalFlip')));
registerTransform('RandomVerticalFlip', (spec) => new RandomVerticalFlip(pOf(spec, 'RandomVerticalFlip')));
