/** The optimizer base class: parameter groups, names, steps and state dicts over one native LibTorch optimizer. */
import { binding } from '../native';
import type { NativeOptimizer, NativeOptimizerKind } from '../binding';
import { TorchError } from '../errors';
import { enableGrad } from '../autograd';
import type { Tensor } from '../tensor';
import { resolveOptions, OptionSpecs } from './options';
import { makeParamGroup, ParamGroup } from './param-group';
import { normalizeParams, splitGroups, NamedParam, ParamGroupInput, ParamsInput } from './params';
import { OptimizerStateDict, ParamSlot, ParamState, SavedParamGroup, StateEntries, stateDictProblems } from './state-dict';

/** What an optimizer is constructed from: one parameter list, or a list of `{ params, ...options }` groups. */
export type ParamsOrGroups<O> = ParamsInput | ParamGroupInput<O>[];

/** How a concrete optimizer describes itself to the base class. */
export interface OptimizerKind<O> {
  /** The class name used in messages (`Adam`). */
  name: string;
  /** The native implementation. */
  native: NativeOptimizerKind;
  specs: OptionSpecs<O>;
  entries: StateEntries;
  /** Checks that span options (SGD's Nesterov needs momentum); throws with `where` in the message. */
  check?: (options: O, where: string) => void;
}

/**
 * Base class of `tg.optim`'s optimizers, over LibTorch's implementations. Options apply per group; a
 * parameter whose `grad` is undefined (not used by the loss, or frozen) is skipped entirely by `step()`:
 * no weight decay, no momentum or Adam move, its state kept as it was. So is one that no longer requires grad
 * (frozen after backward()), even while a stale gradient lingers on it; PyTorch would still step that one.
 */
let nativeOf: (o: Optimizer) => NativeOptimizer | undefined;

/** @internal The native optimizer of a tg.optim optimizer (undefined for anything else or after dispose), for fit's native engine. */
export function nativeOptimizerOf(o: unknown): NativeOptimizer | undefined {
  return o instanceof Optimizer ? nativeOf(o) : undefined;
}

export abstract class Optimizer<O extends object = Record<string, unknown>> {
  static {
    nativeOf = (o) => o.#native;
  }

  /** The options groups inherit when they do not set their own. */
  readonly defaults: Readonly<Partial<O>>;
  // undefined after dispose()
  #native: NativeOptimizer | undefined;
  #kind: OptimizerKind<O>;
  #groups: ParamGroup<O>[] = [];
  #slots = new Map<string, ParamSlot>();
  #tensors = new Set<Tensor>();
  #count = 0;

