/** Layer groups: the ordered blocks of a model (lowest first) that recipes give their own learning rates and unfreeze in turn. */
import { Module, isModule } from '../../nn/module';
import { NamePattern, compilePattern } from '../../nn/pattern';
import type { Tensor } from '../../tensor';
import { describe } from '../paths';
import { TorchError } from '../../errors';

/**
 * One layer group: a submodule of the model, a pattern over dotted parameter names (a string that is a
 * submodule path selects that submodule; other strings are globs), or an array mixing modules and patterns.
 */
export type LayerGroupSpec = Module | NamePattern | readonly (Module | string | RegExp)[];

/** A resolved group: a label for messages and its parameters with their dotted names. */
export interface ResolvedGroup {
  label: string;
  params: [string, Tensor][];
}

function isPattern(v: unknown): v is NamePattern {
  return typeof v === 'string' || v instanceof RegExp || typeof v === 'function';
}

/**
 * The model's layer groups, lowest first: `groups` when given, else `model.layerGroups` when the model declares
 * them, else its top-level children that have parameters (parameters registered on the model itself join the
 * highest group). Each parameter belongs to one group.
 * @throws TorchError `ERR_LAYER_GROUPS` for a module not in the model, a parameter in two groups, a group without parameters, or (with
 *   declared groups) parameters in no group, listing them.
 */
export function resolveLayerGroups(model: Module, groups: readonly LayerGroupSpec[] | undefined, fn: string): ResolvedGroup[] {
  // Only groups the user declared: the default `model.layerGroups` counts parameterless children (activations) too.
  const declared = groups ?? (model._layerGroups as readonly LayerGroupSpec[] | undefined);
  const all = model.namedParameters();
  if (declared === undefined || declared === null) return childGroups(model, all, fn);
  if (!Array.isArray(declared) || declared.length === 0) throw new TypeError(`${fn}: layer groups must be a non-empty array (lowest group first)`);
  const pathOf = new Map<Module, string>(model.namedModules().map(([p, m]) => [m, p] as [Module, string]).reverse());
  const owner = new Map<string, number>();
  const out = declared.map((spec, g): ResolvedGroup => {
    const items: unknown[] = Array.isArray(spec) && (spec as unknown[]).some(isModule) ? [...(spec as unknown[])] : [spec];
    const tests: ((name: string) => boolean)[] = [];
    const labels: string[] = [];
    for (const item of items) {
      if (isModule(item)) {
        const p = pathOf.get(item);
        if (p === undefined) throw new TorchError(`${fn}: layer group ${g} holds a ${item.constructor.name} that is not part of the model`, { code: 'ERR_LAYER_GROUPS' });
        tests.push(p === '' ? () => true : (n) => n.startsWith(p + '.'));
        labels.push(p || '(model)');
      } else if (typeof item === 'string' && isModulePath(model, item)) {
        tests.push((n) => n.startsWith(item + '.'));
        labels.push(item);
      } else if (isPattern(item) || Array.isArray(item)) {
        tests.push(compilePattern(item as NamePattern));
        labels.push(String(item));
      } else throw new TypeError(`${fn}: layer group ${g} must be a module, a name pattern or an array of them, got ${describe(item)}`);
    }
    const params = all.filter(([n]) => tests.some((t) => t(n)));
    if (!params.length) throw new TorchError(`${fn}: layer group ${g} (${labels.join(', ')}) has no parameters`, { code: 'ERR_LAYER_GROUPS' });
    for (const [n] of params) {
      if (owner.has(n)) throw new TorchError(`${fn}: parameter '${n}' is in layer groups ${owner.get(n)} and ${g}`, { code: 'ERR_LAYER_GROUPS' });
      owner.set(n, g);
    }
    return { label: labels.join(', '), params };
  });
  const left = all.filter(([n]) => !owner.has(n)).map(([n]) => n);
  if (left.length) throw new TorchError(`${fn}: parameters in no layer group: ${left.join(', ')}`, { code: 'ERR_LAYER_GROUPS' });
  return out;
}

function isModulePath(model: Module, s: string): boolean {
  try {
    model.get(s);
    return s !== '';
  } catch {
    return false;
  }
}

function childGroups(model: Module, all: [string, Tensor][], fn: string): ResolvedGroup[] {
  const out: ResolvedGroup[] = [];
  const taken = new Set<string>();
  for (const [name] of model.namedChildren()) {
    const params = all.filter(([n]) => n.startsWith(name + '.') && !taken.has(n));
    params.forEach(([n]) => taken.add(n));
    if (params.length) out.push({ label: name, params });
  }
  const own = all.filter(([n]) => !taken.has(n));
  if (own.length) {
    if (out.length) out[out.length - 1].params.push(...own);
    else out.push({ label: '(model)', params: own });
  }
  if (!out.length) throw new TorchError(`${fn}: ${model.constructor.name} has no parameters`, { code: 'ERR_LAYER_GROUPS' });
  return out;
}
