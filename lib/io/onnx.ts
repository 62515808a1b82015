/**
 * ONNX models (`.onnx`): the graph's initializers as tensors (names kept), and the node list for inspection.
 * Parsed with the wire-format reader in protobuf.ts; only ModelProto, GraphProto, NodeProto, TensorProto and
 * ValueInfoProto names are read. Nothing in the file is executed.
 */
import * as fs from 'node:fs';
import { TorchError } from '../errors';
import type { NodeBuffer } from '../portable-types';
import type { Tensor } from '../tensor';
import { LoadedWeights, WeightReader, recordOf } from './registry';
import { LEN, ProtoError, ProtoReader, VARINT, expectWire, repeatedFixed, repeatedVarint, walk } from './protobuf';
import { ITEMSIZE, RawDType, elementCount, tensorsFromJobs } from './decode';
import type { DecodeJob } from './decode-bytes';
import { OnnxAttribute, checkAttributeCount, parseAttribute } from './model/onnx-attributes';

/** One graph node as ONNX lists it. */
export interface OnnxNode {
  opType: string;
  name: string;
  domain: string;
  inputs: string[];
  outputs: string[];
}

/** One initializer without its data. */
export interface OnnxInitializerInfo {
  name: string;
  /** ONNX's name for the element type (`FLOAT`, `INT64`, ...). */
  dataType: string;
  shape: number[];
}

/** What `inspectOnnx` reports: the model header, the graph's inputs, outputs, initializers and nodes. */
export interface OnnxModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: { domain: string; version: number }[];
  graphName: string;
  inputs: string[];
  outputs: string[];
  initializers: OnnxInitializerInfo[];
  nodes: OnnxNode[];
  /** Sparse initializers, which are listed but not read. */
  sparseInitializers: number;
}

// TensorProto.DataType: ONNX name and the raw type it is read as (null: refused).
const DATA_TYPES: Record<number, [string, RawDType | null]> = {
  1: ['FLOAT', 'float32'], 2: ['UINT8', 'uint8'], 3: ['INT8', 'int8'], 4: ['UINT16', 'uint16'], 5: ['INT16', 'int16'],
  6: ['INT32', 'int32'], 7: ['INT64', 'int64'], 8: ['STRING', null], 9: ['BOOL', 'bool'], 10: ['FLOAT16', 'float16'],
  11: ['DOUBLE', 'float64'], 12: ['UINT32', 'uint32'], 13: ['UINT64', null], 14: ['COMPLEX64', null], 15: ['COMPLEX128', null],
  16: ['BFLOAT16', 'bfloat16'], 17: ['FLOAT8E4M3FN', null], 18: ['FLOAT8E4M3FNUZ', null], 19: ['FLOAT8E5M2', null],
  20: ['FLOAT8E5M2FNUZ', null], 21: ['UINT4', null], 22: ['INT4', null], 23: ['FLOAT4E2M1', null],
};

// More dimensions than any framework allows means the file lies.
const MAX_DIMS = 64;

/** A TensorProto as read from the wire, data still in the file's buffer. @internal */
export interface RawTensor {
  name: string;
  dataType: number;
  dims: bigint[];
  raw?: Uint8Array;
  floats: Uint8Array[];
  doubles: Uint8Array[];
  int32s: bigint[];
  int64s: bigint[];
  uint64s: bigint[];
  strings: number;
  external: string[];
  location: number;
  segment: boolean;
}

/** Parses a TensorProto; its data stay views of `buf` until tensorBytes checks them. @internal */
export function parseTensor(buf: Uint8Array, what: string): RawTensor {
  const t: RawTensor = { name: '', dataType: 0, dims: [], floats: [], doubles: [], int32s: [], int64s: [], uint64s: [], strings: 0, external: [], location: 0, segment: false };
  walk(buf, what, (field, wire, r) => {
    switch (field) {
      case 1: repeatedVarint(r, wire, t.dims, 'dims'); return true;
      case 2: expectWire(r, wire, VARINT, 'data_type'); t.dataType = r.small(); return true;
      case 3: t.segment = true; return false;
      case 4: repeatedFixed(r, wire, 4, t.floats, 'float_data'); return true;
      case 5: repeatedVarint(r, wire, t.int32s, 'int32_data'); return true;
      case 6: t.strings++; return false;
      case 7: repeatedVarint(r, wire, t.int64s, 'int64_data'); return true;
      case 8: expectWire(r, wire, LEN, 'name'); t.name = r.string(); return true;
      case 9: expectWire(r, wire, LEN, 'raw_data'); t.raw = r.bytes(); return true;
      case 10: repeatedFixed(r, wire, 8, t.doubles, 'double_data'); return true;
      case 11: repeatedVarint(r, wire, t.uint64s, 'uint64_data'); return true;
      case 13: {
        expectWire(r, wire, LEN, 'external_data');
        let key = '';
        let value = '';
        walk(r.bytes(), `${what}.external_data`, (f, w, rr) => {
          if (f === 1 && w === LEN) key = rr.string();
          else if (f === 2 && w === LEN) value = rr.string();
          else return false;
          return true;
        });
        t.external.push(`${key}=${value}`);
        return true;
      }
      case 14: expectWire(r, wire, VARINT, 'data_location'); t.location = r.small(); return true;
      default: return false;
    }
  });
  return t;
}

