/**
 * A pre-check of HDF5 local heaps ('HEAP' blocks): a heap whose data segment claims more bytes than the file holds makes
 * the HDF5 library grow its memory to gigabytes and take tens of seconds before it fails, so such a file is refused first.
 */
import { superblockOffset } from './hdf5-superblock';

function readUint(bytes: Uint8Array, at: number, size: number): bigint {
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
  return v;
}

/**
 * The first local heap whose data segment does not fit inside the file, as a message; undefined when all fit.
 * Only blocks laid out exactly as a version 0 local heap count ('HEAP', version 0, three zero bytes), so weight bytes
 * that happen to spell 'HEAP' are not mistaken for one unless every field agrees.
 */
export function oversizedLocalHeap(bytes: Uint8Array): string | undefined {
  const base = superblockOffset(bytes);
  if (base < 0 || bytes[base + 8] > 1) return undefined; // version 0/1 superblocks record the sizes read below
  const offsetSize = bytes[base + 13];
  const lengthSize = bytes[base + 14];
  if (![2, 4, 8].includes(offsetSize) || ![2, 4, 8].includes(lengthSize)) return undefined;
  const fileSize = BigInt(bytes.length);
  const undefinedAddress = (1n << BigInt(offsetSize * 8)) - 1n;
  for (let at = bytes.indexOf(0x48, base); at >= 0 && at + 8 + 2 * lengthSize + offsetSize <= bytes.length; at = bytes.indexOf(0x48, at + 1)) {
    if (bytes[at + 1] !== 0x45 || bytes[at + 2] !== 0x41 || bytes[at + 3] !== 0x50) continue; // 'HEAP'
    if (bytes[at + 4] !== 0 || bytes[at + 5] !== 0 || bytes[at + 6] !== 0 || bytes[at + 7] !== 0) continue;
    const size = readUint(bytes, at + 8, lengthSize);
    const address = readUint(bytes, at + 8 + 2 * lengthSize, offsetSize);
    if (size > fileSize || (address !== undefinedAddress && BigInt(base) + address + size > fileSize))
      return `a local heap at byte ${at} claims a ${size}-byte data segment at ${address}, past the file's ${bytes.length} bytes`;
  }
  return undefined;
}
