/**
 * `torchgraft inspect PATH`: what a weight file holds, in any format `tg.io.load` reads, as an `Inspection` (the
 * `--json` output) rendered to text: weight files give a table of name, dtype, shape and size with totals; ONNX adds
 * its nodes; Keras lists its layers with PyTorch names. Folders are handled by ./inspect-folder.
 */
import * as path from 'node:path';
import * as io from '../io';
import { formatBytes, table, wrap } from './table';

export { formatBytes, table } from './table';

/** Renders a file of one format as text; registered by formats with more to show than tensors (TorchScript's module tree). */
export type Inspector = (file: string) => Promise<string>;

const inspectors = new Map<string, Inspector>();

/**
 * Makes `inspect` print `fn(file)` for files the registry detects as `format` (a reader's format name), instead
 * of the generic tensor table (`--json` still gives the generic listing). A later registration replaces the earlier.
 */
export function registerInspector(format: string, fn: Inspector): void {
  inspectors.set(format, fn);
}

/** One tensor as `inspect --json` lists it; `dtype` and `bytes` are null where the file does not say (Keras). */
export interface InspectedTensor {
  name: string;
  dtype: string | null;
  shape: number[];
  elements: number;
  bytes: number | null;
  /** The shard file holding it (sharded safetensors folders). */
  shard?: string;
}

/** One file of an inspected folder: its path relative to the folder, size, and the format torchgraft reads it as. */
export interface InspectedFile {
  name: string;
  bytes: number;
  format: string | null;
}

/**
 * What `torchgraft inspect --json` prints (schema 1: fields are only ever added). `format` is a reader's format name
 * for a file (`safetensors`, `onnx`, `keras-h5`, `tfjs`, `pytorch`, ...) and the folder's kind for a folder
 * (`tfjs-folder`, `safetensors-sharded-folder`, `savedmodel-folder`, `folder`).
 */
export interface Inspection {
  schema: 1;
  path: string;
  kind: 'file' | 'folder';
  format: string;
  /** The header line the text output starts with. */
  summary: string;
  metadata: Record<string, string>;
  tensors: InspectedTensor[];
  totals: { tensors: number; elements: number; bytes: number };
  /** Folders: every file, recursively (at most 1000). */
  files?: InspectedFile[];
  onnx?: Omit<io.OnnxModelInfo, 'initializers'>;
  keras?: { attributes: Record<string, string>; optimizerWeights: boolean; layers: io.KerasLayerInfo[] };
  /** Text the renderer adds after the tables (a registered inspector's view, a note on what cannot be read). */
  notes?: string[];
}

const ITEM_BYTES: Record<string, number> = {
  float64: 8, float32: 4, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, U16: 2, U32: 4, U64: 8, F8_E4M3: 1, F8_E5M2: 1,
  FLOAT: 4, DOUBLE: 8, FLOAT16: 2, BFLOAT16: 2, INT64: 8, INT32: 4, INT16: 2, INT8: 1, UINT8: 1, UINT16: 2, UINT32: 4, UINT64: 8,
};

const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;
const count = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** A tensor entry with its element count and byte size (null for a dtype without a known size). */
export function tensorEntry(name: string, dtype: string | null, shape: readonly number[], shard?: string): InspectedTensor {
  const elements = count(shape);
  const item = dtype === null ? undefined : ITEM_BYTES[dtype];
  return { name, dtype, shape: [...shape], elements, bytes: item === undefined ? null : elements * item, ...(shard ? { shard } : {}) };
}

/** Totals over tensor entries (unknown sizes count as 0 bytes). */
export function totalsOf(tensors: InspectedTensor[]): Inspection['totals'] {
  return { tensors: tensors.length, elements: tensors.reduce((a, t) => a + t.elements, 0), bytes: tensors.reduce((a, t) => a + (t.bytes ?? 0), 0) };
}

/** The tensor table with totals, for entries of name, dtype and shape (a shard column when any entry has one). */
export function tensorTable(entries: { name: string; dtype: string | null; shape: number[]; shard?: string }[]): string {
  const full = entries.map((e) => ('elements' in e ? (e as InspectedTensor) : tensorEntry(e.name, e.dtype, e.shape, e.shard)));
  const sharded = full.some((e) => e.shard);
  const rows = full.map((e) => [
    e.name, e.dtype ?? '?', shapeText(e.shape), String(e.elements), e.bytes === null ? '?' : formatBytes(e.bytes), ...(sharded ? [e.shard ?? ''] : []),
  ]);
  const head = ['name', 'dtype', 'shape', 'elements', 'size', ...(sharded ? ['shard'] : [])];
  const t = totalsOf(full);
  return `${table(head, rows, { numeric: [false, false, false, true, true, false], fixed: [false, true, true] })}\n${t.tensors} tensors, ${t.elements} elements, ${formatBytes(t.bytes)}`;
}

function fileInspection(file: string, format: string, summary: string, tensors: InspectedTensor[], metadata: Record<string, string> = {}): Inspection {
  return { schema: 1, path: path.resolve(file), kind: 'file', format, summary, metadata, tensors, totals: totalsOf(tensors) };
}

async function inspectOnnx(file: string): Promise<Inspection> {
  const { initializers, ...m } = await io.inspectOnnx(file);
  const summary = `ONNX ir_version ${m.irVersion}, producer ${m.producerName} ${m.producerVersion}, opset ${m.opsets.map((o) => `${o.domain || 'ai.onnx'}:${o.version}`).join(', ')}`;
  return { ...fileInspection(file, 'onnx', summary, initializers.map((i) => tensorEntry(i.name, i.dataType, i.shape))), onnx: m };
}

