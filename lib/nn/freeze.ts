/** Freezing: which parameters train, and BatchNorm layers whose running statistics stay put when frozen. */
import type { Tensor } from '../tensor';
import type { Module } from './module';
import { NamePattern, compilePattern } from './pattern';
import { TorchError } from '../errors';

/** A module holding running statistics that can be frozen (BatchNorm). */
export interface StatisticsModule extends Module {
  frozenStatistics: boolean;
}

/** Whether a module keeps running statistics that freeze() can freeze (BatchNorm1d/2d). */
export function hasFrozenStatistics(m: Module): m is StatisticsModule {
  return typeof (m as unknown as { frozenStatistics?: unknown }).frozenStatistics === 'boolean';
}

/** Every module path, a module shared under two names listed under both (as state dicts do); cycles are cut. */
function allModulePaths(model: Module): [string, Module][] {
  const out: [string, Module][] = [];
  const onPath = new Set<Module>();
  const walk = (m: Module, path: string) => {
    if (onPath.has(m)) return;
    onPath.add(m);
    out.push([path, m]);
    for (const [n, c] of m._modules) if (c) walk(c, path ? `${path}.${n}` : n);
    onPath.delete(m);
  };
  walk(model, '');
  return out;
}

/** Every parameter under every name it has (tied weights have several). */
function allNamedParameters(model: Module): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  for (const [path, m] of allModulePaths(model)) for (const [n, t] of m._parameters) if (t) out.push([path ? `${path}.${n}` : n, t]);
  return out;
}

/** Every name a pattern may select in a module: module paths, parameter and buffer names. */
function selectableNames(model: Module): string[] {
  const names: string[] = [];
  for (const [path, m] of allModulePaths(model)) {
    if (path !== '') names.push(path);
    const pre = path ? `${path}.` : '';
    for (const [n, t] of m._parameters) if (t) names.push(pre + n);
    for (const [n, t] of m._buffers) if (t) names.push(pre + n);
  }
  return names;
}

function describe(p: string | RegExp): string {
  return typeof p === 'string' ? `'${p}'` : String(p);
}

/**
 * Compiles a pattern for freeze()/unfreeze()/layer groups. Each string or RegExp in it must select at least
 * one module, parameter or buffer: one that selects nothing is almost always a typo, so the error names them
 * all with the model's top-level children. Predicates are exempt (they may legitimately select nothing).
 */
export function compileSelection(model: Module, pattern: NamePattern, where: string): (name: string) => boolean {
  const match = compilePattern(pattern);
  if (typeof pattern === 'function') return match;
  const items = (Array.isArray(pattern) ? pattern : [pattern]) as (string | RegExp)[];
  const names = selectableNames(model);
  const unknown = items.filter((p) => {
    const f = compilePattern(p);
    return !names.some(f);
  });
  if (unknown.length) {
    const kids = model.namedChildren().map(([n]) => n);
    throw new TorchError(
      `${where}: ${unknown.map(describe).join(', ')} ${unknown.length === 1 ? 'selects' : 'select'} nothing in ${model.constructor.name}` +
        ` (its children: ${kids.length ? kids.join(', ') : '(none)'})`,
        { code: 'ERR_PATTERN_NO_MATCH' },
    );
  }
  return match;
}

/**
 * Freezes (`frozen` true) or unfreezes what a pattern selects (everything without one): sets `requiresGrad`
 * on the selected parameters, releasing the gradients of those it freezes. A BatchNorm whose parameters it
 * touches gets frozen statistics exactly when all its parameters end up frozen; one without parameters
 * (`affine: false`) when the pattern selects its path or buffers.
 */
export function setFrozen(model: Module, pattern: NamePattern | undefined, frozen: boolean, where: string): void {
  const match = pattern === undefined ? () => true : compileSelection(model, pattern, where);
  const touched = new Set<Tensor>();
  for (const [name, p] of allNamedParameters(model)) {
    if (!match(name) || touched.has(p)) continue;
    touched.add(p);
    p.requiresGrad = !frozen;
    if (frozen) releaseGrad(p);
  }
  for (const [path, m] of allModulePaths(model)) {
    if (!hasFrozenStatistics(m)) continue;
    const own = [...m._parameters.values()].filter((p): p is Tensor => !!p);
    if (own.length) {
      if (own.some((p) => touched.has(p))) m.frozenStatistics = own.every((p) => !p.requiresGrad);
      continue;
    }
    const pre = path ? `${path}.` : '';
    const named = (path !== '' && match(path)) || [...m._buffers.keys()].some((b) => match(pre + b));
    if (named) m.frozenStatistics = frozen;
  }
}

function releaseGrad(p: Tensor): void {
  const g = p.grad;
  if (g === undefined) return;
  p.grad = undefined;
  // Reading .grad made a JS handle; release it now rather than at garbage collection.
  g.dispose();
}

/** Implements Module.isFrozen(): a parameter that does not train, or a module all of whose parameters (or statistics) are frozen. */
export function isFrozenIn(model: Module, name: string): boolean {
  if (typeof name !== 'string') throw new TypeError(`isFrozen(): expected a dotted parameter or module name, got ${typeof name}`);
  const param = allNamedParameters(model).find(([n]) => n === name);
  if (param) return !param[1].requiresGrad;
  let m: Module;
  try {
    m = model.get(name);
  } catch (e) {
    throw new TorchError(`isFrozen('${name}'): no parameter or module of that name (${(e as Error).message})`, { code: 'ERR_UNKNOWN_MODULE' });
  }
  const params = m.parameters();
  if (params.length) return params.every((p) => !p.requiresGrad);
  const stats = m.modules().filter(hasFrozenStatistics);
  return stats.length > 0 && stats.every((s) => s.frozenStatistics);
}
