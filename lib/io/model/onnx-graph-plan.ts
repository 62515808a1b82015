/**
 * Checks an ONNX graph before anything is allocated and orders its nodes for execution: every op is supported
 * (one `ERR_UNSUPPORTED_OPS` listing all that are not), every value is produced exactly once, every node input
 * is produced somewhere, and the nodes sort topologically (a cycle is `ERR_ONNX_GRAPH`, never a hang).
 */
import { TorchError } from '../../errors';
import type { OnnxNode } from '../onnx';
import { Attributes, OnnxAttribute } from './onnx-attributes';
import { isSupportedOp } from './onnx-ops';

/** One node ready to run: its place in the file, a label for messages and its attributes. */
export interface PlannedNode {
  index: number;
  node: OnnxNode;
  attrs: Attributes;
  where: string;
}

/** The graph as it will run. */
export interface GraphPlan {
  /** The default-domain opset version. */
  opset: number;
  /** Graph inputs that are not initializers, in file order: forward's arguments. */
  inputs: string[];
  outputs: string[];
  /** The nodes in execution order (file order where the graph allows it). */
  order: PlannedNode[];
}

/** What the planner needs from the parsed file. */
export interface GraphSource {
  opsets: { domain: string; version: number }[];
  inputs: string[];
  outputs: string[];
  nodes: OnnxNode[];
  attributes: OnnxAttribute[][];
  initializerNames: string[];
}

const LISTED = 10;

function graphError(file: string, problem: string, code = 'ERR_ONNX_GRAPH'): never {
  throw new TorchError(`onnx: '${file}': ${problem}`, { code });
}

function label(n: OnnxNode, i: number): string {
  return `node '${n.name || `#${i}`}' (${n.domain ? `${n.domain}:` : ''}${n.opType})`;
}

function list(items: string[]): string {
  return items.length > LISTED ? `${items.slice(0, LISTED).join(', ')}, ... (${items.length} in all)` : items.join(', ');
}

/** Refuses every op type that cannot run, all in one error. */
function checkOps(file: string, nodes: OnnxNode[]): void {
  const bad = new Map<string, number>();
  for (const n of nodes) {
    if (isSupportedOp(n.domain, n.opType)) continue;
    const key = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}:${n.opType}` : n.opType;
    bad.set(key, (bad.get(key) ?? 0) + 1);
  }
  if (!bad.size) return;
  const items = [...bad].map(([op, count]) => `${op || '(empty op type)'} (${count} node${count > 1 ? 's' : ''})`);
  graphError(file, `the graph uses ${bad.size} unsupported op type${bad.size > 1 ? 's' : ''}: ${list(items)}`, 'ERR_UNSUPPORTED_OPS');
}

/** Validates the graph and sorts its nodes (Kahn's algorithm, linear in nodes and edges). */
export function planGraph(file: string, g: GraphSource): GraphPlan {
  const opsets = g.opsets.filter((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!opsets.length) graphError(file, 'the model imports no default-domain (ai.onnx) opset');
  const opset = Math.max(...opsets.map((o) => o.version));
  checkOps(file, g.nodes);

  const initializers = new Set(g.initializerNames);
  const inputs = g.inputs.filter((n) => !initializers.has(n));
  const producer = new Map<string, number>(); // value -> node index, or -1 for graph inputs and initializers
  for (const name of [...inputs, ...initializers]) {
    if (name === '') graphError(file, 'a graph input has no name');
    if (producer.has(name)) graphError(file, `value '${name}' is declared twice`);
    producer.set(name, -1);
  }
  g.nodes.forEach((n, i) => {
    for (const o of n.outputs) {
      if (o === '') continue;
      if (producer.has(o)) graphError(file, `${label(n, i)} writes '${o}', which ${producer.get(o) === -1 ? 'is a graph input or initializer' : `${label(g.nodes[producer.get(o)!], producer.get(o)!)} already produces`}`);
      producer.set(o, i);
    }
  });

  const consumers: number[][] = g.nodes.map(() => []);
  const pending = g.nodes.map((n, i) => {
    let count = 0;
    for (const v of n.inputs) {
      if (v === '') continue;
      const p = producer.get(v);
      if (p === undefined) graphError(file, `${label(n, i)} reads '${v}', which no node, graph input or initializer produces`);
      if (p >= 0) {
        consumers[p].push(i);
        count++;
      }
    }
    return count;
  });
  for (const o of g.outputs) if (!producer.has(o)) graphError(file, `graph output '${o}' is never produced`);
  if (!g.outputs.length) graphError(file, 'the graph has no outputs');

  const ready = pending.flatMap((c, i) => (c === 0 ? [i] : []));
  const order: PlannedNode[] = [];
  for (let k = 0; k < ready.length; k++) {
    const i = ready[k];
    const n = g.nodes[i];
    order.push({ index: i, node: n, attrs: new Attributes(g.attributes[i] ?? [], label(n, i)), where: label(n, i) });
    for (const c of consumers[i]) if (--pending[c] === 0) ready.push(c);
  }
  if (order.length !== g.nodes.length) {
    const stuck = pending.flatMap((c, i) => (c > 0 ? [label(g.nodes[i], i)] : []));
    graphError(file, `the graph has a cycle: these nodes never get all their inputs: ${list(stuck)}`);
  }
  return { opset, inputs, outputs: g.outputs, order };
}
