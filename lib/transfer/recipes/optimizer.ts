/** The optimizer a recipe builds for each phase: Adam, SGD, or the caller's factory. */
import { Adam } from '../../optim/adam';
import { SGD } from '../../optim/sgd';
import type { StepOptimizer } from '../../train/types';
import type { LrGroup } from './discriminative';

/**
 * How a recipe makes its optimizers: 'adam' (default), 'sgd' (momentum 0.9 unless `optimizerOptions` say
 * otherwise), or a factory given the parameter groups (each with its `lr`) and the phase or stage number.
 */
export type OptimizerSpec = 'adam' | 'sgd' | ((groups: LrGroup[], phase: number) => StepOptimizer);

/** Builds one; `owned` says whether the recipe made it (and so disposes it when the phase ends). */
export function makeOptimizer(spec: OptimizerSpec | undefined, groups: LrGroup[], phase: number, options: Record<string, unknown> | undefined, fn: string): { optimizer: StepOptimizer; owned: boolean } {
  const extra = options ?? {};
  if (spec === undefined || spec === 'adam') return { optimizer: new Adam(groups, extra), owned: true };
  if (spec === 'sgd') return { optimizer: new SGD(groups, { momentum: 0.9, ...extra }), owned: true };
  if (typeof spec === 'function') {
    const optimizer = spec(groups, phase);
    if (!optimizer || typeof optimizer.step !== 'function' || typeof optimizer.zeroGrad !== 'function') {
      throw new TypeError(`${fn}: the optimizer factory must return an optimizer (with step and zeroGrad)`);
    }
    return { optimizer, owned: false };
  }
  throw new TypeError(`${fn}: optimizer must be 'adam', 'sgd' or a function (groups, phase) => optimizer, got ${String(spec)}`);
}

/** Disposes an optimizer the recipe made. */
export function release(o: { optimizer: StepOptimizer; owned: boolean }): void {
  if (o.owned) (o.optimizer as { dispose?: () => void }).dispose?.();
}
