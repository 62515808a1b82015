/**
 * KerasGraph: a tg.nn Module that runs a Keras model's layer graph (Sequential or functional, shared layers
 * included). Each Keras layer is a child module under its Keras name. Internally 4-D tensors are NCHW (PyTorch's
 * convolutions); Flatten/Reshape/Dense/Concatenate follow Keras' channels-last meaning (keras-layers.ts).
 */
import type { Tensor } from '../../tensor';
import { isTensor } from '../../tensor';
import { cat } from '../../creation';
import { Module } from '../../nn/module';
import { TorchError } from '../../errors';
import type { BuiltLayer } from './keras-layers';
import { runLayer } from './keras-layers';
import { isIdentityActivation } from './keras-activations';

/** Where 4-D image tensors put their channels at the module's boundary. */
export type InputLayout = 'NHWC' | 'NCHW';

/** One call of a layer: its output is `${layer}@${index}`; inputs name other calls' outputs. */
export interface GraphNode {
  id: string;
  layer: string;
  inputs: string[];
}

/** The graph's wiring, in an order where every node comes after its inputs. */
export interface GraphPlan {
  /** Ids of the graph inputs (InputLayer calls), in the order forward takes them. */
  inputs: string[];
  nodes: GraphNode[];
  /** Ids of the outputs, in Keras' order. */
  outputs: string[];
}

/**
 * A Keras model as a trainable module. `forward(...inputs)` takes the model's inputs in Keras' order and returns its
 * output (an array for several outputs). With `inputLayout: 'NCHW'` (default, PyTorch's convention) 4-D inputs and
 * outputs are (N, C, H, W); with `'NHWC'` they are Keras' (N, H, W, C) and the module permutes at its boundary.
 * Tensors of other ranks are as in Keras either way.
 */
export class KerasGraph extends Module {
  readonly inputLayout: InputLayout;
  readonly #plan: GraphPlan;
  readonly #built: Map<string, BuiltLayer>;

  /** @internal built by loadKerasModel / loadTfjsModel: the layers are registered here under their Keras names. */
  constructor(plan: GraphPlan, built: Map<string, BuiltLayer>, inputLayout: InputLayout) {
    super();
    this.inputLayout = inputLayout;
    this.#plan = plan;
    this.#built = built;
    for (const [name, b] of built) this.registerModule(name, b.module);
  }

  /** The Keras layer names in execution order (InputLayers included). */
  get layerNames(): string[] {
    return [...new Set(this.#plan.nodes.map((n) => n.layer))];
  }

  /**
   * How layer `name` runs now: as built from the file, or, once `replace` put another module there (a new head), that
   * module alone on its inputs (no fused activation or layout handling of the layer it replaced).
   */
  #layer(name: string): BuiltLayer {
    const built = this.#built.get(name) as BuiltLayer;
    const current = this._modules.get(name);
    if (!current || current === built.module) return built;
    return { module: current, merge: built.merge, concatAxis: built.concatAxis };
  }

  /**
   * The layers as a chain, for feature caches and chain surgery: only for a graph that is one: one input, each layer
   * fed by the one before, each run as its module alone (no fused activation or layout wrapping), NCHW at the
   * boundary. Any other graph throws ERR_CACHE_CUT saying why, rather than passing its children off as a chain (a
   * residual Add, say, would be skipped).
   */
  chainLayers(): [string, Module][] {
    const plan = this.#plan;
    const why = (reason: string): never => {
      throw new TorchError(`KerasGraph: this model is not a chain of layers (${reason}), so it cannot be cut into a cached part and a head; run its frozen part yourself and train a head on the outputs`, { code: 'ERR_CACHE_CUT' });
    };
    if (plan.inputs.length !== 1 || plan.outputs.length !== 1) why(`${plan.inputs.length} inputs, ${plan.outputs.length} outputs`);
    if (this.inputLayout !== 'NCHW') why("inputLayout 'NHWC' permutes at its boundary");
    const chain: [string, Module][] = [];
    let last = plan.inputs[0];
    for (const node of plan.nodes) {
      if (node.id === plan.inputs[0]) continue;
      if (node.inputs.length !== 1 || node.inputs[0] !== last) why(`layer '${node.layer}' takes ${node.inputs.join(' + ') || 'no input'}, not the layer before it`);
      const b = this.#layer(node.layer);
      // Dense (lastAxis) runs as its module alone on the 2-D input a Flatten, a global pooling or a Dense gives it.
      const flatBefore = chain.length > 0 && /Flatten|Global|Linear/.test(chain[chain.length - 1][1].constructor.name);
      if (b.merge || !isIdentityActivation(b.activation) || (b.lastAxis && !flatBefore) || b.channelsSecond)
        why(`layer '${node.layer}' runs more than its module`);
      if (chain.some(([n]) => n === node.layer)) why(`layer '${node.layer}' is used twice`);
      chain.push([node.layer, b.module]);
      last = node.id;
    }
    if (last !== plan.outputs[0]) why('the output is not the last layer');
    return chain;
  }

  /** Runs the graph. */
  forward(...inputs: Tensor[]): Tensor | Tensor[] {
    const plan = this.#plan;
    if (inputs.length !== plan.inputs.length) throw new TypeError(`KerasGraph: expected ${plan.inputs.length} input tensor(s), got ${inputs.length}`);
    inputs.forEach((t, i) => {
      if (!isTensor(t)) throw new TypeError(`KerasGraph: input ${i} is not a Tensor`);
    });
    const values = new Map<string, Tensor>();
    const owned = new Set<Tensor>();
    const uses = new Map<string, number>();
    for (const n of plan.nodes) for (const i of n.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
    for (const o of plan.outputs) uses.set(o, (uses.get(o) ?? 0) + 1);
    plan.inputs.forEach((id, i) => {
      const t = inputs[i];
      if (this.inputLayout === 'NHWC' && t.ndim === 4) {
        const p = t.permute([0, 3, 1, 2]);
        owned.add(p);
        values.set(id, p);
      } else values.set(id, t);
    });
    const release = (id: string): void => {
      const left = (uses.get(id) ?? 0) - 1;
      uses.set(id, left);
      const t = values.get(id);
      if (left > 0 || !t || !owned.has(t)) return;
      values.delete(id);
      for (const v of values.values()) if (v === t) return;
      owned.delete(t);
      t.dispose();
    };
    try {
      for (const node of plan.nodes) {
        if (values.has(node.id)) continue; // a graph input
        const args = node.inputs.map((i) => values.get(i) as Tensor);
        const built = this.#layer(node.layer);
        const y = runLayer(built, args, cat);
        if (!args.includes(y)) owned.add(y);
        values.set(node.id, y);
        for (const i of node.inputs) release(i);
      }
      const outs = plan.outputs.map((id) => {
        const t = values.get(id) as Tensor;
        if (this.inputLayout === 'NHWC' && t.ndim === 4) return t.permute([0, 2, 3, 1]);
        return owned.has(t) ? t : t.clone();
      });
      for (const t of owned) if (!outs.includes(t)) t.dispose();
      owned.clear();
      return outs.length === 1 ? outs[0] : outs;
    } finally {
      for (const t of owned) t.dispose();
    }
  }

  extraRepr(): string {
    return `inputLayout='${this.inputLayout}'`;
  }
}
