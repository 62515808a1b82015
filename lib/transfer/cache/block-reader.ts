/**
 * Reads from an open disk cache file (format version 2): whole blocks checked against the trailer's CRC-32C, runs of
 * rows, and whole small fields, off the JavaScript thread (binding.readBlocks) or, for the synchronous Dataset path, on
 * it. Remembers which blocks were proven in this open, and closes the file only once no read is in flight.
 */
import { closeSync, readSync } from 'node:fs';
import type { DType } from '../../dtype';
import { fromTypedArray } from '../../creation';
import { TorchError } from '../../errors';
import { binding } from '../../native';
import type { Tensor } from '../../tensor';
import { blockCount, blockRowRange, blockSpan, DiskHeader } from './disk-layout';

/** The cache file's reads; `close()` defers closing the descriptor until the reads in flight have settled. */
export class BlockFile {
  /** Blocks of field 0 whose checksum was verified in this open (one bit each). */
  private readonly verified: Uint8Array;
  private inFlight = 0;
  private closing = false;
  private closed = false;
  readonly blocks: number;

  constructor(
    private readonly fd: number,
    readonly file: string,
    readonly header: DiskHeader,
  ) {
    this.blocks = blockCount(header.length, header.blockRows);
    this.verified = new Uint8Array(this.blocks);
  }

  /** The block holding row `r`. */
  blockOf(r: number): number {
    return Math.floor(r / this.header.blockRows);
  }

  /** Whether block `b` of the features was verified in this open. */
  isVerified(b: number): boolean {
    return this.verified[b] === 1;
  }

  /** Reads of the file that have not settled yet (0 once the file can close). */
  get pending(): number {
    return this.inFlight;
  }

  /** Whether the file was closed or asked to close. */
  get isClosed(): boolean {
    return this.closing;
  }

  private checkOpen(): void {
    if (this.closing) throw new TorchError('feature cache: the cache was disposed', { code: 'ERR_CACHE_DISPOSED' });
  }

  /** Counts a native read while it runs, so that close() waits for it. */
  private track(p: Promise<Tensor>): Promise<Tensor> {
    this.inFlight++;
    const settle = (): void => {
      if (--this.inFlight === 0 && this.closing) this.closeNow();
    };
    return p.then(
      (t) => {
        settle();
        if (this.closing) {
          t.dispose();
          throw new TorchError('feature cache: the cache was disposed while a read was in flight', { code: 'ERR_CACHE_DISPOSED' });
        }
        return t;
      },
      (e: unknown) => {
        settle();
        throw e;
      },
    );
  }

  /** Block `b` of the features (field 0), read whole in its stored dtype, its checksum verified natively off the JavaScript thread. */
  readBlock(b: number): Promise<Tensor> {
    this.checkOpen();
    const f = this.header.fields[0];
    const s = blockSpan(f, b, this.header.length, this.header.blockRows);
    const spans = new Float64Array([s.offset, s.bytes, this.header.crc[0][b]]);
    const [dtype, shape] = [f.dtype, [s.rows, ...f.shape]];
    return this.track(binding.readBlocks(this.fd, this.file, spans, dtype, shape)).then((t) => {
      this.verified[b] = 1;
      return t;
    });
  }

  /** Rows `indices` of the features, in that order, read off the JavaScript thread in runs of consecutive rows (unchecked: verify their blocks first). */
  readRows(indices: number[]): Promise<Tensor> {
    this.checkOpen();
    const f = this.header.fields[0];
    const spans: number[] = [];
    for (let j = 0; j < indices.length; ) {
      let run = 1;
      while (j + run < indices.length && indices[j + run] === indices[j] + run) run++;
      spans.push(f.offset + indices[j] * f.rowBytes, run * f.rowBytes, -1);
      j += run;
    }
    return this.track(binding.readBlocks(this.fd, this.file, Float64Array.from(spans), f.dtype, [indices.length, ...f.shape]));
  }

  /** Proves block `b` of the features on the JavaScript thread (read whole, CRC-32C), once per open. */
  verifySync(b: number): void {
    this.checkOpen();
    if (this.verified[b]) return;
    const f = this.header.fields[0];
    const s = blockSpan(f, b, this.header.length, this.header.blockRows);
    const buf = this.readExact(s.offset, s.bytes);
    this.checkCrc(buf, this.header.crc[0][b], s.offset);
    this.verified[b] = 1;
  }