  protected constructor(kind: OptimizerKind<O>, params: ParamsOrGroups<O>, options: Partial<O> = {}) {
    this.#kind = kind;
    if (options === null || typeof options !== 'object') throw new TypeError(`${kind.name}: options must be an object`);
    this.defaults = Object.freeze(resolveOptions(kind.specs, {}, options, kind.name, true));
    const groups = splitGroups<O>(params, kind.name);
    if (groups.every((g) => g.params.length === 0)) throw new TypeError(`${kind.name}: got an empty parameter list`);
    const resolved = groups.map((g, i) => {
      const r = this.#resolve(g.params, g.options, `${kind.name}: param group ${i}`);
      this.#register(r.params, r.options);
      return r;
    });
    this.#native = new binding.Optimizer(
      kind.native,
      resolved.map((r) => ({ params: r.params.map((p) => p.tensor), options: r.options })),
      this.defaults,
    );
  }

  /** The parameter groups, in order; each group's options can be read and set (`opt.paramGroups[1].lr = 1e-4`). */
  get paramGroups(): readonly ParamGroup<O>[] {
    return this.#groups;
  }

  /**
   * Adds a group (PyTorch's `add_param_group`), e.g. layers unfrozen for fine-tuning, with their own options.
   * @throws TypeError for a non-tensor or a parameter already in this optimizer; RangeError for a bad option.
   */
  addParamGroup(group: ParamGroupInput<O>): void {
    const where = `${this.#kind.name}.addParamGroup`;
    if (group === null || typeof group !== 'object' || !('params' in group)) throw new TypeError(`${where}: expected { params, ...options }`);
    const { params, ...options } = group;
    const r = this.#resolve(normalizeParams(params, where), options as Partial<O>, where);
    this.#nativeOrThrow().addParamGroup(r.params.map((p) => p.tensor), r.options);
    this.#register(r.params, r.options);
  }

  /** Sets every parameter's gradient to undefined (PyTorch's `zero_grad(set_to_none=True)`), freeing it. */
  zeroGrad(): void {
    this.#nativeOrThrow().zeroGrad();
  }

  /**
   * One update of every parameter that has a gradient, each group with its own options. With a closure, it is
   * called first with autograd on (it should zero grads, compute the loss and call backward) and its loss returned.
   */
  step(closure?: () => Tensor): Tensor | undefined {
    const loss = closure ? enableGrad(closure) : undefined;
    this.#nativeOrThrow().step();
    return loss;
  }

  /**
   * The optimizer's state keyed by parameter names (`hidden1.weight`), with each group's options: what
   * `loadStateDict` takes to resume exactly. Tensors are copies, owned by the caller.
   */
  stateDict(): OptimizerStateDict {
    const native = this.#nativeOrThrow();
    const state: Record<string, ParamState> = {};
    const paramGroups: SavedParamGroup[] = this.#groups.map((group, g) => {
      group.names.forEach((name, i) => {
        const s = native.getState(g, i);
        if (s) state[name] = s;
      });
      const saved: SavedParamGroup = { params: [...group.names] };
      for (const key of Object.keys(this.#kind.specs)) {
        const v = (group as Record<string, unknown>)[key];
        saved[key] = Array.isArray(v) ? [...v] : v;
      }
      if (group.initialLr !== undefined) saved.initialLr = group.initialLr;
      return saved;
    });
    return { state, paramGroups };
  }

  /**
   * Replaces the state (and, when given, each group's options) with a state dict's, matched by parameter name.
   * Everything is checked before anything changes; parameters the dict has no state for start afresh.
   * @throws TorchError (code ERR_OPTIMIZER_STATE) listing every problem: a name not in this optimizer, a state
   * tensor of another shape than its parameter, a missing or unknown entry, a group count or option that differs.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const native = this.#nativeOrThrow();
    const problems = stateDictProblems(sd, this.#slots, this.#groups.map((g) => g.names), this.#kind.entries, this.#kind.specs);
    if (problems.length) {
      throw new TorchError(`${this.#kind.name}.loadStateDict: the state dict does not fit this optimizer:\n  - ${problems.join('\n  - ')}`, {
        code: 'ERR_OPTIMIZER_STATE',
      });
    }
    for (const [name, slot] of this.#slots) native.setState(slot.group, slot.index, sd.state[name]);
    sd.paramGroups?.forEach((saved, i) => {
      const group = this.#groups[i] as Record<string, unknown>;
      // options go through the group's setters (checked, applied natively); initialLr is a plain field
      for (const [key, value] of Object.entries(saved)) if (key !== 'params') group[key] = value;
    });
  }

  /** Frees the optimizer's native state now; the optimizer is unusable afterwards. Idempotent. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }

  /** `using opt = new tg.optim.Adam(...)` disposes it at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  #nativeOrThrow(): NativeOptimizer {
    if (!this.#native) throw new TorchError(`${this.#kind.name}: used after dispose()`, { code: 'ERR_OPTIMIZER_DISPOSED' });
    return this.#native;
  }

  /** A group's options with defaults filled and checked, and its parameters named and unique. */
  #resolve(params: NamedParam[], options: Partial<O>, where: string): { params: (NamedParam & { name: string })[]; options: O } {
    const resolved = resolveOptions(this.#kind.specs, this.defaults, options, where);
    this.#kind.check?.(resolved, where);
    const seen = new Set<Tensor>();
    const names = new Set<string>();
    const named = params.map((p, i) => {
      // Unnamed tensors are named by their position among all parameters, as PyTorch's state_dict numbers them.
      const name = p.name ?? String(this.#count + i);
      const label = p.name !== undefined ? `parameter '${name}'` : `params[${i}]`;
      if (this.#tensors.has(p.tensor) || seen.has(p.tensor)) throw new TypeError(`${where}: ${label} appears in more than one parameter group`);
      if (this.#slots.has(name) || names.has(name)) {
        throw new TypeError(`${where}: two parameters are named '${name}'; pass explicit names ([name, tensor] pairs or { name: tensor })`);
      }
      seen.add(p.tensor);
      names.add(name);
      return { name, tensor: p.tensor };
    });
    return { params: named, options: resolved };
  }

  #register(params: (NamedParam & { name: string })[], options: O): void {
    const g = this.#groups.length;
    params.forEach((p, index) => {
      this.#slots.set(p.name, { group: g, index, tensor: p.tensor });
      this.#tensors.add(p.tensor);
    });
    this.#count += params.length;
    const where = `${this.#kind.name}: paramGroups[${g}]`;
    this.#groups.push(
      makeParamGroup(params.map((p) => p.tensor), params.map((p) => p.name), { ...options }, this.#kind.specs, where, (key, value) => {
        this.#nativeOrThrow().setGroupOptions(g, { [key]: value });
      }),
    );
  }
}
