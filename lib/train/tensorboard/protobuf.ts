/** The few protobuf wire-format pieces event files need: a hand-written writer (varints, fixed 32/64-bit numbers, lengths); reading goes through lib/io's reader. */
import { FIXED32, FIXED64, LEN, ProtoError, VARINT, walk } from '../../io/protobuf';

/** Builds one protobuf message field by field; fields are written in the order they are added. */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = [];

  private varint(v: number | bigint): void {
    let n = BigInt.asUintN(64, BigInt(v));
    const out: number[] = [];
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n !== 0n) b |= 0x80;
      out.push(b);
    } while (n !== 0n);
    this.parts.push(Uint8Array.from(out));
  }

  private key(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  /** A varint field (int32, int64, enum, bool). */
  int(field: number, v: number | bigint): this {
    this.key(field, 0);
    this.varint(v);
    return this;
  }

  /** A double field (wire type 1, little-endian). */
  double(field: number, v: number): this {
    this.key(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.parts.push(b);
    return this;
  }

  /** A float field (wire type 5, little-endian). */
  float(field: number, v: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(b);
    return this;
  }

  /** A length-delimited field: bytes, a UTF-8 string, or an embedded message. */
  bytes(field: number, v: Uint8Array | string | ProtoWriter): this {
    const b = typeof v === 'string' ? new TextEncoder().encode(v) : v instanceof ProtoWriter ? v.finish() : v;
    this.key(field, 2);
    this.varint(b.length);
    this.parts.push(b);
    return this;
  }

  /** A packed repeated double field. */
  packedDoubles(field: number, values: ArrayLike<number>): this {
    const b = new Uint8Array(values.length * 8);
    const view = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat64(i * 8, values[i], true);
    return this.bytes(field, b);
  }

  /** The encoded message. */
  finish(): Uint8Array {
    const total = this.parts.reduce((n, p) => n + p.length, 0);
    const out = new Uint8Array(total);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

/** One decoded field: its number, wire type and value (a bigint for varints, a number for fixed, bytes otherwise). */
export interface ProtoField {
  field: number;
  wire: number;
  value: bigint | number | Uint8Array;
}

/** Decodes one message's top-level fields through lib/io's protobuf reader; returns null on malformed input. */
export function readFields(buf: Uint8Array): ProtoField[] | null {
  const out: ProtoField[] = [];
  try {
    walk(buf, 'event', (field, wire, r) => {
      if (wire === VARINT) out.push({ field, wire, value: r.varint() });
      else if (wire === FIXED64) out.push({ field, wire, value: Buffer.from(r.fixed(8)).readDoubleLE(0) });
      else if (wire === FIXED32) out.push({ field, wire, value: Buffer.from(r.fixed(4)).readFloatLE(0) });
      else if (wire === LEN) out.push({ field, wire, value: r.bytes() });
      else return false;  // walk's skip refuses the group wire types
      return true;
    });
  } catch (e) {
    if (e instanceof ProtoError) return null;
    throw e;
  }
  return out;
}
