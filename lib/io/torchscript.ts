/** TorchScript archives (`torch.jit.save`) as trainable torchgraft modules whose tensors are the archive's own. */
import { binding } from '../native';
import type { NativeScriptModule } from '../binding';
import { TorchError } from '../errors';
import { Tensor } from '../tensor';
import { keep } from '../memory';
import { isDType, isFloatingDType, DType } from '../dtype';
import { Module, ModuleTarget } from '../nn/module';
import { inspectTorchZip } from './zip-names';
import { torchScriptProblem } from './torchscript-check';
import { atomicWrite } from './atomic';
import { checkDevice } from '../device';
import { noteUncountedWrite } from '../uncounted-writes';

/** A method's signature, TorchScript source and graph, for inspection. */
export interface ScriptMethodInfo {
  /** `forward(__torch__.Net self, Tensor x) -> Tensor` */
  schema: string;
  /** The method's TorchScript source, as Python's `module.code` prints it. */
  code: string;
  /** The method's graph (TorchScript IR) as text. */
  graph: string;
}

/** Wraps a tensor map so that replacing an entry (a parameter reassigned, `to()` on a parent) also sets the native slot. */
function nativeSlots(from: Map<string, Tensor | null>, native: NativeScriptModule, kind: string): Map<string, Tensor | null> {
  const slots = new Map(from);
  const set = slots.set.bind(slots);
  slots.set = (name: string, t: Tensor | null) => {
    if (t === null) throw new TypeError(`ScriptModule: the ${kind} '${name}' of a TorchScript module cannot be removed`);
    native.setAttr(name, t);
    return set(name, t);
  };
  return slots;
}

/**
 * A TorchScript module loaded by `tg.io.loadTorchScript`: a real `tg.nn.Module` whose parameters, buffers and
 * submodules are the archive's own (the same tensors the scripted code reads), so freezing (`requiresGrad = false`),
 * `parameters(pattern)`, `stateDict`/`loadStateDict`, optimizers and `tg.fit` act on what `forward` runs.
 * Each submodule is a ScriptModule too, callable alone: reuse a backbone's lower layers under a new head.
 * Parameters and buffers cannot be added or removed (the scripted code fixes them); replacing one sets the slot.
 * Note that `forward` runs the archive's TorchScript code (in LibTorch's interpreter, not Python).
 * @example
 * const net = await tg.io.loadTorchScript('scripted.pt');
 * for (const p of net.parameters(/^features\./)) p.requiresGrad = false; // freeze the backbone
 * const feats = net.submodule('features').call(x);                     // its lower layers alone
 */
export class ScriptModule extends Module {
  readonly #native: NativeScriptModule;

  /** @internal Built by loadTorchScript from the native module; `seen` keeps shared tensors and modules one object. */
  constructor(native: NativeScriptModule, seen: Map<string, Tensor | ScriptModule> = new Map()) {
    super();
    this.#native = native;
    // The flag lives in the TorchScript module, where the scripted code (Dropout, BatchNorm) reads it.
    Object.defineProperty(this, 'training', {
      configurable: true,
      enumerable: true,
      get: () => native.training,
      set: (on: boolean) => native.setTraining(on),
    });
    for (const [name, fresh, key] of native.namedParameters()) {
      const t = this.#shared(seen, key, fresh);
      if (name in this || !isFloatingDType(t.dtype)) this._parameters.set(name, keep(t));
      else this.registerParameter(name, t, { requiresGrad: t.requiresGrad });
    }
    for (const [name, fresh, key] of native.namedBuffers()) {
      const t = this.#shared(seen, key, fresh);
      if (name in this) this._buffers.set(name, keep(t));
      else this.registerBuffer(name, t);
    }
    for (const [name, child, key] of native.namedChildren()) {
      let m = seen.get(key) as ScriptModule | undefined;
      if (!m) seen.set(key, (m = new ScriptModule(child, seen)));
      if (name in this) this._moduleMap.set(name, m);
      else this.registerModule(name, m);
    }
    const self = this as unknown as { _parameters: Map<string, Tensor | null>; _buffers: Map<string, Tensor | null> };
    self._parameters = nativeSlots(this._parameters, native, 'parameter');
    self._buffers = nativeSlots(this._buffers, native, 'buffer');
  }

