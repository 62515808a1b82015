/** tg.transforms: preparing inputs for a pretrained model (resizing, normalising). */
export { resize } from './resize';
export type { ResizeOptions } from './resize';
export { normalize, IMAGENET_MEAN, IMAGENET_STD } from './normalize';
