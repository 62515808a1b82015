/** Sequential: children applied in order, named '0', '1', … or by the keys of an object. */
import { Module, isModule } from './module';
import { registerSequential } from './slice';
import type { ChildLayout } from './module';
import { TorchError } from '../errors';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? `an object (${(v as object).constructor?.name ?? 'Object'})` : `a ${typeof v}`;
}

/**
 * A chain of modules: the output of each is the input of the next.
 *
 * @example
 * new tg.nn.Sequential([new tg.nn.Linear(4, 8), new tg.nn.ReLU()]);               // names '0', '1'
 * new tg.nn.Sequential({ hidden1: new tg.nn.Linear(4, 8), act1: new tg.nn.ELU() }); // names as given
 * seq.at(0); seq.at('hidden1'); seq.at(-1); for (const layer of seq) ...; seq.length;
 */
export class Sequential extends Module implements Iterable<Module> {
  constructor(modules?: Module[] | Record<string, Module>);
  constructor(...modules: Module[]);
  constructor(...args: unknown[]) {
    super();
    if (args.length === 0 || (args.length === 1 && args[0] === undefined)) return;
    const first = args[0];
    if (args.length === 1 && Array.isArray(first)) first.forEach((m, i) => this._add(String(i), m));
    else if (args.every(isModule)) args.forEach((m, i) => this._add(String(i), m));
    else if (args.length === 1 && first !== null && typeof first === 'object' && Object.getPrototypeOf(first) === Object.prototype) {
      for (const [k, m] of Object.entries(first)) this._add(k, m);
    } else {
      throw new TypeError(`Sequential: expected modules, an array of modules or an object of named modules, got ${describe(first)}`);
    }
  }

  private _add(name: string, m: unknown): void {
    if (!isModule(m)) throw new TypeError(`Sequential: child '${name}' must be a tg.nn.Module, got ${describe(m)}`);
    this.registerModule(name, m);
  }

  /** Number of children. */
  get length(): number {
    return this._modules.size;
  }

  /** Child names in order. */
  keys(): string[] {
    return [...this._modules.keys()];
  }

  /** The child at a position (negative counts from the end) or with a name. */
  at(index: number | string): Module {
    const names = this.keys();
    if (typeof index === 'string') {
      const m = this._modules.get(index);
      if (!m) throw new TorchError(`Sequential.at('${index}'): no child named '${index}'; children: ${names.join(', ') || '(none)'}`, { code: 'ERR_UNKNOWN_MODULE' });
      return m;
    }
    if (!Number.isInteger(index)) throw new TypeError(`Sequential.at(): expected an integer position or a name, got ${describe(index)}`);
    const i = index < 0 ? index + names.length : index;
    if (i < 0 || i >= names.length) throw new RangeError(`Sequential.at(${index}): out of range for ${names.length} children`);
    return this._modules.get(names[i])!;
  }

  /** Adds a module at the end, named by its position unless a name is given. Returns this. */
  append(module: Module, name?: string): this {
    this._add(name ?? String(this._modules.size), module);
    return this;
  }

  /** Applies every child in order; each receives the previous one's output. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(input: any): any {
    let x = input;
    for (const m of this._modules.values()) if (m) x = m.call(x);
    return x;
  }

  /** The chain its forward applies, for reuse and slice: its children in order (a child listed twice appears twice). */
  chainLayers(): [string, Module][] {
    return [...this._modules].filter((e): e is [string, Module] => e[1] !== null);
  }

  /** @internal Surgery may drop and insert children: forward applies them in order, not by name. */
  _childLayout(): ChildLayout {
    return 'chain';
  }

  /** Iterates over the children in order. */
  *[Symbol.iterator](): Iterator<Module> {
    for (const m of this._modules.values()) if (m) yield m;
  }
}

// module.ts cannot import Sequential (it extends Module), yet Module.slice() returns one: hand the class over.
registerSequential(Sequential);
