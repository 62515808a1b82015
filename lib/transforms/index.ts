/** tg.transforms: preparing inputs for a pretrained model (resizing, normalising). */
export { resize } from './resize';
export type { ResizeOptions } from './resize';
export { normalize, IMAGENET_MEAN, IMAGENET_STD } from './normalize';
export { registerTransform, fromJSON, isTransform } from './transform';
export type { Transform, TransformSpec, RawImage } from './transform';