  #shared(seen: Map<string, Tensor | ScriptModule>, key: string, fresh: Tensor): Tensor {
    const known = seen.get(key) as Tensor | undefined;
    if (!known) {
      seen.set(key, fresh);
      return fresh;
    }
    fresh.dispose(); // a second handle on a tied weight: one JS tensor per native tensor
    return known;
  }

  /** The TorchScript class, e.g. `__torch__.torch.nn.modules.linear.Linear`. */
  get typeName(): string {
    return this.#native.typeName;
  }

  /** Runs the module's scripted `forward` (under the current grad mode); arguments are converted by its signature. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as Module.forward: the scripted signature decides
  forward(...args: unknown[]): any {
    return this.#native.forward(...args);
  }

  /**
   * Runs `forward` on a worker thread without recording gradients, leaving the event loop free; resolves with its
   * output. Do not change the module's weights until it settles.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as forward
  forwardAsync(...args: unknown[]): Promise<any> {
    return this.#native.forwardAsync(...args);
  }

  /** Runs another scripted method by name (`module.runMethod('encode', x)`). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the scripted method's signature decides
  runMethod(name: string, ...args: unknown[]): any {
    return this.#native.runMethod(name, ...args);
  }

  /** The names of the module's scripted methods. */
  methodNames(): string[] {
    return this.#native.methodNames();
  }

  /** A method's signature, source and graph (`forward` by default). @throws TorchError ERR_TORCHSCRIPT_METHOD for an unknown method. */
  inspectMethod(name = 'forward'): ScriptMethodInfo {
    return { schema: this.#native.schema(name), code: this.#native.code(name), graph: this.#native.graph(name) };
  }

  /** The TorchScript source of `forward`, as Python's `module.code`. */
  get code(): string {
    return this.#native.code('forward');
  }

  /** The graph (TorchScript IR) of `forward`, as text. */
  get graph(): string {
    return this.#native.graph('forward');
  }

  /**
   * The TorchScript submodule at a dotted path (`'features'`, `'layer4.1'`): a ScriptModule sharing this one's
   * tensors, whose `forward` runs that submodule alone.
   * @throws TorchError `ERR_UNKNOWN_MODULE` naming the missing step and the children there are; TypeError when the path leads to a module that
   *   is not TorchScript (one added from TypeScript).
   */
  submodule(path: string): ScriptModule {
    const m = this.get(path);
    if (!(m instanceof ScriptModule)) throw new TypeError(`submodule('${path}'): '${path}' is a ${m.constructor.name}, not a TorchScript module`);
    return m;
  }

  /**
   * Moves and/or converts the module's tensors in place, as PyTorch does for a scripted module: each parameter keeps
   * its identity (optimizers made before stay valid), floating tensors take `dtype`, gradients move along.
   */
  to(target: ModuleTarget): this {
    let device: string | undefined;
    let dtype: DType | undefined;
    if (typeof target === 'string') {
      if (isDType(target)) dtype = target;
      else device = target;
    } else if (target !== null && typeof target === 'object') {
      ({ device, dtype } = target as { device?: string; dtype?: DType });
      if (dtype !== undefined && !isDType(dtype)) throw new TypeError(`to(): unknown dtype '${String(dtype)}'`);
    } else throw new TypeError(`to(): expected a device ('cuda'), a dtype ('float64') or { device, dtype }`);
    if (dtype !== undefined && !isFloatingDType(dtype)) throw new TypeError(`to(): a module converts to floating dtypes only, got '${dtype}'`);
    this.#native.to(device === undefined ? undefined : checkDevice(device, 'to()'), dtype);
    // LibTorch's set_data replaced storage and values under the same tensors without bumping their versions
    for (const t of [...this.parameters(), ...this.buffers()]) noteUncountedWrite(t);
    return this;
  }

  /** Buffers a state dict may lack without being reported missing (BatchNorm's `num_batches_tracked`). */
  optionalStateKeys(): string[] {
    return this._buffers.has('num_batches_tracked') ? ['num_batches_tracked'] : [];
  }

  /**
   * Writes this module (with its current weights) as a TorchScript archive that `torch.jit.load` reads, atomically:
   * a temporary file, fsync, rename. Await it before changing the weights again.
   * @throws TorchError ERR_TORCHSCRIPT_SAVE or ERR_IO naming the file; the previous file is left intact.
   */
  async save(file: string): Promise<void> {
    if (typeof file !== 'string' || file === '') throw new TypeError('ScriptModule.save(): path must be a non-empty string');
    await atomicWrite(file, (tmp) => this.#native.save(tmp));
  }

  /** The printed tree, with TorchScript class names (`Sequential(\n  (0): Linear()\n)`). */
  toString(): string {
    const name = this.typeName.split('.').pop() ?? 'ScriptModule';
    const kids = this.namedChildren();
    if (kids.length === 0) return `${name}()`;
    const lines = kids.map(([n, m]) => `(${n}): ${m.toString()}`);
    return `${name}(\n${lines.map((l) => '  ' + l.split('\n').join('\n  ')).join('\n')}\n)`;
  }
}

function fail(file: string, problem: string, code = 'ERR_TORCHSCRIPT'): TorchError {
  return Object.assign(new TorchError(`loadTorchScript: '${file}': ${problem}`, { code }), { path: file });
}

/**
 * Loads a TorchScript archive (`torch.jit.save`, from Python, TorchSharp or LibTorch) as a trainable module, with
 * every tensor on the CPU (move it with `to('cuda')`). Runs off the JavaScript thread.
 * A TorchScript archive is code: LibTorch compiles its TorchScript (never Python), runs a class's `__setstate__`
 * while loading where one is defined, and `forward` runs the rest. Load archives you would run.
 * @param file path to the archive.
 * @throws TorchError naming the file: `ERR_IO` when it cannot be read, `ERR_TORCHSCRIPT` when it is not a TorchScript
 *   archive (a torch.save file, another zip, not a zip) or LibTorch refuses it (truncated, corrupt).
 * @example const net = await tg.io.loadTorchScript('resnet18_scripted.pt'); net.eval(); const y = net.call(x);
 */
export async function loadTorchScript(file: string): Promise<ScriptModule> {
  if (typeof file !== 'string' || file === '') throw new TypeError('loadTorchScript(): path must be a non-empty string');
  let zip;
  try {
    zip = inspectTorchZip(file);
  } catch (e) {
    throw fail(file, `cannot read it: ${(e as Error).message}`, 'ERR_IO');
  }
  const { kind } = zip;
  if (kind === 'torch.save') throw fail(file, 'this is a torch.save file (a pickled object such as a state dict), not a TorchScript archive; read its tensors with tg.io.load()');
  if (kind === 'not-zip') throw fail(file, 'not a TorchScript archive (no zip central directory: not a zip file, or truncated)');
  if (kind === 'zip') throw fail(file, 'a zip archive without TorchScript entries (no code/ or constants.pkl)');
  // LibTorch trusts the sizes and pickles it reads; check them first so a damaged file cannot make it allocate gigabytes.
  const problem = await torchScriptProblem(file, zip.entries, zip.size).catch((e: Error) => {
    throw fail(file, `cannot read it: ${e.message}`, 'ERR_IO');
  });
  if (problem) throw fail(file, `damaged archive: ${problem}`);
  const native = await binding.scriptModuleLoad(file);
  try {
    return new ScriptModule(native);
  } catch (e) {
    // LibTorch loaded it, but a slot declared a parameter or buffer holds no tensor: the archive lies about its types.
    if (e instanceof TorchError && !e.code) throw fail(file, `damaged archive: ${e.message}`);
    throw e;
  }
}
