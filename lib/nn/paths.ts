/** Dotted paths to submodules: finding a child's parent and name, with errors that say what exists there. */
import type { Module } from './module';
import { TorchError } from '../errors';

/** Where a submodule sits: its parent module and its name in that parent. */
export interface ChildSlot {
  parent: Module;
  name: string;
  module: Module;
}

/** Checks that a path is a non-empty dotted string; `fn` names the caller in the message. */
export function checkPath(path: unknown, fn: string): string {
  if (typeof path !== 'string' || path === '') throw new TypeError(`${fn}: expected a dotted path to a submodule ('hidden2', 'layer4.1.bn2'), got ${describe(path)}`);
  return path;
}

/**
 * The parent and name of the submodule at `path` in `root`.
 * @throws Error naming the first missing step and the children that exist there, or saying the path names a tensor.
 */
export function childSlot(root: Module, path: string, fn: string): ChildSlot {
  checkPath(path, fn);
  const dot = path.lastIndexOf('.');
  const parentPath = dot < 0 ? '' : path.slice(0, dot);
  const name = path.slice(dot + 1);
  let parent: Module;
  try {
    parent = root.get(parentPath);
  } catch (e) {
    throw new TorchError(`${fn}: no submodule '${path}': ${(e as Error).message}`, { code: 'ERR_UNKNOWN_MODULE' });
  }
  const module = parent._modules.get(name);
  if (!module) {
    if (parent._parameters.has(name) || parent._buffers.has(name)) {
      throw new TorchError(`${fn}: '${path}' is a ${parent._parameters.has(name) ? 'parameter' : 'buffer'}, not a module`, { code: 'ERR_UNKNOWN_MODULE' });
    }
    const kids = [...parent._modules.keys()];
    const where = parentPath ? `'${parentPath}' (${parent.constructor.name})` : parent.constructor.name;
    throw new TorchError(`${fn}: no submodule '${path}': ${where} has no child '${name}'; its children: ${kids.length ? kids.join(', ') : '(none)'}`, { code: 'ERR_UNKNOWN_MODULE' });
  }
  return { parent, name, module };
}

/** Whether `path` names a module, parameter or buffer of `root` (what a collection may hold). */
export function resolveEntry(root: Module, path: string): Module | import('../tensor').Tensor | undefined {
  if (path === '') return root;
  const dot = path.lastIndexOf('.');
  let owner: Module;
  try {
    owner = root.get(dot < 0 ? '' : path.slice(0, dot));
  } catch {
    return undefined;
  }
  const name = path.slice(dot + 1);
  return owner._modules.get(name) ?? owner._parameters.get(name) ?? owner._buffers.get(name) ?? undefined;
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `'${v}'`;
  return typeof v === 'object' ? `an object (${(v as object).constructor?.name ?? 'Object'})` : `a ${typeof v} (${String(v)})`;
}
