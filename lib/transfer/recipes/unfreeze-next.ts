/** The step progressive unfreezing repeats: unfreeze the next frozen layer groups from the top and give them to the optimizer. */
import type { Module } from '../../nn/module';
import type { Tensor } from '../../tensor';
import type { StepOptimizer } from '../../train/types';
import { unfreezeWhere } from '../freezing';
import type { ResolvedGroup } from './layer-groups';

/** An optimizer that takes new parameter groups (tg.optim's do). */
export interface GrowableOptimizer extends StepOptimizer {
  addParamGroup(group: { params: [string, Tensor][]; lr: number }): void;
  readonly paramGroups?: readonly { readonly params: readonly Tensor[] }[];
}

/**
 * Unfreezes the highest `count` frozen groups below the trainable ones, and gives the optimizer those of their
 * parameters it does not hold yet, in a new group at the group's rate. Returns how many groups it unfroze.
 */
export function unfreezeNext(model: Module, groups: ResolvedGroup[], lrs: number[], optimizer: GrowableOptimizer, count: number): number {
  let done = 0;
  for (let g = groups.length - 1; g >= 0 && done < count; g--) {
    const params = groups[g].params;
    if (params.every(([, p]) => p.requiresGrad)) continue;
    const names = new Set(params.map(([n]) => n));
    unfreezeWhere(model, (n) => names.has(n));
    const held = new Set<Tensor>((optimizer.paramGroups ?? []).flatMap((pg) => [...pg.params]));
    const fresh = params.filter(([, p]) => !held.has(p));
    if (fresh.length) optimizer.addParamGroup({ params: fresh, lr: lrs[g] });
    done++;
  }
  return done;
}

export function checkGrowable(o: StepOptimizer, fn: string): GrowableOptimizer {
  if (typeof (o as Partial<GrowableOptimizer>).addParamGroup !== 'function') throw new TypeError(`${fn}: the optimizer must support addParamGroup (tg.optim's do)`);
  return o as GrowableOptimizer;
}
