/** ModuleList and ModuleDict: containers that register their modules without defining a forward. */
import { Module, isModule } from './module';
import type { ChildLayout } from './module';
import { TorchError } from '../errors';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? `an object (${(v as object).constructor?.name ?? 'Object'})` : `a ${typeof v}`;
}

function check(name: string, m: unknown, owner: string): Module {
  if (!isModule(m)) throw new TypeError(`${owner}: item '${name}' must be a tg.nn.Module, got ${describe(m)}`);
  return m;
}

/**
 * A list of modules whose parameters belong to the owner, named '0', '1', … (PyTorch's `nn.ModuleList`).
 * It has no forward: the owner's forward decides how to use them.
 * @example this.registerModule('blocks', new tg.nn.ModuleList([new Block(), new Block()]));
 */
export class ModuleList extends Module implements Iterable<Module> {
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Number of modules. */
  get length(): number {
    return this._modules.size;
  }

  /** The module at a position (negative counts from the end). */
  at(index: number): Module {
    if (!Number.isInteger(index)) throw new TypeError(`ModuleList.at(): expected an integer position, got ${describe(index)}`);
    const n = this._modules.size;
    const i = index < 0 ? index + n : index;
    if (i < 0 || i >= n) throw new RangeError(`ModuleList.at(${index}): out of range for ${n} modules`);
    return this._modules.get(String(i))!;
  }

  /** Adds a module at the end; returns this. */
  append(module: Module): this {
    this.registerModule(String(this._modules.size), check(String(this._modules.size), module, 'ModuleList'));
    return this;
  }

  /** Adds several modules at the end; returns this. */
  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  /** Iterates over the modules in order. */
  *[Symbol.iterator](): Iterator<Module> {
    for (const m of this._modules.values()) if (m) yield m;
  }

  /** A ModuleList is not called itself. */
  forward(): never {
    throw new TorchError('ModuleList has no forward(): iterate over it in the owner\'s forward', { code: 'ERR_NO_FORWARD' });
  }
}

/** Modules by name whose parameters belong to the owner (PyTorch's `nn.ModuleDict`). It has no forward. */
export class ModuleDict extends Module {
  constructor(modules: Record<string, Module> | Map<string, Module> = {}) {
    super();
    const entries = modules instanceof Map ? [...modules] : Object.entries(modules ?? {});
    for (const [k, m] of entries) this.set(k, m);
  }

  /** Number of modules. */
  get size(): number {
    return this._modules.size;
  }

  /** Names in insertion order. */
  keys(): string[] {
    return [...this._modules.keys()];
  }

  /** Whether a name is present. */
  has(name: string): boolean {
    return !!this._modules.get(name);
  }

  /** Adds or replaces a module; returns this. */
  set(name: string, module: Module): this {
    this.registerModule(name, check(name, module, 'ModuleDict'));
    return this;
  }

  /** [name, module] pairs in insertion order. */
  entries(): [string, Module][] {
    return this.namedChildren();
  }

  /** @internal Surgery may drop children: the owner picks them by name, so a gap breaks nothing. */
  _childLayout(): ChildLayout {
    return 'dict';
  }

  /** A ModuleDict is not called itself. */
  forward(): never {
    throw new TorchError('ModuleDict has no forward(): pick its modules in the owner\'s forward', { code: 'ERR_NO_FORWARD' });
  }
}
