/**
 * `loadOnnxModel`: an ONNX file as a trainable torchgraft module. The graph is checked and ordered before any
 * tensor is made; then the initializers and Constant values are decoded in one batch and registered.
 */
import { TorchError } from '../../errors';
import { tensor } from '../../creation';
import type { Tensor } from '../../tensor';
import { ParsedModel, parseTensor, readModel, tensorBytes } from '../onnx';
import { ProtoError } from '../protobuf';
import { tensorsFromJobs } from '../decode';
import type { DecodeJob } from '../decode-bytes';
import type { RawDType } from '../decode-bytes';
import { Attributes } from './onnx-attributes';
import { GraphPlan, planGraph } from './onnx-graph-plan';
import { OnnxGraphModule } from './onnx-graph-module';

/** Options of `loadOnnxModel`. */
export interface LoadOnnxModelOptions {
  /** Whether the floating-point initializers train (requiresGrad); default true. */
  requiresGrad?: boolean;
}

// Inputs that are read as values (shapes, axes, bounds, indices, running statistics), never trained: buffers.
const VALUE_INPUTS: Record<string, number[]> = {
  Reshape: [1],
  Unsqueeze: [1],
  Squeeze: [1],
  Clip: [1, 2],
  Dropout: [1, 2],
  Gather: [1],
  BatchNormalization: [3, 4],
};

// Ranks the weights of the layer ops must have, checked at load when the weight is an initializer.
const WEIGHT_RANKS: Record<string, [number, number[], string][]> = {
  Conv: [[1, [3, 4], 'weight W'], [2, [1], 'bias B']],
  Gemm: [[1, [2], 'B']],
  BatchNormalization: [[1, [1], 'scale'], [2, [1], 'B'], [3, [1], 'input_mean'], [4, [1], 'input_var']],
};

const FLOATS: RawDType[] = ['float32', 'float64', 'float16', 'bfloat16'];

function fail(file: string, problem: string, code: string): never {
  throw new TorchError(`onnx: '${file}': ${problem}`, { code });
}

interface Decodable {
  name: string;
  dtype: RawDType;
  shape: number[];
  bytes: Uint8Array;
}

/** A Constant node's value: its `value` tensor, or one of the value_float(s) / value_int(s) forms. */
function constantValue(file: string, attrs: Attributes, output: string): Decodable | { name: string; make: () => Tensor } {
  const kinds = attrs.names();
  if (kinds.length !== 1) attrs.fail(`a Constant needs exactly one value attribute, got ${kinds.length ? kinds.join(', ') : 'none'}`);
  const kind = kinds[0];
  if (kind === 'value') {
    const raw = attrs.tensor('value') ?? attrs.fail("attribute 'value' is empty");
    let t;
    try {
      t = parseTensor(raw, `Constant '${output}'.value`);
    } catch (e) {
      if (e instanceof ProtoError) fail(file, `not a well-formed ONNX model: ${e.message}`, 'ERR_ONNX_FORMAT');
      throw e;
    }
    t.name = output;
    return { name: output, ...tensorBytes(file, t) };
  }
  if (kind === 'value_float') return { name: output, make: () => tensor(new Float32Array([attrs.float(kind)]), { dtype: 'float32' }).reshape([]) };
  if (kind === 'value_floats') return { name: output, make: () => tensor(new Float32Array(attrs.floats(kind) ?? []), { dtype: 'float32' }) };
  if (kind === 'value_int') return { name: output, make: () => tensor(new BigInt64Array([BigInt(attrs.int(kind))]), { dtype: 'int64' }).reshape([]) };
  if (kind === 'value_ints') return { name: output, make: () => tensor(new BigInt64Array((attrs.ints(kind) ?? []).map(BigInt)), { dtype: 'int64' }) };
  return attrs.fail(`Constant attribute '${kind}' is not supported (value, value_float(s), value_int(s) are)`);
}

/** Refuses initializer weights of the wrong rank before the first forward. */
function checkWeightRanks(file: string, plan: GraphPlan, shapes: Map<string, number[]>): void {
  for (const p of plan.order) {
    for (const [i, ranks, what] of WEIGHT_RANKS[p.node.opType] ?? []) {
      const shape = shapes.get(p.node.inputs[i] ?? '');
      if (shape && !ranks.includes(shape.length))
        fail(file, `${p.where}: ${what} '${p.node.inputs[i]}' has shape [${shape.join(', ')}], expected rank ${ranks.join(' or ')}`, 'ERR_ONNX_NODE');
    }
  }
}