async function inspectKeras(file: string): Promise<Inspection> {
  const k = await io.inspectKeras(file);
  const summary = `Keras HDF5 (${Object.entries(k.attributes).map(([a, v]) => `${a}=${v}`).join(', ')})`;
  const tensors = k.layers.flatMap((l) => l.weights.map((w) => tensorEntry(w.name, null, w.shape)));
  return { ...fileInspection(file, 'keras-h5', summary, tensors, k.attributes), keras: { attributes: k.attributes, optimizerWeights: k.optimizerWeights, layers: k.layers } };
}

async function inspectSafetensors(file: string): Promise<Inspection> {
  const h = await io.inspectSafetensors(file);
  const md = Object.entries(h.metadata);
  const summary = `safetensors (header ${h.headerBytes} bytes${md.length ? `; ${md.map(([k, v]) => `${k}=${v}`).join(', ')}` : ''})`;
  return fileInspection(file, 'safetensors', summary, h.entries.map((e) => tensorEntry(e.name, e.dtype, e.shape)), h.metadata);
}

async function inspectTensors(file: string, format: string): Promise<Inspection> {
  const { names, tensors, metadata } = await io.loadWithMetadata(file);
  try {
    const entries = names.map((n) => tensorEntry(n, tensors[n].dtype, [...tensors[n].shape]));
    const md = Object.entries(metadata).filter(([k]) => k !== 'layers');
    const summary = `${format}${md.length ? ` (${md.map(([k, v]) => `${k}=${v.length > 60 ? `${v.slice(0, 57)}...` : v}`).join(', ')})` : ''}`;
    return fileInspection(file, format, summary, entries, metadata);
  } finally {
    for (const n of names) tensors[n].dispose();
  }
}

const byFormat: Record<string, (file: string) => Promise<Inspection>> = {
  safetensors: inspectSafetensors,
  onnx: inspectOnnx,
  'keras-h5': inspectKeras,
};

/**
 * The inspection of one file: the format-specific view for safetensors, ONNX and Keras, else its tensors (loaded,
 * then released).
 * @throws TorchError from the file's reader, `ERR_UNKNOWN_FORMAT` when no reader applies.
 */
export async function inspectFileData(file: string): Promise<Inspection> {
  const format = await io.detectFormat(file);
  if (format === undefined) return inspectTensors(file, 'unknown'); // the registry's ERR_UNKNOWN_FORMAT, listing the formats
  return (byFormat[format] ?? ((f: string) => inspectTensors(f, format)))(file);
}

function kerasText(i: Inspection): string {
  const k = i.keras!;
  const rows: string[][] = [];
  for (const l of k.layers) {
    // one heading per layer, its weights under it without the layer's prefix
    const bn = l.epsilon !== undefined ? `, epsilon=${l.epsilon} momentum=${l.momentum}` : '';
    rows.push([`${l.name} (${l.className ?? '?'}${bn})`]);
    for (const w of l.weights) {
      const own = w.keras.startsWith(`${l.name}/`) ? w.keras.slice(l.name.length + 1) : w.keras;
      rows.push([`  ${own}`, shapeText(w.kerasShape), w.name, shapeText(w.shape), w.layout]);
    }
  }
  const t = table(['layer / keras weight', 'keras shape', 'name', 'shape', 'layout'], rows, { fixed: [false, true, false, true, true] });
  return `${t}\n${k.layers.length} layers, ${i.totals.elements} parameters${k.optimizerWeights ? '; optimizer weights present (ignored)' : ''}`;
}

function onnxText(i: Inspection): string {
  const m = i.onnx!;
  const nodes = table(
    ['#', 'op', 'name', 'inputs', 'outputs'],
    m.nodes.map((n, j) => [String(j), n.domain ? `${n.domain}.${n.opType}` : n.opType, n.name, n.inputs.join(', '), n.outputs.join(', ')]),
    [true],
  );
  return `graph inputs: ${m.inputs.join(', ')}\ngraph outputs: ${m.outputs.join(', ')}\n\ninitializers:\n${tensorTable(i.tensors)}\n\nnodes (${m.nodes.length}):\n${nodes}`;
}

/** The text `torchgraft inspect` prints for an inspection (tables fitted to 100 columns). */
export function renderInspection(i: Inspection): string {
  const body = i.keras ? kerasText(i) : i.onnx ? onnxText(i) : i.tensors.length || i.kind === 'file' ? tensorTable(i.tensors) : '';
  const files = i.files
    ? `files (${i.files.length}):\n${table(['file', 'format', 'size'], i.files.map((f) => [f.name, f.format ?? '-', formatBytes(f.bytes)]), [false, false, true])}`
    : '';
  return [wrap(i.summary), body, ...(i.notes ?? []).map((n) => wrap(n)), files].filter((s) => s !== '').join('\n');
}

/**
 * The text `torchgraft inspect` prints for `file`: the registered inspector of its detected format, else the
 * rendered inspection.
 * @throws TorchError from the file's reader, `ERR_UNKNOWN_FORMAT` when no reader applies.
 */
export async function inspectFile(file: string): Promise<string> {
  const format = await io.detectFormat(file);
  const fn = format !== undefined ? inspectors.get(format) : undefined;
  return fn ? fn(file) : renderInspection(await inspectFileData(file));
}
