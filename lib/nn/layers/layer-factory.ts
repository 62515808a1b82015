/** Layer factories: how builders such as Conv2dNormActivation take torchvision's `norm_layer` / `activation_layer`. */
import { Module, isModule } from '../module';

/**
 * What makes a layer: a Module class (constructed with `new` and the arguments, as torchvision calls
 * `norm_layer(channels)`) or a function that returns a new Module.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type LayerFactory<A extends unknown[] = any[]> = (new (...args: A) => Module) | ((...args: A) => Module);

/** Builds one layer from a factory, with a clear error when it is not a Module class or does not return a Module. */
export function makeLayer<A extends unknown[]>(factory: LayerFactory<A>, args: A, what: string, owner: string): Module {
  if (typeof factory !== 'function') throw new TypeError(`${owner}: ${what} must be a Module class or a function returning a Module, got ${factory === null ? 'null' : typeof factory}`);
  const isClass = factory.prototype instanceof Module;
  const m: unknown = isClass ? new (factory as new (...a: A) => Module)(...args) : (factory as (...a: A) => Module)(...args);
  if (!isModule(m)) throw new TypeError(`${owner}: ${what} must return a tg.nn.Module, got ${m === null ? 'null' : typeof m}`);
  return m;
}