  /** Rows `indices` of field `k` read on the JavaScript thread in runs of consecutive rows (unchecked), as `dtype`. */
  readRowsSync(k: number, indices: number[], dtype: DType): Tensor {
    this.checkOpen();
    const f = this.header.fields[k];
    const buf = Buffer.allocUnsafe(indices.length * f.rowBytes);
    for (let j = 0; j < indices.length; ) {
      let run = 1;
      while (j + run < indices.length && indices[j + run] === indices[j] + run) run++;
      this.readExact(f.offset + indices[j] * f.rowBytes, run * f.rowBytes, buf, j * f.rowBytes);
      j += run;
    }
    return toTensor(buf, f.dtype, [indices.length, ...f.shape], dtype);
  }

  /** Field `k` whole, every block's checksum verified (the small fields: labels), read at open. */
  readFieldSync(k: number): Tensor {
    this.checkOpen();
    const f = this.header.fields[k];
    const { length, blockRows } = this.header;
    const buf = this.readExact(f.offset, length * f.rowBytes);
    for (let b = 0; b < this.blocks; b++) {
      const { start, end } = blockRowRange(b, length, blockRows);
      this.checkCrc(buf.subarray(start * f.rowBytes, end * f.rowBytes), this.header.crc[k][b], f.offset + start * f.rowBytes);
    }
    return toTensor(buf, f.dtype, [length, ...f.shape], f.dtype);
  }

  private readExact(offset: number, bytes: number, into?: Buffer, at = 0): Buffer {
    const buf = into ?? Buffer.allocUnsafe(bytes);
    let done = 0;
    while (done < bytes) {
      const got = readSync(this.fd, buf, at + done, bytes - done, offset + done);
      if (got === 0)
        throw this.corrupt(`the file ended while reading ${bytes} bytes at offset ${offset}: it changed after it was opened`);
      done += got;
    }
    return buf;
  }

  private checkCrc(bytes: Uint8Array, want: number, offset: number): void {
    const got = binding.crc32c(bytes);
    if (got !== want) {
      const hex = (v: number): string => v.toString(16).padStart(8, '0');
      throw this.corrupt(`the ${bytes.byteLength} bytes at offset ${offset} fail their checksum (CRC-32C ${hex(got)}, the trailer says ${hex(want)}): the file is damaged`);
    }
  }

  /** ERR_CACHE_CORRUPT worded and carrying `path` as the native reads' errors are. */
  private corrupt(why: string): TorchError {
    return Object.assign(new TorchError(`feature cache: '${this.file}': ${why}`, { code: 'ERR_CACHE_CORRUPT' }), { path: this.file });
  }

  /** Closes the file now, or when the last read in flight settles. */
  close(): void {
    this.closing = true;
    if (this.inFlight === 0) this.closeNow();
  }

  private closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}

// fromTypedArray takes a TypedArray of the source dtype's element size; 16-bit floats travel as Int16Array.
function view(buf: Buffer, dtype: DType): NodeJS.TypedArray {
  const b = buf.buffer;
  const o = buf.byteOffset;
  switch (dtype) {
    case 'float64':
      return new Float64Array(b, o, buf.byteLength / 8);
    case 'int64':
      return new BigInt64Array(b, o, buf.byteLength / 8);
    case 'int32':
      return new Int32Array(b, o, buf.byteLength / 4);
    case 'float16':
    case 'bfloat16':
    case 'int16':
      return new Int16Array(b, o, buf.byteLength / 2);
    case 'int8':
      return new Int8Array(b, o, buf.byteLength);
    case 'uint8':
    case 'bool':
      return new Uint8Array(b, o, buf.byteLength);
    default:
      return new Float32Array(b, o, buf.byteLength / 4);
  }
}

function toTensor(buf: Buffer, stored: DType, shape: number[], dtype: DType): Tensor {
  return fromTypedArray(view(buf, stored), shape, stored === 'bool' ? 'uint8' : stored, dtype);
}
