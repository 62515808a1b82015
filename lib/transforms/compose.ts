/** Compose: a chain of transforms applied in order, serialisable as one nested spec. */
import { isTensor, Tensor } from '../tensor';
import { fromJSON, isTransform, RawImage, registerTransform, Transform, TransformSpec } from './transform';
import { checkKeys } from './params';

/**
 * Applies `transforms` one after another, as torchvision's `Compose`; tensors made in between are released.
 * `toJSON` nests the specs of its transforms, and `fromJSON` rebuilds the whole chain.
 * @throws TypeError when an element does not keep the Transform contract.
 * @example new tg.transforms.Compose([new tg.transforms.RandomResizedCrop(224), new tg.transforms.RandomHorizontalFlip()])
 */
export class Compose implements Transform {
  readonly transforms: Transform[];
  constructor(transforms: Transform[]) {
    if (!Array.isArray(transforms)) throw new TypeError('Compose: expected an array of transforms');
    transforms.forEach((t, i) => {
      if (!isTransform(t)) throw new TypeError(`Compose: element ${i} is not a transform (it needs apply() and toJSON())`);
    });
    this.transforms = [...transforms];
  }
  apply(input: Tensor | RawImage): Tensor | RawImage {
    let x = input;
    for (const t of this.transforms) {
      const y = t.apply(x);
      // Only what this chain made is released: the caller's input and a pass-through result stay.
      if (x !== input && x !== y && isTensor(x)) x.dispose();
      x = y;
    }
    return x;
  }
  toJSON(): TransformSpec {
    return { name: 'Compose', transforms: this.transforms.map((t) => t.toJSON()) };
  }
}

registerTransform('Compose', (spec) => {
  const o = checkKeys('Compose', spec, ['name', 'transforms']);
  if (!Array.isArray(o.transforms)) throw new TypeError('Compose: the spec needs transforms: [spec, ...]');
  return new Compose(o.transforms.map((s) => fromJSON(s as TransformSpec)));
});
