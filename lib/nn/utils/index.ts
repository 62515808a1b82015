/** tg.nn.utils: helpers named after torch.nn.utils' (gradient clipping lives with the optimizers). */
export { clipGradNorm_, clipGradValue_ } from '../../optim/clip-grad';
export type { ClipGradNormOptions } from '../../optim/clip-grad';
