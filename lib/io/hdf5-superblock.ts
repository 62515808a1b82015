/**
 * The HDF5 superblock's driver record: files written with the family or split/multi drivers keep their data in
 * several files, which torchgraft refuses up front with a clear message (the sandbox keeps HDF5 on one file anyway).
 */

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Where the superblock starts: offset 0, 512, 1024, 2048, ... (a user block may precede it); -1 when absent. */
export function superblockOffset(bytes: Uint8Array): number {
  for (let at = 0; at + 8 <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (SIGNATURE.every((b, i) => bytes[at + i] === b)) return at;
  }
  return -1;
}

function readAddress(bytes: Uint8Array, at: number, size: number): bigint | undefined {
  if (at + size > bytes.length) return undefined;
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
  // All ones is HDF5's "undefined address".
  return v === (1n << BigInt(size * 8)) - 1n ? undefined : v;
}

/**
 * The driver name recorded in a version 2/3 superblock's extension: the driver info message (type 0x14) in the
 * first chunk of the extension's object header ('OHDR'), or undefined when there is none.
 */
function extensionDriver(bytes: Uint8Array, base: number): string | undefined {
  const offsetSize = bytes[base + 9];
  if (![2, 4, 8].includes(offsetSize)) return undefined;
  const baseAddress = readAddress(bytes, base + 12, offsetSize) ?? 0n;
  const extension = readAddress(bytes, base + 12 + offsetSize, offsetSize);
  if (extension === undefined) return undefined;
  let at = Number(baseAddress + extension);
  if (!Number.isSafeInteger(at) || at + 6 > bytes.length) return undefined;
  if (String.fromCharCode(...bytes.subarray(at, at + 4)) !== 'OHDR' || bytes[at + 4] !== 2) return undefined;
  const flags = bytes[at + 5];
  at += 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
  const sizeBytes = 1 << (flags & 3);
  if (at + sizeBytes > bytes.length) return undefined;
  let chunk = 0;
  for (let i = sizeBytes - 1; i >= 0; i--) chunk = chunk * 256 + bytes[at + i];
  at += sizeBytes;
  const end = Math.min(bytes.length, at + chunk);
  // Messages: type (1), size (2), flags (1), creation order (2, when the header tracks it), data.
  while (at + 4 <= end) {
    const type = bytes[at];
    const size = bytes[at + 1] | (bytes[at + 2] << 8);
    at += 4 + (flags & 0x04 ? 2 : 0);
    // Driver info message: version (1), then the 8-character driver name.
    if (type === 0x14) return at + 9 <= end ? String.fromCharCode(...bytes.subarray(at + 1, at + 9)) : 'an unreadable driver record';
    at += size;
  }
  return undefined;
}

/**
 * The file driver a file records (`'NCSAfami'`, `'NCSAmult'`): in a version 0/1 superblock's driver information
 * block or a version 2/3 superblock's extension; undefined when it records none (the default single-file driver).
 */
export function recordedDriver(bytes: Uint8Array): string | undefined {
  const base = superblockOffset(bytes);
  if (base < 0) return undefined;
  const version = bytes[base + 8];
  if (version === 2 || version === 3) return extensionDriver(bytes, base);
  if (version !== 0 && version !== 1) return undefined;
  const offsetSize = bytes[base + 13];
  if (![2, 4, 8].includes(offsetSize)) return undefined;
  // Fixed fields: 24 bytes in version 0, 28 in version 1 (indexed storage K and reserved); then base, free-space,
  // end-of-file and driver-information addresses.
  const addresses = base + (version === 0 ? 24 : 28);
  const baseAddress = readAddress(bytes, addresses, offsetSize) ?? 0n;
  const driverInfo = readAddress(bytes, addresses + 3 * offsetSize, offsetSize);
  if (driverInfo === undefined) return undefined;
  const at = Number(baseAddress + driverInfo);
  // Driver information block: version, 3 reserved bytes, 4-byte size, then the 8-character driver name.
  if (!Number.isSafeInteger(at) || at + 16 > bytes.length) return 'an unreadable driver record';
  return String.fromCharCode(...bytes.subarray(at + 8, at + 16));
}

/** A description of the multi-file driver a file was written with, or undefined for a single-file one. */
export function multiFileDriver(bytes: Uint8Array): string | undefined {
  const name = recordedDriver(bytes);
  if (name === undefined) return undefined;
  if (name.startsWith('NCSAfami')) return "the 'family' driver (its data continues in sibling files)";
  if (name.startsWith('NCSAmult')) return "the 'split'/'multi' driver (its metadata and raw data live in separate files)";
  return `an unknown file driver ('${name.replace(/[^\x20-\x7e]/g, '?')}')`;
}