async function decodeAll(buf: Buffer, items: Decodable[]): Promise<Tensor[]> {
  const buffers: Uint8Array[] = [buf];
  const jobs: DecodeJob[] = items.map((c) => {
    if (c.bytes.buffer === buf.buffer) return { op: 'le', dtype: c.dtype, buffer: 0, offset: c.bytes.byteOffset - buf.byteOffset, length: c.bytes.length };
    buffers.push(c.bytes);
    return { op: 'le', dtype: c.dtype, buffer: buffers.length - 1, offset: 0, length: c.bytes.length };
  });
  return tensorsFromJobs(buffers, jobs, items.map((c) => c.shape));
}

/** Which initializers train: floating point and not read as values (shapes, bounds, running statistics). */
function valueInputs(plan: GraphPlan): Set<string> {
  const out = new Set<string>();
  for (const p of plan.order) for (const i of VALUE_INPUTS[p.node.opType] ?? []) if (p.node.inputs[i]) out.add(p.node.inputs[i]);
  return out;
}

function build(file: string, parsed: ParsedModel): { plan: GraphPlan; weights: Decodable[]; constants: (Decodable | { name: string; make: () => Tensor })[] } {
  const { info, tensors, attributes } = parsed;
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '') fail(file, 'an initializer has no name', 'ERR_ONNX_FORMAT');
    if (seen.has(t.name)) fail(file, `initializer '${t.name}' appears twice`, 'ERR_ONNX_FORMAT');
    seen.add(t.name);
  }
  if (info.sparseInitializers) fail(file, `the graph has ${info.sparseInitializers} sparse initializer(s), which are not supported`, 'ERR_ONNX_UNSUPPORTED');
  const plan = planGraph(file, { ...info, attributes, initializerNames: tensors.map((t) => t.name) });
  const weights = tensors.map((t) => ({ name: t.name, ...tensorBytes(file, t) }));
  checkWeightRanks(file, plan, new Map(weights.map((w) => [w.name, w.shape])));
  const constants = plan.order.filter((p) => p.node.opType === 'Constant').map((p) => {
    if (p.node.outputs.length !== 1 || !p.node.outputs[0]) p.attrs.fail('a Constant must have one named output');
    return constantValue(file, p.attrs, p.node.outputs[0]);
  });
  return { plan, weights, constants };
}

/**
 * Loads an ONNX model as a trainable module: the initializers become its parameters (floating point; names from
 * the file, split at dots into child modules and sanitized to letters, digits and `_`) or buffers (integer
 * tensors, BatchNormalization running statistics, shapes), and `forward(...inputs)` runs the graph's nodes in
 * topological order with torchgraft ops. Inputs are the graph inputs that are not initializers, in file order;
 * several outputs come back as an array. In training mode BatchNormalization uses batch statistics and updates
 * its running statistics (ONNX momentum m is PyTorch momentum 1 - m), and Dropout drops.
 *
 * Supported ops (default domain): Conv (1-D and 2-D), Gemm, MatMul, Add, Sub, Mul, Div, Relu, Clip, Sigmoid,
 * Tanh, Softmax, LogSoftmax, BatchNormalization, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape,
 * Concat, Gather, Constant, Identity, Dropout, Transpose, Unsqueeze, Squeeze.
 * @param file path to the `.onnx` file (weights inside it; external data is refused).
 * @param options `requiresGrad` (default true) for the floating-point initializers.
 * @throws TorchError `ERR_UNSUPPORTED_OPS` listing every op type it cannot run; `ERR_ONNX_GRAPH` for a cycle, an
 *   input nothing produces or a value produced twice; `ERR_ONNX_ATTRIBUTE`; `ERR_ONNX_NODE` for weights of the
 *   wrong rank (at load) or inputs a node cannot take (at forward); the `ERR_ONNX_*` file errors of `tg.io.load`.
 * @example const net = await tg.io.loadOnnxModel('mnist.onnx'); net.eval(); const y = net.call(x);
 */
export async function loadOnnxModel(file: string, options: LoadOnnxModelOptions = {}): Promise<OnnxGraphModule> {
  const parsed = await readModel(file);
  const { plan, weights, constants } = build(file, parsed);
  const decodable = [...weights, ...constants.filter((c): c is Decodable => 'bytes' in c)];
  let made: Tensor[];
  try {
    made = await decodeAll(parsed.buf, decodable);
  } catch (e) {
    throw e instanceof TorchError ? e : new TorchError(`onnx: '${file}': ${(e as Error).message}`, { code: 'ERR_ONNX_DATA', cause: e });
  }
  const values = valueInputs(plan);
  const module = new OnnxGraphModule(plan);
  try {
    weights.forEach((w, i) => {
      const trains = FLOATS.includes(w.dtype) && !values.has(w.name);
      module.place(w.name, made[i], trains ? 'parameter' : 'buffer');
      if (trains) made[i].requiresGrad = options.requiresGrad ?? true;
    });
    let k = weights.length;
    for (const c of constants) module.place(c.name, 'bytes' in c ? made[k++] : c.make(), 'buffer', false);
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
  return module;
}
