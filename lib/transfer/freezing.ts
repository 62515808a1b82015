/**
 * The freezing the surgery and recipes need, through `Module.freeze`/`unfreeze` when the model has them
 * (they also keep a frozen BatchNorm's statistics), else by `requiresGrad` on the matching parameters.
 */
import type { Module } from '../nn/module';
import { NamePattern, compilePattern } from '../nn/pattern';

type Freezable = Module & { freeze?: (p?: NamePattern) => unknown; unfreeze?: (p?: NamePattern) => unknown };

function setRequiresGrad(model: Module, pattern: NamePattern | undefined, flag: boolean): void {
  const match = pattern === undefined ? () => true : compilePattern(pattern);
  for (const [n, p] of model.namedParameters()) if (match(n)) p.requiresGrad = flag;
}

/** Freezes the parameters whose dotted names match `pattern` (all without one). */
export function freezeWhere(model: Module, pattern?: NamePattern): void {
  const m = model as Freezable;
  if (typeof m.freeze === 'function') m.freeze(pattern);
  else setRequiresGrad(model, pattern, false);
}

/** Unfreezes the parameters whose dotted names match `pattern` (all without one). */
export function unfreezeWhere(model: Module, pattern?: NamePattern): void {
  const m = model as Freezable;
  if (typeof m.unfreeze === 'function') m.unfreeze(pattern);
  else setRequiresGrad(model, pattern, true);
}
