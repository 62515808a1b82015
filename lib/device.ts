/** The one check of device strings ('cpu', 'cuda', 'cuda:N') before any of them reaches the addon. */
import { binding } from './native';

// LibTorch stores a device index in a signed 8-bit integer (c10::DeviceIndex): a larger index would wrap.
const MAX_INDEX = 127;

function quote(s: string): string {
  return `'${s.length > 40 ? `${s.slice(0, 40)}...` : s}'`;
}

/**
 * Checks a device given by the user and returns it unchanged: `'cpu'`, `'cuda'` (the current GPU) or `'cuda:N'`.
 * Whether CUDA is present at all is left to the addon (TorchError `ERR_NO_CUDA`).
 * @param where the function named in the message (`to()`, `zeros()`).
 * @throws TypeError for a value that is not a device string or an unknown or malformed one (`'tpu'`, `'cuda:'`,
 *   `'cuda:1.5'`, `'cpu:0'`); RangeError for an index that is negative, above 127, or past the GPUs present.
 */
export function checkDevice(device: unknown, where: string): string {
  if (typeof device !== 'string') throw new TypeError(`${where}: device: expected a device name such as 'cpu' or 'cuda:0', got ${device === null ? 'null' : typeof device}`);
  const m = /^(cpu|cuda)(?::([^]*))?$/.exec(device);
  if (!m) throw new TypeError(`${where}: invalid device ${quote(device)}: the devices are 'cpu', 'cuda' and 'cuda:N' (the N-th GPU)`);
  const [, kind, index] = m;
  if (index === undefined) return device;
  if (kind === 'cpu') throw new TypeError(`${where}: invalid device ${quote(device)}: the CPU takes no index (use 'cpu')`);
  if (index === '') throw new TypeError(`${where}: invalid device ${quote(device)}: no index after ':' (use 'cuda' or 'cuda:N')`);
  if (/^-\d+$/.test(index)) throw new RangeError(`${where}: device index ${quote(index)} is negative: GPUs are numbered from 0 ('cuda:0')`);
  if (!/^\d+$/.test(index)) throw new TypeError(`${where}: invalid device ${quote(device)}: the index must be a whole number ('cuda:0', 'cuda:1', ...)`);
  // Compared as text first: '99999999999999999999' has no exact Number.
  const n = index.length > 3 ? Infinity : Number(index);
  if (n > MAX_INDEX) throw new RangeError(`${where}: device index ${quote(index)} is out of range: CUDA device indices go from 0 to ${MAX_INDEX}`);
  const count: number = binding.cudaIsAvailable() ? binding.cudaDeviceCount() : 0;
  if (count > 0 && n >= count)
    throw new RangeError(`${where}: device index ${n} is out of range: this machine has ${count} CUDA device${count === 1 ? '' : 's'} (cuda:0${count > 1 ? ` to cuda:${count - 1}` : ''})`);
  return device;
}
