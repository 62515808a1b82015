/** Module: the base class of every layer and model, a tree of named children holding parameters and buffers. */
import { inspectCustom } from '../portable-types';
import { Tensor, isTensor } from '../tensor';
import type { DType, Device } from '../dtype';
import { isDType, isFloatingDType } from '../dtype';
import { keep } from '../memory';
import { noGrad } from '../autograd';
import { parameterName, setParameterName } from './parameter';
import { NamePattern, compilePattern } from './pattern';
import { LoadReport, LoadStateDictOptions, StateDict, StateDictOptions, loadStateDictInto, stateDictOf } from './state-dict';
import { SummaryInput, summarize } from './summary';
import { isFrozenIn, setFrozen } from './freeze';
import { checkLayerGroups, freezeTo, layerGroupsOf, resolveAllLayerGroups } from './layer-groups';
import { dropModule, insertModule, replaceModule } from './edit';
import { sliceModule } from './slice';
import { Collections, collectionsOf } from './collections';
import type { Sequential } from './sequential';
import { TorchError } from '../errors';
import { checkDevice } from '../device';

/** Where `Module.to()` moves a module and/or which floating dtype it converts to. */
export type ModuleTarget = Device | DType | string | { device?: Device | string; dtype?: DType };

/** Called before forward with its arguments; may return replacement arguments (an array). */
export type ForwardPreHook = (module: Module, args: unknown[]) => unknown[] | void;
/** Called after forward with its arguments and output; may return a replacement output. */
export type ForwardHook = (module: Module, args: unknown[], output: unknown) => unknown;

/** Removes the hook it was returned for. */
export interface HookHandle {
  remove(): void;
}

/** Options of registerParameter. */
export interface ParameterOptions {
  /** Whether the parameter trains (default true). */
  requiresGrad?: boolean;
}

/** Options of registerBuffer. */
export interface BufferOptions {
  /** Whether the buffer belongs in stateDict() (default true). */
  persistent?: boolean;
}

type Kind = 'parameter' | 'buffer' | 'module';

/** How surgery may edit a module's children: 'named' (replace only), 'dict' (drop too), 'chain' (drop and insert). */
export type ChildLayout = 'named' | 'dict' | 'chain';

/**
 * Surgery methods a child, parameter or buffer may shadow on its own module, as attributes shadow methods in PyTorch
 * (`self.drop = nn.Dropout()`); the function forms (`tg.transfer.dropModule`, ...) still reach them.
 */
const SHADOWABLE_METHODS = new Set(['drop', 'replace', 'insert', 'slice']);

/** Whether a value is a torchgraft module. */
export function isModule(v: unknown): v is Module {
  return v instanceof Module;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (isTensor(v)) return 'a Tensor';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? `an object (${(v as object).constructor?.name ?? 'Object'})` : `a ${typeof v}`;
}

/**
 * The base class of layers and models, like `torch.nn.Module`.
 *
 * Subclass it, register parameters, buffers and child modules in the constructor, and implement `forward`.
 * Registration also defines a property of the same name (`this.weight`, `this.fc1`) that always reads
 * the current tensor or child, also after `to()` replaced it; assigning to that property re-registers.
 * A module assigned as a plain property (`this.fc1 = new tg.nn.Linear(4, 2)`) becomes a child too, as in
 * PyTorch; tensors must be registered (`registerParameter` / `registerBuffer`) to belong to the module.
 * Parameters and buffers are owned by the module (kept out of tidy scopes) until `dispose()`.
 *
 * @example
 * class Net extends tg.nn.Module {
 *   declare fc1: tg.nn.Linear;
 *   constructor() { super(); this.registerModule('fc1', new tg.nn.Linear(4, 2)); }
 *   forward(x: tg.Tensor) { return this.fc1.call(x).relu(); }
 * }
 */
export class Module {
  /** Whether the module is in training mode (see `train()` / `eval()`). */
  training = true;
  /** @internal */ readonly _parameters = new Map<string, Tensor | null>();
  /** @internal */ readonly _buffers = new Map<string, Tensor | null>();
  /** @internal */ readonly _nonPersistent = new Set<string>();
  /** @internal */ readonly _moduleMap = new Map<string, Module | null>();
  /** @internal */ readonly _forwardPreHooks = new Map<number, ForwardPreHook>();
  /** @internal */ readonly _forwardHooks = new Map<number, ForwardHook>();
  /** @internal */ _layerGroups: NamePattern[] | undefined = undefined;

