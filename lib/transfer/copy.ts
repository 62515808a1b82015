/** copyModule: a deep copy of a module tree with new tensors holding the same values. */
import { Module } from '../nn/module';
import type { Tensor } from '../tensor';
import { noGrad } from '../autograd';
import { collectionsOf } from '../nn/collections';

/**
 * A deep copy of `module`: the same classes and settings, new parameter and buffer tensors with equal values
 * (same device, dtype and `requiresGrad`), a module or tensor shared inside the tree stays shared in the copy.
 * Forward hooks and the root's collections are carried over. Gradients are not copied.
 * @example const frozenTwin = tg.transfer.copyModule(pretrained.get('hidden1'));
 */
export function copyModule<M extends Module>(module: M): M {
  if (!(module instanceof Module)) throw new TypeError('copyModule: expected a tg.nn.Module');
  const modules = new Map<Module, Module>();
  const tensors = new Map<Tensor, Tensor>();
  const copyTensor = (t: Tensor): Tensor => {
    let c = tensors.get(t);
    if (!c) {
      c = noGrad(() => {
        const d = t.detach();
        const r = d.clone();
        d.dispose();
        return r;
      });
      tensors.set(t, c);
    }
    return c;
  };
  const copy = (m: Module): Module => {
    const done = modules.get(m);
    if (done) return done;
    const children = m._modules; // reading it adopts modules assigned as plain properties
    const c = Object.create(Object.getPrototypeOf(m)) as Module;
    modules.set(m, c);
    for (const key of Reflect.ownKeys(m)) {
      const d = Object.getOwnPropertyDescriptor(m, key)!;
      // Accessors are the ones registration defined over m's maps; registering on c defines c's own.
      if (d.get || d.set) continue;
      let value = d.value;
      if (key === '_parameters' || key === '_buffers' || key === '_moduleMap') value = new Map();
      else if (key === '_nonPersistent') value = new Set(value as Set<string>);
      else if (key === '_forwardPreHooks' || key === '_forwardHooks') value = new Map(value as Map<number, unknown>);
      else if (Array.isArray(value)) value = [...value];
      Object.defineProperty(c, key, { ...d, value });
    }
    for (const [n, t] of m._parameters) {
      const p = t ? copyTensor(t) : null;
      c.registerParameter(n, p, { requiresGrad: t?.requiresGrad ?? true });
    }
    for (const [n, t] of m._buffers) c.registerBuffer(n, t ? copyTensor(t) : null, { persistent: !m._nonPersistent.has(n) });
    for (const [n, child] of children) c.registerModule(n, child ? copy(child) : null);
    return c;
  };
  const out = copy(module) as M;
  collectionsOf(out).fromJSON(collectionsOf(module).toJSON());
  return out;
}
