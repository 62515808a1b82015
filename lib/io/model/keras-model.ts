/**
 * Foreign files become models: a Keras HDF5 full model (`model.save('x.h5')`) or a TF.js layers model
 * (`model.json`) built as a trainable tg.nn module from its layer config, with the file's weights loaded.
 */
import * as fs from 'node:fs';
import { TorchError } from '../../errors';
import type { Tensor } from '../../tensor';
import { loadKerasWithConfig } from '../keras';
import { loadTfjs } from '../tfjs';
import type { LoadedWeights } from '../registry';
import { BuiltLayer, KerasLayerConfig, buildLayer, outputRank } from './keras-layers';
import { GraphNode, GraphPlan, InputLayout, KerasGraph } from './keras-graph';

export { KerasGraph } from './keras-graph';
export type { InputLayout } from './keras-graph';

/** Options of loadKerasModel / loadTfjsModel. */
export interface KerasModelOptions {
  /**
   * Layout of 4-D (image) inputs and outputs: `'NCHW'` (default, PyTorch's convention: pass (N, C, H, W)) or
   * `'NHWC'` (Keras' own: pass (N, H, W, C); the module permutes at its boundary).
   */
  inputLayout?: InputLayout;
}

interface ParsedModel {
  layers: Map<string, KerasLayerConfig>;
  plan: GraphPlan;
}

const MODEL_CLASSES = new Set(['Sequential', 'Functional', 'Model']);