function parseNode(buf: Uint8Array, what: string, attributes: OnnxAttribute[]): OnnxNode {
  const n: OnnxNode = { opType: '', name: '', domain: '', inputs: [], outputs: [] };
  walk(buf, what, (field, wire, r) => {
    if (wire !== LEN) return false;
    if (field === 5) {
      checkAttributeCount(attributes.length + 1, what);
      attributes.push(parseAttribute(r.bytes(), `${what}.attribute[${attributes.length}]`));
    } else if (field === 1) n.inputs.push(r.string());
    else if (field === 2) n.outputs.push(r.string());
    else if (field === 3) n.name = r.string();
    else if (field === 4) n.opType = r.string();
    else if (field === 7) n.domain = r.string();
    else return false;
    return true;
  });
  return n;
}

/** ValueInfoProto: only its name (field 1). */
function valueInfoName(buf: Uint8Array, what: string): string {
  let name = '';
  walk(buf, what, (field, wire, r) => {
    if (field !== 1 || wire !== LEN) return false;
    name = r.string();
    return true;
  });
  return name;
}

/** @internal */
export interface ParsedModel {
  info: Omit<OnnxModelInfo, 'initializers'>;
  tensors: RawTensor[];
  /** Each node's attributes, parallel to info.nodes (kept out of OnnxNode, which is JSON metadata). */
  attributes: OnnxAttribute[][];
}

function parseModel(buf: Uint8Array): ParsedModel {
  const info: ParsedModel['info'] = { irVersion: 0, producerName: '', producerVersion: '', opsets: [], graphName: '', inputs: [], outputs: [], nodes: [], sparseInitializers: 0 };
  const tensors: RawTensor[] = [];
  const attributes: OnnxAttribute[][] = [];
  let graphs = 0;
  walk(buf, 'ModelProto', (field, wire, r) => {
    switch (field) {
      case 1: expectWire(r, wire, VARINT, 'ir_version'); info.irVersion = r.small(); return true;
      case 2: expectWire(r, wire, LEN, 'producer_name'); info.producerName = r.string(); return true;
      case 3: expectWire(r, wire, LEN, 'producer_version'); info.producerVersion = r.string(); return true;
      case 8: {
        expectWire(r, wire, LEN, 'opset_import');
        const op = { domain: '', version: 0 };
        walk(r.bytes(), 'OperatorSetIdProto', (f, w, rr) => {
          if (f === 1 && w === LEN) op.domain = rr.string();
          else if (f === 2 && w === VARINT) op.version = Number(BigInt.asIntN(64, rr.varint()));
          else return false;
          return true;
        });
        info.opsets.push(op);
        return true;
      }
      case 7: {
        expectWire(r, wire, LEN, 'graph');
        graphs++;
        walk(r.bytes(), 'GraphProto', (f, w, rr) => {
          if (w !== LEN) return false;
          const where = `GraphProto.${f === 1 ? 'node' : f === 5 ? 'initializer' : 'field'}[${f === 1 ? info.nodes.length : tensors.length}]`;
          if (f === 1) {
            const attrs: OnnxAttribute[] = [];
            info.nodes.push(parseNode(rr.bytes(), where, attrs));
            attributes.push(attrs);
          } else if (f === 2) info.graphName = rr.string();
          else if (f === 5) tensors.push(parseTensor(rr.bytes(), where));
          else if (f === 11) info.inputs.push(valueInfoName(rr.bytes(), 'GraphProto.input'));
          else if (f === 12) info.outputs.push(valueInfoName(rr.bytes(), 'GraphProto.output'));
          else if (f === 15) info.sparseInitializers++;
          else return false;
          return f !== 15; // a sparse initializer is counted, then skipped
        });
        return true;
      }
      default: return false;
    }
  });
  if (graphs !== 1) throw new ProtoError(`ModelProto has ${graphs} graphs, expected 1 (is this an ONNX model?)`);
  return { info, tensors, attributes };
}

