/** Learning-rate schedules (torch.optim.lr_scheduler), each applied per parameter group. */
export { LRScheduler } from './lr-scheduler';
export type { SchedulerStateDict } from './lr-scheduler';
export { StepLR } from './step-lr';
export type { StepLROptions } from './step-lr';
export { ExponentialLR } from './exponential-lr';
export type { ExponentialLROptions } from './exponential-lr';
export { CosineAnnealingLR } from './cosine-annealing-lr';
export type { CosineAnnealingLROptions } from './cosine-annealing-lr';
export { OneCycleLR } from './one-cycle-lr';
export type { OneCycleLROptions } from './one-cycle-lr';
export { ReduceLROnPlateau } from './reduce-lr-on-plateau';
export type { ReduceLROnPlateauOptions } from './reduce-lr-on-plateau';
