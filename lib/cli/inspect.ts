/**
 * `torchgraft inspect FILE`: what a weight file holds, in any format `tg.io.load` reads. Weight files give a table
 * of name, dtype, shape and size with totals; ONNX adds its nodes; Keras lists its layers with PyTorch names.
 */
import * as io from '../io';

/** Renders a file of one format as text; registered by formats with more to show than tensors (TorchScript's module tree). */
export type Inspector = (file: string) => Promise<string>;

const inspectors = new Map<string, Inspector>();

/**
 * Makes `inspect` print `fn(file)` for files the registry detects as `format` (a reader's format name), instead
 * of the generic tensor table. A later registration for the same format replaces the earlier one.
 */
export function registerInspector(format: string, fn: Inspector): void {
  inspectors.set(format, fn);
}

const ITEM_BYTES: Record<string, number> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, U16: 2, U32: 4, U64: 8, F8_E4M3: 1, F8_E5M2: 1,
  FLOAT: 4, DOUBLE: 8, FLOAT16: 2, BFLOAT16: 2, INT64: 8, INT32: 4, INT16: 2, INT8: 1, UINT8: 1, UINT16: 2, UINT32: 4, UINT64: 8,
};

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;
const count = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** Human-readable bytes (1024-based). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${units[u]}`;
}

/** Left-aligned columns, numbers right-aligned; the header is underlined. */
export function table(head: string[], rows: string[][], numeric: boolean[] = []): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The tensor table with totals, for entries of name, dtype and shape. */
export function tensorTable(entries: { name: string; dtype: string; shape: number[] }[]): string {
  let params = 0;
  let bytes = 0;
  const rows = entries.map((e) => {
    const n = count(e.shape);
    const b = n * (ITEM_BYTES[e.dtype] ?? 0);
    params += n;
    bytes += b;
    return [e.name, e.dtype, shapeText(e.shape), String(n), formatBytes(b)];
  });
  return `${table(['name', 'dtype', 'shape', 'elements', 'size'], rows, [false, false, false, true, true])}\n${entries.length} tensors, ${params} elements, ${formatBytes(bytes)}`;
}

async function inspectOnnxText(file: string): Promise<string> {
  const m = await io.inspectOnnx(file);
  const head = `ONNX ir_version ${m.irVersion}, producer ${m.producerName} ${m.producerVersion}, opset ${m.opsets.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', ')}`;
  const inits = tensorTable(m.initializers.map((i) => ({ name: i.name, dtype: i.dataType, shape: i.shape })));
  const nodes = table(
    ['#', 'op', 'name', 'inputs -> outputs'],
    m.nodes.map((n, i) => [String(i), n.domain ? `${n.domain}.${n.opType}` : n.opType, n.name, `${n.inputs.join(', ')} -> ${n.outputs.join(', ')}`]),
    [true],
  );
  return `${head}\ngraph inputs: ${m.inputs.join(', ')}\ngraph outputs: ${m.outputs.join(', ')}\n\ninitializers:\n${inits}\n\nnodes (${m.nodes.length}):\n${nodes}`;
}

async function inspectKerasText(file: string): Promise<string> {
  const k = await io.inspectKeras(file);
  const attrs = Object.entries(k.attributes).map(([a, v]) => `${a}=${v}`).join(', ');
  const rows: string[][] = [];
  let params = 0;
  for (const l of k.layers) {
    const extra = l.epsilon !== undefined ? `epsilon=${l.epsilon} momentum=${l.momentum}` : '';
    if (!l.weights.length) rows.push([l.name, l.className ?? '?', '', '', '', '', extra]);
    for (const w of l.weights) {
      params += count(w.shape);
      rows.push([l.name, l.className ?? '?', w.keras, shapeText(w.kerasShape), w.name, shapeText(w.shape), w.layout + (extra ? `; ${extra}` : '')]);
    }
  }
  const t = table(['layer', 'class', 'keras weight', 'keras shape', 'name', 'shape', 'layout'], rows);
  return `Keras HDF5 (${attrs})\n${t}\n${k.layers.length} layers, ${params} parameters${k.optimizerWeights ? '; optimizer weights present (ignored)' : ''}`;
}

async function inspectTensors(file: string): Promise<string> {
  const { format, names, tensors, metadata } = await io.loadWithMetadata(file);
  try {
    const text = tensorTable(names.map((n) => ({ name: n, dtype: tensors[n].dtype, shape: [...tensors[n].shape] })));
    const md = Object.entries(metadata).filter(([k]) => k !== 'layers');
    return `${format}${md.length ? ` (${md.map(([k, v]) => `${k}=${v.length > 60 ? `${v.slice(0, 57)}...` : v}`).join(', ')})` : ''}\n${text}`;
  } finally {
    for (const n of names) tensors[n].dispose();
  }
}

async function inspectSafetensorsText(file: string): Promise<string> {
  const h = await io.inspectSafetensors(file);
  const md = Object.entries(h.metadata);
  return `safetensors (header ${h.headerBytes} bytes${md.length ? `; ${md.map(([k, v]) => `${k}=${v}`).join(', ')}` : ''})\n${tensorTable(h.entries)}`;
}

registerInspector('safetensors', inspectSafetensorsText);
registerInspector('onnx', inspectOnnxText);
registerInspector('keras-h5', inspectKerasText);

/**
 * The text `torchgraft inspect` prints for `file`: the registered inspector of its detected format, else a table of
 * its tensors (loaded, then released).
 * @throws TorchError from the file's reader, `ERR_UNKNOWN_FORMAT` when no reader applies.
 */
export async function inspectFile(file: string): Promise<string> {
  const format = await io.detectFormat(file);
  const fn = format !== undefined ? inspectors.get(format) : undefined;
  return fn ? fn(file) : inspectTensors(file);
}