  /**
   * Child modules by name. Modules assigned as plain properties (`this.fc1 = new Linear(…)`, or a class
   * field) are adopted here as children, as PyTorch's attribute assignment registers them.
   * @internal
   */
  get _modules(): Map<string, Module | null> {
    for (const key of Object.keys(this)) {
      if (this._moduleMap.has(key)) continue;
      const v = (this as unknown as Record<string, unknown>)[key];
      if (!(v instanceof Module) || v === this || this._parameters.has(key) || this._buffers.has(key)) continue;
      delete (this as unknown as Record<string, unknown>)[key];
      this._moduleMap.set(key, v);
      this.defineAccessor(key, 'module');
    }
    return this._moduleMap;
  }

  /** The computation; subclasses override it. Call `call()` (or this) with the inputs. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  forward(...args: any[]): any {
    void args;
    throw new TorchError(`${this.constructor.name}: forward() is not implemented (override it in your subclass)`, { code: 'ERR_NO_FORWARD' });
  }

  /** Runs forward with the forward hooks around it (what Sequential and the built-in models call for each child). */
  call(...args: Parameters<this['forward']>): ReturnType<this['forward']> {
    let a: unknown[] = args;
    for (const hook of this._forwardPreHooks.values()) {
      const r = hook(this, a);
      if (r !== undefined) a = Array.isArray(r) ? r : [r];
    }
    let out = this.forward(...a);
    for (const hook of this._forwardHooks.values()) {
      const r = hook(this, a, out);
      if (r !== undefined) out = r;
    }
    return out;
  }

  /** Adds a hook run before each `call()`; returns a handle to remove it. */
  registerForwardPreHook(hook: ForwardPreHook): HookHandle {
    return addHook(this._forwardPreHooks, hook, 'registerForwardPreHook');
  }

  /** Adds a hook run after each `call()` with the output; returns a handle to remove it. */
  registerForwardHook(hook: ForwardHook): HookHandle {
    return addHook(this._forwardHooks, hook, 'registerForwardHook');
  }

  // ---- registration ------------------------------------------------------------------------------

  /**
   * Registers a parameter (a floating-point tensor that trains) under `name`, or `null` for an absent one
   * (PyTorch's `bias=None`). The tensor is kept out of tidy scopes and set to require grad.
   */
  registerParameter<T extends Tensor | null>(name: string, tensor: T, options: ParameterOptions = {}): T {
    this.checkName(name, 'parameter', 'registerParameter');
    if (tensor !== null) {
      if (!isTensor(tensor)) throw new TypeError(`registerParameter('${name}'): expected a Tensor or null, got ${typeName(tensor)}`);
      if (tensor.isDisposed) throw new TypeError(`registerParameter('${name}'): the tensor is disposed`);
      if (!isFloatingDType(tensor.dtype))
        throw new TypeError(`registerParameter('${name}'): parameters must be floating point (got ${tensor.dtype}); register it as a buffer`);
      if (!tensor.isLeaf)
        throw new TypeError(`registerParameter('${name}'): the tensor is the result of an operation, not a leaf; pass t.detach() (or create it under tg.noGrad)`);
      keep(tensor);
      tensor.requiresGrad = options.requiresGrad ?? true;
    }
    this._parameters.set(name, tensor);
    this.defineAccessor(name, 'parameter');
    return tensor;
  }

  /**
   * Registers a buffer: state that is saved and moved with the module but does not train
   * (BatchNorm's running statistics). Non-persistent buffers stay out of stateDict().
   */
  registerBuffer<T extends Tensor | null>(name: string, tensor: T, options: BufferOptions = {}): T {
    this.checkName(name, 'buffer', 'registerBuffer');
    if (tensor !== null) {
      if (!isTensor(tensor)) throw new TypeError(`registerBuffer('${name}'): expected a Tensor or null, got ${typeName(tensor)}`);
      if (tensor.isDisposed) throw new TypeError(`registerBuffer('${name}'): the tensor is disposed`);
      keep(tensor);
    }
    this._buffers.set(name, tensor);
    if (options.persistent === false) this._nonPersistent.add(name);
    else this._nonPersistent.delete(name);
    this.defineAccessor(name, 'buffer');
    return tensor;
  }

