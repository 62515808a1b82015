/** TFRecord framing: uint64 length, masked CRC-32C of the length, the data, masked CRC-32C of the data (little-endian). */
import { TorchError } from '../../errors';
import { maskedCrc32c } from '../../io/crc32c';

/** Frames one record's data as TFRecord bytes. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Splits TFRecord bytes into the records' data, checking both CRCs; `where` names the file in errors (ERR_EVENT_FILE). */
export function readRecords(bytes: Uint8Array, where: string): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let o = 0;
  const bad = (why: string) => new TorchError(`${where}: not a valid event file: ${why} at byte ${o}`, { code: 'ERR_EVENT_FILE' });
  while (o < bytes.length) {
    if (o + 12 > bytes.length) throw bad('a record header is cut short');
    const len = view.getBigUint64(o, true);
    if (view.getUint32(o + 8, true) !== maskedCrc32c(bytes.subarray(o, o + 8))) throw bad('the length CRC does not match');
    if (len > BigInt(bytes.length - o - 16)) throw bad(`a record of ${len} bytes runs past the end of the file`);
    const n = Number(len);
    const data = bytes.subarray(o + 12, o + 12 + n);
    if (view.getUint32(o + 12 + n, true) !== maskedCrc32c(data)) throw bad('the data CRC does not match');
    out.push(data);
    o += 16 + n;
  }
  return out;
}
