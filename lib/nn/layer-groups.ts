/**
 * Layer groups: the ordered blocks of a model, lowest first, that freezeTo() freezes up to and that discriminative
 * learning rates and progressive unfreezing give their own rates and unfreeze in turn.
 */
import type { Tensor } from '../tensor';
import type { Module } from './module';
import { NamePattern, compilePattern } from './pattern';
import { compileSelection, setFrozen } from './freeze';
import { describe } from './paths';
import { TorchError } from '../errors';

/**
 * One layer group: a submodule of the model, a pattern over dotted names (a module path or glob selects that
 * submodule's parameters; see NamePattern), or an array mixing modules, globs and RegExps.
 */
export type LayerGroupSpec = Module | NamePattern | readonly (Module | string | RegExp)[];

/** A resolved group: a label for messages, the pattern that selects it, and its parameters with their dotted names. */
export interface ResolvedGroup {
  label: string;
  pattern: NamePattern;
  params: [string, Tensor][];
}

// A child named 'conv[1]' must select itself only, so glob characters in names are put in classes.
const escapeGlob = (name: string) => name.replace(/[*?[]/g, '[$&]');

// Module's own file calls this one, so modules are recognised by shape rather than by instanceof.
const isModuleLike = (v: unknown): v is Module => typeof (v as Partial<Module> | null)?.namedParameters === 'function';

/**
 * Validates layer groups given to `model.layerGroups` (undefined or null restores the default): a non-empty
 * array of patterns, each a module name or glob, a RegExp, a list of them, or a predicate on parameter names.
 */
export function checkLayerGroups(groups: unknown): NamePattern[] | undefined {
  if (groups === undefined || groups === null) return undefined;
  if (!Array.isArray(groups) || groups.length === 0)
    throw new TypeError('layerGroups: expected a non-empty array of groups, each a module name, glob, RegExp, list of them or predicate');
  groups.forEach((g, i) => {
    try {
      compilePattern(g as NamePattern);
    } catch (e) {
      throw new TypeError(`layerGroups[${i}]: ${(e as Error).message}`, { cause: e });
    }
  });
  return groups.slice() as NamePattern[];
}

/**
 * The model's layer groups: those declared in `model.layerGroups`, or by default one per top-level child in
 * order (by name), then one of the parameters the model holds itself, if any.
 */
export function layerGroupsOf(model: Module): NamePattern[] {
  if (model._layerGroups) return model._layerGroups.slice();
  const groups: NamePattern[] = model.namedChildren().map(([n]) => escapeGlob(n));
  const own = [...model._parameters].filter(([, t]) => t).map(([n]) => escapeGlob(n));
  if (own.length) groups.push(own);
  return groups;
}

/** A group spec as a name pattern, with a label: modules become their paths in the model. */
function specPattern(model: Module, spec: unknown, g: number, pathOf: Map<Module, string>, where: string): { pattern: NamePattern; label: string } {
  const items: unknown[] = Array.isArray(spec) && spec.some(isModuleLike) ? [...spec] : [spec];
  const parts: (string | RegExp)[] = [];
  const labels: string[] = [];
  for (const item of items) {
    if (isModuleLike(item)) {
      const p = pathOf.get(item);
      if (p === undefined) throw new TorchError(`${where}: layer group ${g} holds a ${item.constructor.name} that is not part of the model`, { code: 'ERR_LAYER_GROUPS' });
      if (p === '') return { pattern: () => true, label: '(model)' };
      parts.push(escapeGlob(p));
      labels.push(p);
    } else if (typeof item === 'function' && items.length === 1) return { pattern: item as NamePattern, label: String(item) };
    else if (typeof item === 'string' || item instanceof RegExp || (Array.isArray(item) && items.length === 1)) {
      try {
        compilePattern(item as NamePattern);
      } catch (e) {
        throw new TypeError(`${where}: layer group ${g}: ${(e as Error).message}`, { cause: e });
      }
      if (Array.isArray(item)) parts.push(...item);
      else parts.push(item);
      labels.push(String(item));
    } else throw new TypeError(`${where}: layer group ${g} must be a module, a name pattern or an array of them, got ${describe(item)}`);
  }
  return { pattern: parts.length === 1 ? parts[0] : parts, label: labels.join(', ') };
}

/**
 * Every layer group with its parameters, in the model's order: `groups` when given, else `model.layerGroups`
 * (declared, or the default above). A group may hold no parameters (an activation). Throws when a group's
 * string or RegExp selects nothing, when a parameter falls in two groups, or when groups leave parameters out
 * (an optimizer built from the groups would silently never train them).
 */
export function resolveAllLayerGroups(model: Module, groups?: readonly LayerGroupSpec[], where = 'layerGroups'): ResolvedGroup[] {
  const specs: readonly unknown[] = groups ?? layerGroupsOf(model);
  if (!Array.isArray(specs) || specs.length === 0) throw new TypeError(`${where}: layer groups must be a non-empty array (lowest group first)`);
  const pathOf = new Map<Module, string>(model.namedModules().map(([p, m]) => [m, p] as [Module, string]).reverse());
  const all = model.namedParameters();
  const owner = new Map<Tensor, number>();
  const out = specs.map((spec, i): ResolvedGroup => {
    const { pattern, label } = specPattern(model, spec, i, pathOf, where);
    const match = compileSelection(model, pattern, `${where}: layer group ${i}`);
    const params = all.filter(([n]) => match(n));
    for (const [n, p] of params) {
      const prev = owner.get(p);
      if (prev !== undefined) throw new TorchError(`${where}: parameter '${n}' is in layer groups ${prev} and ${i}; each belongs in one`, { code: 'ERR_LAYER_GROUPS' });
      owner.set(p, i);
    }
    return { label, pattern, params };
  });
  const left = all.filter(([, p]) => !owner.has(p)).map(([n]) => n);
  if (left.length) throw new TorchError(`${where}: parameters in no layer group (${left.length}): ${left.join(', ')}; add them to a group`, { code: 'ERR_LAYER_GROUPS' });
  return out;
}

/**
 * The layer groups that hold parameters, lowest first: what learning rates and unfreezing work on. Groups given
 * or declared must each hold some; default groups without any (activations, pooling) are left out.
 * @throws TorchError `ERR_LAYER_GROUPS` for a module not in the model, a parameter in two groups, a given group
 *   without parameters, parameters in no group, or a model without parameters.
 */
export function resolveLayerGroups(model: Module, groups: readonly LayerGroupSpec[] | undefined, fn: string): ResolvedGroup[] {
  const explicit = groups !== undefined || model._layerGroups !== undefined;
  const all = resolveAllLayerGroups(model, groups, fn);
  const empty = all.findIndex((g) => g.params.length === 0);
  if (explicit && empty >= 0) throw new TorchError(`${fn}: layer group ${empty} (${all[empty].label}) has no parameters`, { code: 'ERR_LAYER_GROUPS' });
  const out = all.filter((g) => g.params.length > 0);
  if (!out.length) throw new TorchError(`${fn}: ${model.constructor.name} has no parameters`, { code: 'ERR_LAYER_GROUPS' });
  return out;
}

/**
 * Implements Module.freezeTo(): freezes the first n layer groups and unfreezes the others (n < 0 counts from
 * the end: -1 leaves only the last group training).
 */
export function freezeTo(model: Module, n: number): void {
  const groups = resolveAllLayerGroups(model, undefined, 'freezeTo()');
  const len = groups.length;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new TypeError(`freezeTo(): n must be an integer, got ${String(n)}`);
  if (n < -len || n > len)
    throw new RangeError(`freezeTo(${n}): ${model.constructor.name} has ${len} layer groups, so n must be between ${-len} and ${len}`);
  const k = n < 0 ? n + len : n;
  groups.forEach((g, i) => setFrozen(model, g.pattern, i < k, 'freezeTo()'));
}