  /** Registers a child module under `name` (or `null` for an empty slot); its parameters get dotted names `name.…`. */
  registerModule<M extends Module | null>(name: string, module: M): M {
    this.checkName(name, 'module', 'registerModule');
    if (module !== null && !isModule(module))
      throw new TypeError(`registerModule('${name}'): expected a tg.nn.Module or null, got ${typeName(module)}`);
    if ((module as unknown) === this) throw new TypeError(`registerModule('${name}'): a module cannot be its own child`);
    this._moduleMap.set(name, module);
    this.defineAccessor(name, 'module');
    return module;
  }

  /** Alias of registerModule, as PyTorch's `add_module`. */
  addModule<M extends Module | null>(name: string, module: M): M {
    return this.registerModule(name, module);
  }

  private kindOf(name: string): Kind | undefined {
    if (this._parameters.has(name)) return 'parameter';
    if (this._buffers.has(name)) return 'buffer';
    if (this._modules.has(name)) return 'module';
    return undefined;
  }

  private checkName(name: string, kind: Kind, fn: string): void {
    if (typeof name !== 'string' || name === '') throw new TypeError(`${fn}(): the name must be a non-empty string, got ${typeName(name)}`);
    if (name.includes('.')) throw new TypeError(`${fn}('${name}'): names cannot contain '.' (dots separate the levels of dotted names)`);
    const existing = this.kindOf(name);
    if (existing !== undefined) {
      if (existing !== kind) throw new TypeError(`${fn}('${name}'): '${name}' is already registered as a ${existing}`);
      return;
    }
    // A declared-but-unset class field (`fc1!: Linear`) may be taken over; anything else is a real clash.
    const own = Object.getOwnPropertyDescriptor(this, name);
    // PyTorch models often name children `drop`, `slice`...: those may shadow the surgery methods on that instance.
    const shadowable = !own && SHADOWABLE_METHODS.has(name);
    const clash = shadowable ? false : own ? !('value' in own) || own.value !== undefined : name in this;
    if (clash) throw new TypeError(`${fn}('${name}'): '${name}' clashes with an existing property of ${this.constructor.name}`);
  }

  private defineAccessor(name: string, kind: Kind): void {
    const own = Object.getOwnPropertyDescriptor(this, name);
    if (own && own.get) return;
    Object.defineProperty(this, name, {
      configurable: true,
      enumerable: false,
      get: () => (kind === 'parameter' ? this._parameters : kind === 'buffer' ? this._buffers : this._modules).get(name),
      set: (v: unknown) => {
        if (kind === 'parameter') this.registerParameter(name, v as Tensor | null);
        else if (kind === 'buffer') this.registerBuffer(name, v as Tensor | null, { persistent: !this._nonPersistent.has(name) });
        else this.registerModule(name, v as Module | null);
      },
    });
  }

  // ---- traversal ---------------------------------------------------------------------------------

