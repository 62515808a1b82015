/** Model surgery in place: replace, drop and insert submodules by dotted path (what Module.replace/drop/insert call). */
import type { Module } from './module';
import { childSlot, checkPath, describe } from './paths';
import { TorchError } from '../errors';

function checkModule(m: unknown, fn: string): Module {
  // Duck-typed: Module's own file calls this one, so it cannot be imported here for instanceof.
  if (typeof (m as Partial<Module> | null)?._childLayout !== 'function') throw new TypeError(`${fn}: expected a tg.nn.Module, got ${describe(m)}`);
  return m as Module;
}

/**
 * Puts `module` where the submodule at `path` is, keeping its name and (in a Sequential) its position.
 * Works under any parent, since the parent's forward reads the child by name. Returns the module taken out
 * (still usable; dispose it if it is not needed).
 * @throws TorchError `ERR_UNKNOWN_MODULE` for an unknown path or one naming a tensor; TypeError when `module` is not a Module.
 */
export function replaceModule(root: Module, path: string, module: Module): Module {
  const fn = `replace('${String(path)}')`;
  checkModule(module, fn);
  const { parent, name, module: old } = childSlot(root, path, fn);
  if (module === parent || module.modules().includes(parent)) throw new TypeError(`${fn}: the new module contains the module it would be put into`);
  parent.registerModule(name, module);
  return old;
}

/**
 * Removes the submodule at `path` from its parent, which must be a Sequential (the chain closes over the gap)
 * or a ModuleDict. Other parents call their children by name in forward, so removing one would break it: use
 * `replace(path, new tg.nn.Identity())` there. Names of the remaining children are kept (so state-dict keys
 * still match checkpoints). Returns the removed module.
 */
export function dropModule(root: Module, path: string): Module {
  const fn = `drop('${String(path)}')`;
  const { parent, name, module } = childSlot(root, path, fn);
  if (parent._childLayout() === 'named') {
    throw new TorchError(
      `${fn}: '${name}' belongs to a ${parent.constructor.name}, whose forward calls it by name; ` +
        `use replace('${path}', new tg.nn.Identity()) instead (drop works inside a Sequential or ModuleDict)`,
        { code: 'ERR_MODULE_EDIT' },
    );
  }
  parent._moduleMap.delete(name);
  // The accessor registration defined would now read undefined; remove it so the name is free again.
  delete (parent as unknown as Record<string, unknown>)[name];
  return module;
}

/**
 * Inserts `module` under `name` right after the submodule at `after`, in the Sequential that holds it; with
 * `after` null, at the start of `root` (which must then be a Sequential). Returns nothing: the tree is edited in place.
 * @throws TorchError `ERR_UNKNOWN_MODULE` for an unknown path, `ERR_MODULE_EDIT` for a parent that is not a Sequential or a
 *   name already taken there.
 */
export function insertModule(root: Module, after: string | null, name: string, module: Module): void {
  const fn = `insert(${after === null ? 'null' : `'${String(after)}'`}, '${String(name)}')`;
  checkModule(module, fn);
  let parent: Module;
  let anchor: string | null;
  if (after === null) {
    parent = root;
    anchor = null;
  } else {
    checkPath(after, fn);
    const slot = childSlot(root, after, fn);
    parent = slot.parent;
    anchor = slot.name;
  }
  if (parent._childLayout() !== 'chain') {
    throw new TorchError(
      `${fn}: the parent is a ${parent.constructor.name}, whose forward would never call the inserted module; ` +
        'insert works inside a Sequential (or replace the layer with a Sequential of it and the new one)',
        { code: 'ERR_MODULE_EDIT' },
    );
  }
  if (typeof name !== 'string' || name === '' || name.includes('.')) throw new TypeError(`${fn}: the name must be a non-empty string without dots`);
  if (parent._modules.has(name) || parent._parameters.has(name) || parent._buffers.has(name)) {
    throw new TorchError(`${fn}: '${name}' is already taken in this Sequential (children: ${[...parent._modules.keys()].join(', ')})`, { code: 'ERR_MODULE_EDIT' });
  }
  const entries = [...parent._moduleMap];
  parent.registerModule(name, module);
  const at = anchor === null ? 0 : entries.findIndex(([n]) => n === anchor) + 1;
  entries.splice(at, 0, [name, module]);
  // A Map keeps insertion order, and Sequential's forward follows it: rebuild it in the new order.
  parent._moduleMap.clear();
  for (const [n, m] of entries) parent._moduleMap.set(n, m);
}