function fail(file: string, problem: string, code = 'ERR_ONNX_FORMAT'): never {
  throw new TorchError(`onnx: '${file}': ${problem}`, { code });
}

/** Checks an initializer and returns its raw type, shape and exact little-endian bytes (never more than the file holds). */
export function tensorBytes(file: string, t: RawTensor): { dtype: RawDType; shape: number[]; bytes: Uint8Array } {
  const label = `initializer '${t.name}'`;
  if (t.location === 1 || t.external.length)
    fail(file, `${label} keeps its data outside the .onnx file (${t.external.join(', ') || 'data_location=EXTERNAL'}); external data is not supported: re-export with the weights inside the model`, 'ERR_ONNX_EXTERNAL_DATA');
  if (t.segment) fail(file, `${label} is a segment of a larger tensor, which is not supported`, 'ERR_ONNX_UNSUPPORTED');
  const type = DATA_TYPES[t.dataType];
  if (!type) fail(file, `${label} has unknown data_type ${t.dataType}`, 'ERR_ONNX_DTYPE');
  const [onnxName, dtype] = type;
  if (!dtype) fail(file, `${label} has data type ${onnxName}, which torchgraft cannot hold as a tensor`, 'ERR_ONNX_DTYPE');
  if (t.dims.length > MAX_DIMS) fail(file, `${label} declares ${t.dims.length} dimensions`);
  const shape = t.dims.map((d) => (d > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(d)));
  const count = elementCount(shape);
  if (typeof count === 'string') fail(file, `${label}: ${count}`);
  const size = ITEMSIZE[dtype];
  if (t.raw) {
    if (t.raw.length !== count * size) fail(file, `${label} has ${t.raw.length} bytes of raw_data, but ${onnxName}[${shape.join(', ')}] needs ${count * size}`, 'ERR_ONNX_DATA');
    return { dtype, shape, bytes: t.raw };
  }
  const typed = (n: number, field: string) => {
    if (n !== count) fail(file, `${label} has ${n} values in ${field}, but shape [${shape.join(', ')}] needs ${count}`, 'ERR_ONNX_DATA');
  };
  const out = new Uint8Array(count * size);
  const view = new DataView(out.buffer);
  if (dtype === 'float32' || dtype === 'float64') {
    const chunks = dtype === 'float32' ? t.floats : t.doubles;
    typed(chunks.reduce((s, c) => s + c.length, 0) / size, dtype === 'float32' ? 'float_data' : 'double_data');
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
  } else if (dtype === 'int64') {
    typed(t.int64s.length, 'int64_data');
    t.int64s.forEach((v, i) => view.setBigInt64(i * 8, BigInt.asIntN(64, v), true));
  } else if (dtype === 'uint32') {
    typed(t.uint64s.length, 'uint64_data');
    t.uint64s.forEach((v, i) => view.setUint32(i * 4, Number(BigInt.asUintN(32, v)), true));
  } else {
    // INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16 and BFLOAT16 (as bits) all live in int32_data.
    typed(t.int32s.length, 'int32_data');
    t.int32s.forEach((v, i) => {
      const x = Number(BigInt.asIntN(32, v));
      if (size === 4) view.setInt32(i * 4, x, true);
      else if (size === 2) view.setUint16(i * 2, x & 0xffff, true);
      else out[i] = x & 0xff;
    });
  }
  return { dtype, shape, bytes: out };
}