  /** Direct children with their names (empty slots skipped). */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    for (const [n, m] of this._modules) {
      if (m && !seen.has(m)) {
        seen.add(m);
        out.push([n, m]);
      }
    }
    return out;
  }

  /** Direct children. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant with its dotted path ('' for this one), each module once, depth first. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const walk = (m: Module, path: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([path, m]);
      for (const [n, c] of m._modules) if (c) walk(c, path ? `${path}.${n}` : n);
    };
    walk(this, prefix);
    return out;
  }

  /** This module and every descendant. */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * Every parameter with its dotted name (`features.0.weight`), each tensor once, in PyTorch's order.
   * Records the name on each tensor (see `parameterName`) so optimizers can key state by it.
   */
  namedParameters(prefix = '', options: { recurse?: boolean } = {}): [string, Tensor][] {
    const out = this.namedTensors('parameter', prefix, options.recurse ?? true);
    for (const [n, t] of out) setParameterName(t, n);
    return out;
  }

  /** Parameters, optionally only those whose dotted names match a pattern (a glob such as `hidden[12].*`, a RegExp, …). */
  parameters(pattern?: NamePattern): Tensor[] {
    const all = this.namedParameters();
    if (pattern === undefined) return all.map(([, t]) => t);
    const match = compilePattern(pattern);
    return all.filter(([n]) => match(n)).map(([, t]) => t);
  }

  /** Every buffer with its dotted name (`bn1.running_mean`), each tensor once. */
  namedBuffers(prefix = '', options: { recurse?: boolean } = {}): [string, Tensor][] {
    return this.namedTensors('buffer', prefix, options.recurse ?? true);
  }

  /** Every buffer. */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  private namedTensors(kind: 'parameter' | 'buffer', prefix: string, recurse: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const mods: [string, Module][] = recurse ? this.namedModules(prefix) : [[prefix, this]];
    for (const [path, m] of mods) {
      for (const [n, t] of kind === 'parameter' ? m._parameters : m._buffers) {
        if (!t || seen.has(t)) continue;
        seen.add(t);
        out.push([path ? `${path}.${n}` : n, t]);
      }
    }
    return out;
  }

  /** The submodule at a dotted path (`layer1.0.bn1`; '' is this module). Throws naming the missing step and what exists there. */
  get(path: string): Module {
    if (typeof path !== 'string') throw new TypeError(`get(): expected a dotted path string, got ${typeName(path)}`);
    if (path === '') return this;
    const parts = path.split('.');
    let m: Module = this as Module;
    for (let i = 0; i < parts.length; i++) {
      const next = m._modules.get(parts[i]);
      if (!next) {
        const where = i === 0 ? this.constructor.name : `'${parts.slice(0, i).join('.')}' (${m.constructor.name})`;
        const kids = [...m._modules.keys()];
        const what = m._parameters.has(parts[i]) || m._buffers.has(parts[i]) ? ` ('${parts[i]}' is a ${m.kindOf(parts[i])}, not a module)` : '';
        throw new TorchError(
          `get('${path}'): no submodule '${parts[i]}' in ${where}${what}; its children: ${kids.length ? kids.join(', ') : '(none)'}`,
          { code: 'ERR_UNKNOWN_MODULE' },
        );
      }
      m = next;
    }
    return m;
  }

  /** The parameter at a dotted path (`layer1.0.conv1.weight`). */
  getParameter(path: string): Tensor {
    return this.getTensor(path, 'parameter');
  }

  /** The buffer at a dotted path (`bn1.running_mean`). */
  getBuffer(path: string): Tensor {
    return this.getTensor(path, 'buffer');
  }

  private getTensor(path: string, kind: 'parameter' | 'buffer'): Tensor {
    if (typeof path !== 'string') throw new TypeError(`get${kind === 'parameter' ? 'Parameter' : 'Buffer'}(): expected a dotted path string`);
    const dot = path.lastIndexOf('.');
    const owner = this.get(dot < 0 ? '' : path.slice(0, dot));
    const name = path.slice(dot + 1);
    const t = (kind === 'parameter' ? owner._parameters : owner._buffers).get(name);
    if (!t) {
      const have = [...(kind === 'parameter' ? owner._parameters : owner._buffers).keys()];
      throw new TorchError(`no ${kind} '${path}' (${owner.constructor.name} has ${have.length ? have.join(', ') : `no ${kind}s`})`, { code: 'ERR_UNKNOWN_PARAMETER' });
    }
    return t;
  }

  /** Calls fn on every descendant, then on this module (PyTorch's order); returns this. */
  apply(fn: (module: Module) => void): this {
    if (typeof fn !== 'function') throw new TypeError('apply(): expected a function');
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Sets training mode (Dropout drops, BatchNorm uses batch statistics) on this module and every descendant. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new TypeError(`train(): mode must be a boolean, got ${typeName(mode)}`);
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Sets evaluation mode: `train(false)`. */
  eval(): this {
    return this.train(false);
  }

  // ---- state -------------------------------------------------------------------------------------

  /**
   * Moves parameters and buffers to a device and/or converts floating ones to a dtype (integer buffers such
   * as `num_batches_tracked` keep theirs). Tensors are replaced: parameters stay leaves with their
   * `requiresGrad`, gradients move along, shared tensors stay shared, and the old tensors are disposed
   * (so create optimizers after moving the model). Returns this.
   */
  to(target: ModuleTarget): this {
    let device: string | undefined;
    let dtype: DType | undefined;
    if (typeof target === 'string') {
      if (isDType(target)) dtype = target;
      else device = target;
    } else if (target !== null && typeof target === 'object' && !isTensor(target)) {
      ({ device, dtype } = target);
      if (dtype !== undefined && !isDType(dtype)) throw new TypeError(`to(): unknown dtype '${String(dtype)}'`);
    } else throw new TypeError(`to(): expected a device ('cuda'), a dtype ('float64') or { device, dtype }, got ${typeName(target)}`);
    if (device !== undefined) checkDevice(device, 'to()');
    if (dtype !== undefined && !isFloatingDType(dtype)) throw new TypeError(`to(): a module converts to floating dtypes only, got '${dtype}'`);

    const moved = new Map<Tensor, Tensor>();
    const convert = (t: Tensor, isParam: boolean): Tensor => {
      const done = moved.get(t);
      if (done) return done;
      const want = { device, dtype: dtype !== undefined && isFloatingDType(t.dtype) ? dtype : undefined };
      const n = noGrad(() => {
        const d = t.detach();
        const r = d.to(want);
        d.dispose();
        return r;
      });
      if (n.device === t.device && n.dtype === t.dtype) {
        n.dispose();
        moved.set(t, t);
        return t;
      }
      keep(n);
      if (isParam) {
        n.requiresGrad = t.requiresGrad;
        const g = t.grad;
        if (g) {
          const moved = noGrad(() => g.to(want));
          n.grad = moved;
          // The gradient now lives in n's autograd slot; these JS handles are not needed.
          moved.dispose();
          g.dispose();
        }
        const name = parameterName(t);
        if (name !== undefined) setParameterName(n, name);
      }
      moved.set(t, n);
      return n;
    };
    // Convert everything first, then swap, so a failure (no GPU) leaves the module untouched.
    const mods = this.namedModules().map(([, m]) => m);
    try {
      for (const m of mods) {
        for (const t of m._parameters.values()) if (t) convert(t, true);
        for (const t of m._buffers.values()) if (t) convert(t, false);
      }
    } catch (e) {
      for (const [o, n] of moved) if (o !== n) n.dispose();
      throw e;
    }
    for (const m of mods) {
      for (const [k, t] of m._parameters) if (t) m._parameters.set(k, moved.get(t)!);
      for (const [k, t] of m._buffers) if (t) m._buffers.set(k, moved.get(t)!);
    }
    for (const [o, n] of moved) if (o !== n) o.dispose();
    return this;
  }

  /** Local buffer names that a state dict may lack without being reported missing (BatchNorm's `num_batches_tracked`). */
  optionalStateKeys(): string[] {
    return [];
  }

  /**
   * Parameters and persistent buffers by PyTorch dotted name (`layer1.0.bn1.running_mean`), in PyTorch's order,
   * as a plain object. Values are detached tensors sharing storage with the module's (dispose them freely),
   * or the module's own tensors with `{ keepVars: true }`.
   */
  stateDict(options: StateDictOptions = {}): StateDict {
    return stateDictOf(this, options);
  }

  /**
   * Copies tensors by dotted name into this module's parameters and buffers, in place (no grad), and returns a
   * `LoadReport` (loaded, missing, unexpected, mismatched, skipped; prints as a table).
   * Checkpoint keys go through `stripPrefix`, `rename` and `addPrefix`; `include` / `exclude` then pick the keys
   * to load, and keys outside them are skipped, never errors. With `strict` (the default, also with the other
   * options) missing and unexpected keys in scope are errors; shape mismatches are too unless `skipMismatched`;
   * non-tensors and disposed tensors always are. All problems are reported in one `StateDictError` before
   * anything is copied.
   * @example net.loadStateDict(sd, { include: /^hidden[123]\./ })  // restore hidden1-3 only, strictly
   * @example net.loadStateDict(sd, { stripPrefix: 'module.', rename: { 'dense_1.': 'hidden1.' }, skipMismatched: true })
   */
  loadStateDict(stateDict: StateDict | Map<string, Tensor>, options: LoadStateDictOptions = {}): LoadReport {
    return loadStateDictInto(this, stateDict, options);
  }

  /** Sets `requiresGrad` on every parameter (PyTorch's `module.requires_grad_()`); returns this. */
  requiresGrad_(flag = true): this {
    if (typeof flag !== 'boolean') throw new TypeError(`requiresGrad_(): flag must be a boolean, got ${typeName(flag)}`);
    for (const p of this.parameters()) p.requiresGrad = flag;
    return this;
  }

  /** Sets every parameter's gradient to none (undefined). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      const g = p.grad;
      if (g === undefined) continue;
      p.grad = undefined;
      // Reading .grad made a JS handle; release it now rather than at garbage collection.
      g.dispose();
    }
  }

  // ---- freezing ----------------------------------------------------------------------------------

  /**
   * Freezes what a pattern selects (everything without one): those parameters stop requiring grad (their
   * gradients are released), so no optimizer moves them, whatever its momentum, weight decay or state.
   * A BatchNorm all of whose parameters are frozen (or that the pattern names, also with `affine: false`) keeps
   * its running statistics and normalises with them even in training mode. Each string or RegExp must select
   * some module, parameter or buffer (an error names those that do not); predicates are exempt. Patterns are
   * tested on parameter names and, for a BatchNorm without parameters, on its path and buffer names. Returns this.
   * @param pattern a glob (`hidden[12].*`, or a module name `hidden1`), a RegExp on dotted parameter names, a list of them, or a predicate.
   * @example net.freeze(/^hidden[12]\./); net.freeze(['features', 'bn1']);
   */
  freeze(pattern?: NamePattern): this {
    setFrozen(this, pattern, true, 'freeze()');
    return this;
  }

  /** Undoes freeze() for what a pattern selects (everything without one): parameters train again, statistics update again. Returns this. */
  unfreeze(pattern?: NamePattern): this {
    setFrozen(this, pattern, false, 'unfreeze()');
    return this;
  }

  /**
   * Freezes the first `n` layer groups and unfreezes the rest; `n < 0` counts from the end (`freezeTo(-1)`
   * trains only the last group). Groups are `layerGroups`: by default one per top-level child, in order.
   * Throws a RangeError unless `-groups <= n <= groups`. Returns this.
   */
  freezeTo(n: number): this {
    freezeTo(this, n);
    return this;
  }

  /**
   * The ordered layer groups used by freezeTo() and discriminative learning rates. Reads the declared groups,
   * or the default (one per top-level child, by name; then the model's own parameters, if any). Set it to an
   * array of patterns (`[['conv1', 'bn1'], 'layer1', /^layer[23]\./, 'fc']`); undefined restores the default.
   * Every parameter must fall in exactly one group (checked when they are used).
   */
  get layerGroups(): NamePattern[] {
    return layerGroupsOf(this);
  }

  set layerGroups(groups: NamePattern[] | undefined) {
    this._layerGroups = checkLayerGroups(groups);
  }

  /** The parameters of each layer group, in order (see `layerGroups`), e.g. to build one optimizer group per layer group. */
  layerGroupParameters(): Tensor[][] {
    return resolveAllLayerGroups(this).map((g) => g.params.map(([, p]) => p));
  }

  /** Parameters that train (require grad) with their dotted names. */
  namedTrainableParameters(): [string, Tensor][] {
    return this.namedParameters().filter(([, p]) => p.requiresGrad);
  }

  /** Parameters that train (require grad): what to give an optimizer after freezing. */
  trainableParameters(): Tensor[] {
    return this.namedTrainableParameters().map(([, p]) => p);
  }

  /** Frozen parameters (not requiring grad) with their dotted names. */
  namedFrozenParameters(): [string, Tensor][] {
    return this.namedParameters().filter(([, p]) => !p.requiresGrad);
  }

  /** Frozen parameters (not requiring grad). */
  frozenParameters(): Tensor[] {
    return this.namedFrozenParameters().map(([, p]) => p);
  }

  /**
   * Whether a parameter (`hidden1.weight`) is frozen, or a module (`hidden1`; '' for this one) is: all its
   * parameters are, or, without parameters, its BatchNorm statistics are. Throws for an unknown name.
   */
  isFrozen(name = ''): boolean {
    return isFrozenIn(this, name);
  }

  /** Number of parameter elements (each shared tensor once); `{ trainableOnly: true }` counts those requiring grad. */
  numParameters(options: { trainableOnly?: boolean } = {}): number {
    return this.parameters()
      .filter((p) => !options.trainableOnly || p.requiresGrad)
      .reduce((s, p) => s + p.numel, 0);
  }

  /**
   * A table of the module tree: name, type, output shape (when an input or its shape is given, by one
   * forward pass in eval mode without grad, tracing every submodule's forward), parameter count, and whether it
   * trains: yes, partly, frozen (see freeze()) or - (no parameters).
   * @param input an input shape including the batch (`[1, 3, 224, 224]`), several shapes, or tensors.
   */
  summary(input?: SummaryInput, options: { dtype?: DType } = {}): string {
    return summarize(this, input, options);
  }

  /** Disposes every parameter and buffer of this module and its descendants (the module is unusable after). */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      for (const t of m._parameters.values()) t?.dispose();
      for (const t of m._buffers.values()) t?.dispose();
    }
  }

  /** Disposes the module's tensors at the end of a `using` block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- printing ----------------------------------------------------------------------------------

  /** The constructor arguments shown in the printed form, e.g. `inFeatures=4, outFeatures=2, bias=true`. */
  extraRepr(): string {
    return '';
  }

  /** PyTorch-style printed tree: `Sequential(\n  (0): Linear(inFeatures=4, …)\n)`. */
  toString(): string {
    const extra = this.extraRepr();
    const kids = this.namedChildren();
    if (kids.length === 0) return `${this.constructor.name}(${extra})`;
    const lines = [...(extra ? extra.split('\n') : []), ...kids.map(([n, m]) => `(${n}): ${m.toString()}`)];
    return `${this.constructor.name}(\n${lines.map((l) => '  ' + l.split('\n').join('\n  ')).join('\n')}\n)`;
  }

  /** How console.log and util.inspect show the module: its printed tree. */
  [inspectCustom](): string {
    return this.toString();
  }

  // ---- surgery and collections -------------------------------------------------------------------

  /** @internal Which edits surgery may make to the children: forward calls them by name unless a subclass says otherwise. */
  _childLayout(): ChildLayout {
    return 'named';
  }

  /**
   * Puts `module` in place of the submodule at a dotted path (`'fc'`, `'layer4.1.bn2'`), keeping its name and
   * position. Returns the module taken out. See `tg.transfer.replaceModule`.
   * @throws TorchError `ERR_UNKNOWN_MODULE` for an unknown path (naming the children that exist there).
   */
  replace(path: string, module: Module): Module {
    return replaceModule(this, path, module);
  }

  /**
   * Removes the submodule at a dotted path from the Sequential (or ModuleDict) holding it; other names are kept.
   * Returns the removed module. See `tg.transfer.dropModule`.
   */
  drop(path: string): Module {
    return dropModule(this, path);
  }

  /**
   * Inserts `module` as `name` right after the submodule at `after` in the Sequential holding it (`after` null:
   * at the start of this Sequential). Returns this. See `tg.transfer.insertModule`.
   */
  insert(after: string | null, name: string, module: Module): this {
    insertModule(this, after, name, module);
    return this;
  }

  /**
   * A Sequential of this model's layers from `from` to `to`, sharing their modules and weights (a name as `to`
   * is included, a position is not). See `tg.transfer.sliceModule`.
   */
  slice(from?: string | number, to?: string | number): Sequential {
    return sliceModule(this, from, to);
  }

  /** Named lists of this model's layers and tensors, for people reusing it (saved as weights-file metadata). */
  get collections(): Collections {
    return collectionsOf(this);
  }
}

let nextHookId = 0;
function addHook<H>(map: Map<number, H>, hook: H, fn: string): HookHandle {
  if (typeof hook !== 'function') throw new TypeError(`${fn}(): expected a function`);
  const id = nextHookId++;
  map.set(id, hook);
  return { remove: () => void map.delete(id) };
}
