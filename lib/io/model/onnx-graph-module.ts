/**
 * The module `loadOnnxModel` returns: the graph's initializers as its parameters and buffers (under their file
 * names, split at dots into child modules as PyTorch's state dicts are), and a forward that runs the nodes in
 * topological order with torchgraft ops, so it trains like any other module.
 */
import { TorchError } from '../../errors';
import { Module } from '../../nn/module';
import type { Tensor } from '../../tensor';
import { binding } from '../../native';
import type { GraphPlan, PlannedNode } from './onnx-graph-plan';
import { ONNX_OPS, BUILDER_OPS } from './onnx-ops';

/** A plain container for the parameters under a dotted prefix (`conv1` in `conv1.weight`). */
export class OnnxParameters extends Module {}

/** Where a stored value lives: the module that owns it and its key there. */
interface Slot {
  owner: Module;
  key: string;
  kind: 'parameter' | 'buffer';
}

// A segment of a module path: letters, digits and underscores.
function sanitize(segment: string): string {
  const s = segment.replace(/[^A-Za-z0-9_]/g, '_');
  return s === '' ? '_' : s;
}

const MAX_RENAMES = 64;
// Errors about the process, not the node: kept as they are.
const PASS_THROUGH = new Set(['ERR_OUT_OF_MEMORY', 'ERR_TENSOR_DISPOSED']);

/** Registers `fn(name)` under the first free variant of `name` (appending `_`): names may clash with Module's own members. */
function firstFree(m: Module, name: string, taken: (n: string) => boolean, fn: (n: string) => void): string {
  let n = name;
  for (let k = 0; k < MAX_RENAMES; k++, n += '_') {
    if (taken(n)) continue;
    try {
      fn(n);
      return n;
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
    }
  }
  throw new TorchError(`onnx: cannot find a module name for '${name}'`, { code: 'ERR_ONNX_GRAPH' });
}

/** An ONNX graph as a trainable module. Build it with `tg.io.loadOnnxModel`. */
export class OnnxGraphModule extends Module {
  /** ONNX value name -> where its tensor is registered. */
  private readonly slots = new Map<string, Slot>();
  /** ONNX value name -> its dotted name in `namedParameters()` / `stateDict()`. */
  readonly valuePaths = new Map<string, string>();

  /** @internal Use `loadOnnxModel`. */
  constructor(private readonly plan: GraphPlan) {
    super();
  }

  /** The names forward takes its arguments for, in order (graph inputs that are not initializers). */
  get inputNames(): string[] {
    return [...this.plan.inputs];
  }

  /** The graph's output names, in the order forward returns them. */
  get outputNames(): string[] {
    return [...this.plan.outputs];
  }

  /** The op types of the nodes in execution order. */
  get opTypes(): string[] {
    return this.plan.order.map((p) => p.node.opType);
  }

  /**
   * @internal Registers a value's tensor at a module path made from its ONNX name (split at dots, each segment
   * sanitized; a clash gets `_` appended). Returns the dotted path.
   */
  place(onnxName: string, t: Tensor, kind: 'parameter' | 'buffer', persistent = true): string {
    const segs = onnxName.split('.').map(sanitize);
    let m = this as Module;
    const path: string[] = [];
    for (const seg of segs.slice(0, -1)) {
      const existing = m._modules.get(seg);
      if (existing) {
        m = existing;
        path.push(seg);
        continue;
      }
      const child = new OnnxParameters();
      const parent = m;
      path.push(firstFree(parent, seg, (n) => parent._parameters.has(n) || parent._buffers.has(n) || parent._modules.has(n), (n) => parent.registerModule(n, child)));
      m = child;
    }
    const owner = m;
    const taken = (n: string) => owner._parameters.has(n) || owner._buffers.has(n) || owner._modules.has(n);
    const key = firstFree(owner, segs[segs.length - 1], taken, (n) => (kind === 'parameter' ? owner.registerParameter(n, t) : owner.registerBuffer(n, t, { persistent })));
    path.push(key);
    this.slots.set(onnxName, { owner, key, kind });
    this.valuePaths.set(onnxName, path.join('.'));
    return path.join('.');
  }

  private stored(name: string): Tensor | undefined {
    const s = this.slots.get(name);
    if (!s) return undefined;
    return (s.kind === 'parameter' ? s.owner._parameters.get(s.key) : s.owner._buffers.get(s.key)) ?? undefined;
  }

  /**
   * Runs the graph. Takes one tensor per graph input (`inputNames`), returns the output tensor, or an array when
   * the graph has several outputs.
   * @throws TorchError `ERR_ONNX_NODE` naming the node whose inputs do not fit it (shapes, ranks, values).
   */

  /**
   * An ONNX graph runs ops, not child layers, so it is no chain: a feature cache cannot cut it (ERR_CACHE_CUT), where
   * passing its children off as a chain would compute something else.
   */
  chainLayers(): [string, Module][] {
    throw new TorchError('OnnxGraphModule: an ONNX graph runs ops, not a chain of layers, so it cannot be cut into a cached part and a head; run it frozen yourself and train a head on its outputs', { code: 'ERR_CACHE_CUT' });
  }

  forward(...args: Tensor[]): Tensor | Tensor[] {
    const { inputs, outputs, order, opset } = this.plan;
    if (args.length !== inputs.length)
      throw new TypeError(`OnnxGraphModule.forward(): expected ${inputs.length} input tensor(s) (${inputs.join(', ')}), got ${args.length}`);
    const env = new Map<string, Tensor>();
    inputs.forEach((name, i) => {
      if (!binding.isTensor(args[i])) throw new TypeError(`OnnxGraphModule.forward(): input ${i} ('${name}') is not a Tensor`);
      env.set(name, args[i]);
    });
    const read = (name: string, who: string): Tensor => {
      const t = env.get(name) ?? this.stored(name);
      if (!t) throw new TorchError(`onnx: ${who}: its input '${name}' was not produced (an optional output its producer does not compute?)`, { code: 'ERR_ONNX_NODE' });
      return t;
    };
    for (const p of order) this.runNode(p, opset, env, read);
    const result = outputs.map((o) => read(o, `graph output '${o}'`));
    return result.length === 1 ? result[0] : result;
  }

  private runNode(p: PlannedNode, opset: number, env: Map<string, Tensor>, read: (name: string, who: string) => Tensor): void {
    if (BUILDER_OPS.has(p.node.opType)) return; // Constant: its value is a buffer
    const ins = p.node.inputs.map((n) => (n === '' ? undefined : read(n, p.where)));
    let out: Tensor | (Tensor | undefined)[];
    try {
      out = ONNX_OPS[p.node.opType]({ attrs: p.attrs, opset, training: this.training, where: p.where }, ins);
    } catch (e) {
      if (e instanceof TorchError && (/^ERR_ONNX_/.test(e.code ?? '') || PASS_THROUGH.has(e.code ?? ''))) throw e;
      throw new TorchError(`onnx: ${p.where}: ${(e as Error).message}`, { code: 'ERR_ONNX_NODE', cause: e });
    }
    const outs = Array.isArray(out) ? out : [out];
    p.node.outputs.forEach((o, i) => {
      if (o !== '' && outs[i]) env.set(o, outs[i]!);
    });
  }
}