/** Reads and parses a model file; format errors are TorchErrors naming it. @internal */
export async function readModel(file: string): Promise<ParsedModel & { buf: NodeBuffer }> {
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file);
  } catch (e) {
    throw new TorchError(`onnx: cannot read '${file}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
  }
  try {
    return { ...parseModel(buf), buf };
  } catch (e) {
    if (e instanceof ProtoError) fail(file, `not a well-formed ONNX model: ${e.message}`);
    throw e;
  }
}

/**
 * Reads an ONNX model's structure without creating tensors: header, graph inputs and outputs, initializers
 * (name, type, shape) and nodes (op type, name, inputs, outputs).
 * @throws TorchError `ERR_ONNX_FORMAT` for a malformed file, `ERR_IO` when it cannot be read.
 */
export async function inspectOnnx(file: string): Promise<OnnxModelInfo> {
  const { info, tensors } = await readModel(file);
  const initializers = tensors.map((t) => ({
    name: t.name,
    dataType: DATA_TYPES[t.dataType]?.[0] ?? `UNKNOWN(${t.dataType})`,
    shape: t.dims.map((d) => Number(BigInt.asIntN(64, d))),
  }));
  return { ...info, initializers };
}

/**
 * Reads an ONNX model's initializers as tensors, named as in the file. `metadata` holds the header
 * (`ir_version`, `producer_name`, `producer_version`, `opset_import`), the graph's `inputs` and `outputs`, and
 * `nodes`: a JSON array of { opType, name, domain, inputs, outputs }.
 * @throws TorchError `ERR_ONNX_FORMAT`, `_DATA` (sizes that do not match), `_DTYPE` (string, complex, 8-bit and
 *   4-bit float types), `_EXTERNAL_DATA` (weights stored beside the model), `ERR_IO`; each names the file.
 */
export async function loadOnnx(file: string): Promise<LoadedWeights> {
  const { info, tensors: raws, buf } = await readModel(file);
  const seen = new Set<string>();
  for (const t of raws) {
    if (t.name === '') fail(file, 'an initializer has no name');
    if (seen.has(t.name)) fail(file, `initializer '${t.name}' appears twice`);
    seen.add(t.name);
  }
  // Every initializer is validated before any tensor is made, so a bad file allocates nothing native.
  const checked = raws.map((t) => [t.name, tensorBytes(file, t)] as const);
  // raw_data slices address the file's buffer; typed data (float_data, int32_data, ...) were packed into buffers of their own.
  const buffers: Uint8Array[] = [buf];
  const jobs: DecodeJob[] = checked.map(([, c]) => {
    if (c.bytes.buffer === buf.buffer) return { op: 'le', dtype: c.dtype, buffer: 0, offset: c.bytes.byteOffset - buf.byteOffset, length: c.bytes.length };
    buffers.push(c.bytes);
    return { op: 'le', dtype: c.dtype, buffer: buffers.length - 1, offset: 0, length: c.bytes.length };
  });
  let made: [string, Tensor][];
  try {
    // Big models are decoded off the JavaScript thread (the file's buffer is handed over) and copied in slices.
    const tensors = await tensorsFromJobs(buffers, jobs, checked.map(([, c]) => c.shape));
    made = checked.map(([name], i) => [name, tensors[i]]);
  } catch (e) {
    throw e instanceof TorchError ? e : new TorchError(`onnx: '${file}': ${(e as Error).message}`, { code: 'ERR_ONNX_DATA', cause: e });
  }
  const metadata: Record<string, string> = {
    ir_version: String(info.irVersion),
    producer_name: info.producerName,
    producer_version: info.producerVersion,
    opset_import: JSON.stringify(info.opsets),
    graph_name: info.graphName,
    inputs: JSON.stringify(info.inputs),
    outputs: JSON.stringify(info.outputs),
    nodes: JSON.stringify(info.nodes),
  };
  if (info.sparseInitializers) metadata.sparse_initializers_skipped = String(info.sparseInitializers);
  return { format: 'onnx', names: made.map((e) => e[0]), tensors: recordOf(made), metadata };
}

/** An ONNX file starts with ModelProto's ir_version (field 1, varint, small) followed by another ModelProto field. */
function sniffOnnx(head: Uint8Array): boolean {
  if (head.length < 4 || head[0] !== 0x08) return false;
  try {
    const r = new ProtoReader(head, 'sniff');
    r.tag();
    if (r.varint() > 100n) return false;
    const { field, wire } = r.tag();
    return [2, 3, 4, 5, 6, 7, 8, 14].includes(field) && (wire === LEN || (field === 5 && wire === VARINT));
  } catch {
    return false;
  }
}

/** The registry entry for ONNX. */
export const onnxReader: WeightReader = {
  format: 'onnx',
  extensions: ['.onnx'],
  sniff: sniffOnnx,
  read: loadOnnx,
};
