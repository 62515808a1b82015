/** Automatic mixed precision: autocast regions, loss scaling, and fit's precision option. */
export { autocast, autocastState } from './autocast';
export type { AutocastOptions, AutocastDevice, AutocastDtype } from './autocast';
export { GradScaler } from './grad-scaler';
export type { GradScalerOptions, GradScalerState, ScalableOptimizer } from './grad-scaler';
export type { Precision } from './precision';