function fail(file: string, problem: string, code = 'ERR_KERAS_MODEL'): never {
  throw new TorchError(`keras model: '${file}': ${problem}`, { code });
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function layerList(file: string, config: unknown): { className: string; config: Record<string, unknown>; inbound: unknown }[] {
  const list = Array.isArray(config) ? config : isObject(config) ? config.layers : undefined;
  if (!Array.isArray(list)) fail(file, 'the model config has no layer list');
  return list.map((l, i) => {
    if (!isObject(l) || typeof l.class_name !== 'string' || !isObject(l.config)) fail(file, `layer ${i} of the model config is not { class_name, config }`);
    const c = l.config;
    const name = typeof c.name === 'string' ? c.name : typeof l.name === 'string' ? l.name : undefined;
    if (name === undefined || name === '' || name.includes('.')) fail(file, `layer ${i} has no usable name (${JSON.stringify(name)})`);
    return { className: l.class_name, config: { ...c, name }, inbound: l.inbound_nodes };
  });
}

function sequentialPlan(file: string, list: ReturnType<typeof layerList>): GraphPlan {
  if (list.length === 0) fail(file, 'the Sequential model has no layers');
  const nodes: GraphNode[] = [];
  let prev: string;
  let start = 0;
  if (list[0].className === 'InputLayer') {
    prev = `${list[0].config.name as string}@0`;
    nodes.push({ id: prev, layer: list[0].config.name as string, inputs: [] });
    start = 1;
  } else prev = `${list[0].config.name as string}:input`;
  const inputs = [prev];
  for (const l of list.slice(start)) {
    const id = `${l.config.name as string}@0`;
    nodes.push({ id, layer: l.config.name as string, inputs: [prev] });
    prev = id;
  }
  return { inputs, nodes, outputs: [prev] };
}

function refOf(file: string, r: unknown, where: string): string {
  if (!Array.isArray(r) || typeof r[0] !== 'string' || !Number.isInteger(r[1])) fail(file, `${where}: ${JSON.stringify(r)} is not [layer, node, tensor]`);
  if ((r[2] ?? 0) !== 0) fail(file, `${where}: tensor ${String(r[2])} of '${r[0]}' (layers with several outputs are not supported)`);
  return `${r[0]}@${r[1] as number}`;
}

function functionalPlan(file: string, config: Record<string, unknown>, list: ReturnType<typeof layerList>): GraphPlan {
  const pending: GraphNode[] = [];
  for (const l of list) {
    const name = l.config.name as string;
    const calls = Array.isArray(l.inbound) ? l.inbound : [];
    // an InputLayer is a graph input; another layer without calls is not part of the graph
    if (l.className === 'InputLayer') {
      pending.push({ id: `${name}@0`, layer: name, inputs: [] });
      continue;
    }
    calls.forEach((call, k) => {
      if (!Array.isArray(call)) fail(file, `layer '${name}': inbound node ${k} is not a list (Keras 3 configs are not supported)`);
      pending.push({ id: `${name}@${k}`, layer: name, inputs: call.map((r) => refOf(file, r, `layer '${name}'`)) });
    });
  }
  const refs = (key: string): string[] => {
    const v = config[key];
    if (!Array.isArray(v)) fail(file, `the model config has no ${key}`);
    const list = v.length > 0 && typeof v[0] === 'string' ? [v] : v; // a single [name, 0, 0]
    return list.map((r) => refOf(file, r, key));
  };
  const inputs = refs('input_layers');
  const outputs = refs('output_layers');
  // Kahn's order over the calls, keeping the config's order among ready ones
  const ids = new Set(pending.map((n) => n.id));
  for (const n of pending) for (const i of n.inputs) if (!ids.has(i)) fail(file, `layer '${n.layer}' takes '${i}', which no layer makes`);
  for (const o of [...inputs, ...outputs]) if (!ids.has(o)) fail(file, `the model's input or output '${o}' is no layer call`);
  for (const i of inputs) if ((pending.find((n) => n.id === i) as GraphNode).inputs.length) fail(file, `the model's input '${i}' is not an InputLayer`);
  const done = new Set<string>();
  const nodes: GraphNode[] = [];
  for (const n of pending)
    if (n.inputs.length === 0 && !inputs.includes(n.id)) fail(file, `the InputLayer '${n.layer}' is not among the model's input_layers`);
  let left = pending.filter((n) => !inputs.includes(n.id));
  for (const i of inputs) {
    done.add(i);
    const n = pending.find((p) => p.id === i) as GraphNode;
    nodes.push(n);
  }
  while (left.length) {
    const ready = left.filter((n) => n.inputs.every((i) => done.has(i)));
    if (!ready.length) fail(file, `the layer graph has a cycle or a call without inputs (${left.map((n) => n.layer).join(', ')})`);
    for (const n of ready) {
      done.add(n.id);
      nodes.push(n);
    }
    left = left.filter((n) => !done.has(n.id));
  }
  return { inputs, nodes, outputs };
}

/** Parses a Keras `model_config` / TF.js `modelTopology` into layer configs and a graph plan. */
function parseModel(file: string, topology: unknown): ParsedModel {
  let top = topology;
  if (isObject(top) && isObject(top.model_config)) top = top.model_config;
  if (!isObject(top) || typeof top.class_name !== 'string') fail(file, 'the model config is not { class_name, config }');
  if (!MODEL_CLASSES.has(top.class_name)) fail(file, `the model class '${top.class_name}' is not Sequential or a functional Model`);
  const list = layerList(file, top.config);
  const layers = new Map<string, KerasLayerConfig>();
  for (const l of list) {
    if (layers.has(l.config.name as string)) fail(file, `two layers are named '${l.config.name as string}'`);
    layers.set(l.config.name as string, { className: l.className, config: l.config });
  }
  const plan = top.class_name === 'Sequential' ? sequentialPlan(file, list) : functionalPlan(file, top.config as Record<string, unknown>, list);
  return { layers, plan };
}

/** Builds every layer; throws ERR_UNSUPPORTED_LAYERS listing all that cannot be built. */
function buildAll(file: string, parsed: ParsedModel, tensors: Record<string, Tensor>): Map<string, BuiltLayer> {
  const ranks = new Map<string, number | undefined>();
  const built = new Map<string, BuiltLayer>();
  const problems: string[] = [];
  const { plan, layers } = parsed;
  for (const id of plan.inputs) if (!plan.nodes.some((n) => n.id === id)) {
    // Sequential without an InputLayer: the first layer's batch_input_shape gives the rank
    const first = layers.get(id.slice(0, id.lastIndexOf(':'))) as KerasLayerConfig;
    const shape = first.config.batch_input_shape ?? first.config.batch_shape;
    ranks.set(id, Array.isArray(shape) ? shape.length : undefined);
  }
  for (const node of plan.nodes) {
    const layer = layers.get(node.layer) as KerasLayerConfig;
    const inRanks = node.inputs.map((i) => ranks.get(i));
    ranks.set(node.id, outputRank(layer, inRanks));
    if (built.has(node.layer) || problems.some((p) => p.startsWith(`${node.layer} (`))) continue;
    if (MODEL_CLASSES.has(layer.className)) {
      problems.push(`${node.layer} (${layer.className}): nested models are not supported`);
      continue;
    }
    const prefix = `${node.layer}.`;
    const suffixes = Object.keys(tensors).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    const b = buildLayer(layer, { name: node.layer, inRank: inRanks[0], suffixes, shape: (suffix) => tensors[`${prefix}${suffix}`]?.shape });
    if (typeof b === 'string') problems.push(`${node.layer} (${layer.className})${b === 'no builder for this class' ? '' : `: ${b}`}`);
    else built.set(node.layer, b);
  }
  if (problems.length) {
    for (const b of built.values()) b.module.dispose();
    throw new TorchError(`keras model: '${file}': ${problems.length} unsupported layer(s): ${problems.join('; ')}`, { code: 'ERR_UNSUPPORTED_LAYERS' });
  }
  return built;
}

function checkOptions(options: KerasModelOptions): InputLayout {
  if (!isObject(options)) throw new TypeError('loadKerasModel: options must be an object');
  const layout = options.inputLayout ?? 'NCHW';
  if (layout !== 'NCHW' && layout !== 'NHWC') throw new TypeError(`loadKerasModel: inputLayout must be 'NCHW' or 'NHWC', got ${JSON.stringify(layout)}`);
  return layout;
}

/** Builds the module and loads the weights (strictly); the loaded tensors are disposed either way. */
function assemble(file: string, topology: unknown, loaded: LoadedWeights, layout: InputLayout): KerasGraph {
  try {
    const parsed = parseModel(file, topology);
    const built = buildAll(file, parsed, loaded.tensors);
    const model = new KerasGraph(parsed.plan, built, layout);
    const fixed = [...built].flatMap(([name, b]) => (b.fixed ?? []).map((k) => `${name}.${k}`));
    try {
      model.loadStateDict(loaded.tensors, fixed.length ? { exclude: fixed } : {});
    } catch (e) {
      model.dispose();
      throw e;
    }
    model.eval();
    return model;
  } finally {
    for (const t of Object.values(loaded.tensors)) t.dispose();
  }
}

/**
 * Builds a Keras HDF5 full model (`model.save('x.h5')`, Keras 2 / tf.keras) as a trainable tg.nn module whose
 * children carry the Keras layer names, with the file's weights loaded (in PyTorch layouts, see `loadKeras`) and in
 * eval mode. Supported layers: InputLayer, Dense, Conv1D and Conv2D (grouped too), DepthwiseConv2D, SeparableConv2D,
 * BatchNormalization (its epsilon; Keras momentum m becomes PyTorch's 1 - m), ReLU, Activation and `activation=` (relu, relu6, sigmoid, tanh,
 * softmax, linear, elu, selu, softplus, softsign, swish/silu, gelu, hard_sigmoid, exponential), ZeroPadding2D,
 * MaxPooling2D, AveragePooling2D (also padding 'same', as TensorFlow pads), GlobalAverage/MaxPooling1D/2D, Add,
 * Multiply, Concatenate, Dropout, Flatten and Reshape (in Keras' channels-last order), Rescaling, Embedding, GRU
 * (reset_after false or true) and LSTM (Keras' weights and gate order kept: KerasGRU / KerasLSTM).
 * 4-D inputs are (N, C, H, W) unless `inputLayout: 'NHWC'`.
 * @throws TorchError `ERR_UNSUPPORTED_LAYERS` listing every layer it cannot build (e.g. Lambda, SimpleRNN, a custom class) with its class,
 *   `ERR_KERAS_MODEL` (no model_config, a graph it cannot follow), `ERR_STATE_DICT` (weights that do not fit), and
 *   loadKeras' errors.
 */
export async function loadKerasModel(file: string, options: KerasModelOptions = {}): Promise<KerasGraph> {
  const layout = checkOptions(options);
  const { loaded, modelConfig } = await loadKerasWithConfig(file);
  let topology: unknown;
  try {
    if (modelConfig === undefined) fail(file, 'the file has no model_config (a weights-only file: build the model and use loadStateDict)');
    topology = JSON.parse(modelConfig);
  } catch (e) {
    for (const t of Object.values(loaded.tensors)) t.dispose();
    if (e instanceof TorchError) throw e;
    fail(file, `model_config is not valid JSON (${(e as Error).message})`);
  }
  return assemble(file, topology, loaded, layout);
}

/**
 * Builds a TF.js layers model (`model.json` and its weight shards) as a trainable tg.nn module, as loadKerasModel
 * does for Keras HDF5 files (same layers, options and errors); graph models are ERR_KERAS_MODEL.
 */
export async function loadTfjsModel(file: string, options: KerasModelOptions = {}): Promise<KerasGraph> {
  const layout = checkOptions(options);
  const loaded = await loadTfjs(file);
  let topology: unknown;
  try {
    const doc = JSON.parse(await fs.promises.readFile(file, 'utf8')) as Record<string, unknown>;
    if (doc.format === 'graph-model') fail(file, 'a TF.js graph model has no Keras layers to build');
    topology = doc.modelTopology;
  } catch (e) {
    for (const t of Object.values(loaded.tensors)) t.dispose();
    if (e instanceof TorchError) throw e;
    fail(file, `cannot read the model topology (${(e as Error).message})`);
  }
  return assemble(file, topology, loaded, layout);
}
