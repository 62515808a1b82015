/**
 * A minimal protocol-buffers wire-format reader: enough to walk the few ONNX messages torchgraft needs without a
 * schema compiler or a dependency. Every length is checked against the bytes that remain, so a lying file throws
 * a ProtoError instead of reading past its end or allocating what it claims.
 */

/** A malformed message; the format reader turns it into a TorchError naming the file. */
export class ProtoError extends Error {}

/** Wire types (proto3 encoding). */
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

/** A cursor over one message's bytes. */
export class ProtoReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    readonly what: string,
  ) {
    this.pos = 0;
  }

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** A base-128 varint as an unsigned 64-bit BigInt (at most 10 bytes). */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n, i = 0; i < 10; i++, shift += 7n) {
      if (this.pos >= this.buf.length) throw new ProtoError(`${this.what}: a varint runs past the end of its message`);
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return BigInt.asUintN(64, result);
    }
    throw new ProtoError(`${this.what}: a varint is longer than 10 bytes`);
  }

  /** A varint that must fit a JavaScript number (a length, a tag, a small enum). */
  small(): number {
    const v = this.varint();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtoError(`${this.what}: value ${v} is out of range`);
    return Number(v);
  }

  /** The next field's number and wire type. */
  tag(): { field: number; wire: number } {
    const t = this.small();
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field === 0) throw new ProtoError(`${this.what}: field number 0 is invalid`);
    return { field, wire };
  }

  /** A length-delimited payload, as a view (no copy). */
  bytes(): Uint8Array {
    const n = this.small();
    if (n > this.buf.length - this.pos) throw new ProtoError(`${this.what}: a field declares ${n} bytes but only ${this.buf.length - this.pos} remain`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    return Buffer.from(this.bytes()).toString('utf8');
  }

  fixed(n: 4 | 8): Uint8Array {
    if (n > this.buf.length - this.pos) throw new ProtoError(`${this.what}: a fixed-size field runs past the end of its message`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Skips a field of the given wire type (groups, wire types 3 and 4, are refused: ONNX never uses them). */
  skip(wire: number): void {
    if (wire === VARINT) this.varint();
    else if (wire === FIXED64) this.fixed(8);
    else if (wire === LEN) this.bytes();
    else if (wire === FIXED32) this.fixed(4);
    else throw new ProtoError(`${this.what}: unsupported wire type ${wire}`);
  }
}

/** Calls `onField` for each field of a message; the handler reads the value or returns false to have it skipped. */
export function walk(buf: Uint8Array, what: string, onField: (field: number, wire: number, r: ProtoReader) => boolean): void {
  const r = new ProtoReader(buf, what);
  while (!r.done) {
    const { field, wire } = r.tag();
    if (!onField(field, wire, r)) r.skip(wire);
  }
}

/** Expects a wire type for a field, for clear errors on a message that does not match its schema. */
export function expectWire(r: ProtoReader, wire: number, expected: number, name: string): void {
  if (wire !== expected) throw new ProtoError(`${r.what}: field '${name}' has wire type ${wire}, expected ${expected}`);
}

/** A repeated varint field, packed (wire type 2) or not, appended to `out` as BigInt (unsigned 64-bit). */
export function repeatedVarint(r: ProtoReader, wire: number, out: bigint[], name: string): void {
  if (wire === VARINT) {
    out.push(r.varint());
    return;
  }
  expectWire(r, wire, LEN, name);
  const inner = new ProtoReader(r.bytes(), `${r.what}.${name}`);
  while (!inner.done) out.push(inner.varint());
}

/** A repeated fixed-size field (float, double, fixed64), packed or not, appended to `out` as raw little-endian chunks. */
export function repeatedFixed(r: ProtoReader, wire: number, size: 4 | 8, out: Uint8Array[], name: string): void {
  if (wire === (size === 4 ? FIXED32 : FIXED64)) {
    out.push(r.fixed(size));
    return;
  }
  expectWire(r, wire, LEN, name);
  const b = r.bytes();
  if (b.length % size) throw new ProtoError(`${r.what}: packed field '${name}' has ${b.length} bytes, not a multiple of ${size}`);
  out.push(b);
}
