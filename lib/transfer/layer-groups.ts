/** Layer groups: the ordered slices of a model that freezeTo() and discriminative learning rates work on. */
import type { Tensor } from '../tensor';
import type { Module } from '../nn/module';
import { NamePattern, compilePattern } from '../nn/pattern';
import { compileSelection, setFrozen } from './freeze';
import { TorchError } from '../errors';

/** One resolved layer group: its pattern and the parameters it selects, with their dotted names. */
export interface ResolvedLayerGroup {
  pattern: NamePattern;
  names: string[];
  params: Tensor[];
}

// A child named 'conv[1]' must select itself only, so glob characters in names are put in classes.
const escapeGlob = (name: string) => name.replace(/[*?[]/g, '[$&]');

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
      throw new TypeError(`layerGroups[${i}]: ${(e as Error).message}`);
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

/**
 * Resolves the layer groups to their parameters (in the model's order). Throws when a group selects
 * nothing, when a parameter falls in two groups, or when declared groups leave parameters out (an optimizer
 * built from the groups would silently never train them).
 */
export function resolveLayerGroups(model: Module, where = 'layerGroups'): ResolvedLayerGroup[] {
  const patterns = layerGroupsOf(model);
  const all = model.namedParameters();
  const owner = new Map<Tensor, number>();
  const groups = patterns.map((pattern, i) => {
    const match = compileSelection(model, pattern, `${where}: layer group ${i}`);
    const mine = all.filter(([n]) => match(n));
    for (const [n, p] of mine) {
      const prev = owner.get(p);
      if (prev !== undefined) throw new TorchError(`${where}: parameter '${n}' is in layer groups ${prev} and ${i}; each belongs in one`, { code: 'ERR_LAYER_GROUPS' });
      owner.set(p, i);
    }
    return { pattern, names: mine.map(([n]) => n), params: mine.map(([, p]) => p) };
  });
  const left = all.filter(([, p]) => !owner.has(p)).map(([n]) => n);
  if (left.length) throw new TorchError(`${where}: parameters in no layer group (${left.length}): ${left.join(', ')}; add them to a group`, { code: 'ERR_LAYER_GROUPS' });
  return groups;
}

/**
 * Implements Module.freezeTo(): freezes the first n layer groups and unfreezes the others (n < 0 counts from
 * the end: -1 leaves only the last group training).
 */
export function freezeTo(model: Module, n: number): void {
  const groups = resolveLayerGroups(model, 'freezeTo()');
  const len = groups.length;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new TypeError(`freezeTo(): n must be an integer, got ${String(n)}`);
  if (n < -len || n > len)
    throw new RangeError(`freezeTo(${n}): ${model.constructor.name} has ${len} layer groups, so n must be between ${-len} and ${len}`);
  const k = n < 0 ? n + len : n;
  groups.forEach((g, i) => setFrozen(model, g.pattern, i < k, 'freezeTo()'));
}
