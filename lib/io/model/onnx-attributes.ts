/**
 * ONNX node attributes (AttributeProto): read from the wire with bounds on how many there are, and typed getters
 * that refuse a wrong type or an out-of-range value with `ERR_ONNX_ATTRIBUTE` instead of guessing.
 */
import { TorchError } from '../../errors';
import { FIXED32, LEN, ProtoError, VARINT, expectWire, repeatedFixed, repeatedVarint, walk } from '../protobuf';

/** AttributeProto.AttributeType values torchgraft reads. */
export const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

// More attributes per node, or values per list, than any real operator takes means the file lies.
const MAX_ATTRIBUTES = 256;
const MAX_VALUES = 1 << 16;

/**
 * One attribute as read from the file. `t` is the TensorProto's undecoded bytes, a view of the file's buffer: it is
 * decoded at load, before that buffer may go to the decode worker; `s` is a copy.
 */
export interface OnnxAttribute {
  name: string;
  /** AttributeType; 0 when the file left it out (old files), then inferred from the field that is set. */
  type: number;
  f?: number;
  i?: bigint;
  s?: Uint8Array;
  t?: Uint8Array;
  floats: number[];
  ints: bigint[];
  /** Whether a graph, a sparse tensor or a list other than floats/ints was present (never used by the supported ops). */
  other: boolean;
}

/** Parses one AttributeProto (NodeProto field 5). */
export function parseAttribute(buf: Uint8Array, what: string): OnnxAttribute {
  const a: OnnxAttribute = { name: '', type: 0, floats: [], ints: [], other: false };
  const floatChunks: Uint8Array[] = [];
  walk(buf, what, (field, wire, r) => {
    switch (field) {
      case 1: expectWire(r, wire, LEN, 'name'); a.name = r.string(); return true;
      case 2: expectWire(r, wire, FIXED32, 'f'); a.f = dataView(r.fixed(4)).getFloat32(0, true); return true;
      case 3: expectWire(r, wire, VARINT, 'i'); a.i = BigInt.asIntN(64, r.varint()); return true;
      // copied: the file's buffer may be handed to the decode worker (and detached) before forward reads it
      case 4: expectWire(r, wire, LEN, 's'); a.s = Uint8Array.from(r.bytes()); return true;
      case 5: expectWire(r, wire, LEN, 't'); a.t = r.bytes(); return true;
      case 7: repeatedFixed(r, wire, 4, floatChunks, 'floats'); return true;
      case 8: repeatedVarint(r, wire, a.ints, 'ints'); return true;
      case 20: expectWire(r, wire, VARINT, 'type'); a.type = r.small(); return true;
      case 6: case 9: case 10: case 11: case 22: case 23: a.other = true; return false;
      default: return false;
    }
  });
  for (const c of floatChunks) {
    const v = dataView(c);
    for (let k = 0; k < c.length; k += 4) a.floats.push(v.getFloat32(k, true));
  }
  if (a.ints.length > MAX_VALUES || a.floats.length > MAX_VALUES)
    throw new ProtoError(`${what}: attribute '${a.name}' lists ${Math.max(a.ints.length, a.floats.length)} values (at most ${MAX_VALUES})`);
  a.ints = a.ints.map((v) => BigInt.asIntN(64, v));
  if (a.type === 0) a.type = a.f !== undefined ? ATTR.FLOAT : a.i !== undefined ? ATTR.INT : a.s ? ATTR.STRING : a.t ? ATTR.TENSOR : a.floats.length ? ATTR.FLOATS : a.ints.length ? ATTR.INTS : 0;
  return a;
}

/** Checks a node's attribute count before parsing them (called per attribute as they are met). */
export function checkAttributeCount(count: number, what: string): void {
  if (count > MAX_ATTRIBUTES) throw new ProtoError(`${what}: more than ${MAX_ATTRIBUTES} attributes`);
}

function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * FLOAT attributes are float32: 0.9 is stored as 0.8999999761581421. The exporter wrote the shortest decimal that
 * rounds to it (PyTorch's momentum 0.1 became 1 - 0.1), so that decimal is what the computation should use.
 */
function shortestFloat32(f: number): number {
  if (!Number.isFinite(f)) return f;
  for (let p = 1; p <= 9; p++) {
    const d = Number(f.toPrecision(p));
    if (Math.fround(d) === f) return d;
  }
  return f;
}

const TYPE_NAMES: Record<number, string> = { 1: 'FLOAT', 2: 'INT', 3: 'STRING', 4: 'TENSOR', 5: 'GRAPH', 6: 'FLOATS', 7: 'INTS', 8: 'STRINGS' };

/** Typed access to one node's attributes; every refusal names the node and the attribute. */
export class Attributes {
  private readonly byName = new Map<string, OnnxAttribute>();

  constructor(
    list: OnnxAttribute[],
    private readonly where: string,
  ) {
    for (const a of list) {
      if (this.byName.has(a.name)) this.fail(`attribute '${a.name}' appears twice`);
      this.byName.set(a.name, a);
    }
  }

  /** The attribute names present. */
  names(): string[] {
    return [...this.byName.keys()];
  }

  /** Whether the node carries attribute `name`. */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  private get(name: string, type: number): OnnxAttribute | undefined {
    const a = this.byName.get(name);
    if (a && a.type !== type) this.fail(`attribute '${name}' is ${TYPE_NAMES[a.type] ?? `type ${a.type}`}, expected ${TYPE_NAMES[type]}`);
    return a;
  }

  private num(name: string, v: bigint): number {
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) this.fail(`attribute '${name}' value ${v} is out of range`);
    return Number(v);
  }

  /** An INT attribute, or `dflt` when absent (undefined dflt: required). */
  int(name: string, dflt?: number): number {
    const a = this.get(name, ATTR.INT);
    if (!a) return dflt ?? this.fail(`required attribute '${name}' is missing`);
    return this.num(name, a.i ?? 0n);
  }

  /** An INTS attribute, or `dflt` when absent. */
  ints(name: string, dflt?: number[]): number[] | undefined {
    const a = this.get(name, ATTR.INTS);
    return a ? a.ints.map((v) => this.num(name, v)) : dflt;
  }

  /** A FLOATS attribute, or `dflt` when absent. */
  floats(name: string, dflt?: number[]): number[] | undefined {
    const a = this.get(name, ATTR.FLOATS);
    return a ? [...a.floats] : dflt;
  }

  /** A FLOAT attribute, or `dflt` when absent. */
  float(name: string, dflt?: number): number {
    const a = this.get(name, ATTR.FLOAT);
    if (!a) return dflt ?? this.fail(`required attribute '${name}' is missing`);
    return shortestFloat32(a.f ?? 0);
  }

  /** A STRING attribute (UTF-8), or `dflt` when absent. */
  string(name: string, dflt?: string): string {
    const a = this.get(name, ATTR.STRING);
    if (!a) return dflt ?? this.fail(`required attribute '${name}' is missing`);
    return Buffer.from(a.s ?? new Uint8Array()).toString('utf8');
  }

  /** A TENSOR attribute's undecoded TensorProto bytes, or undefined. */
  tensor(name: string): Uint8Array | undefined {
    return this.get(name, ATTR.TENSOR)?.t;
  }

  /** Throws `ERR_ONNX_ATTRIBUTE` naming the node. */
  fail(problem: string): never {
    throw new TorchError(`onnx: ${this.where}: ${problem}`, { code: 'ERR_ONNX_ATTRIBUTE' });
  }
}
