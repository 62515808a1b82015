/** tg.randperm: a random permutation of 0..n-1 with torch.randperm's values for the same generator state. */
import { binding } from './native';
import type { DType, Device } from './dtype';
import { isDType } from './dtype';
import type { Tensor } from './tensor';
import { tensor } from './creation';
import { checkDevice } from './device';
import { Generator, defaultGenerator } from './generator';

/** Options of `randperm`. */
export interface RandpermOptions {
  /** The generator to draw from (default: the global one, `tg.manualSeed`). */
  generator?: Generator;
  /** int64 by default; any integer or floating dtype that holds n - 1 exactly. */
  dtype?: DType;
  /** Where the result goes; it is always drawn on the CPU generator. */
  device?: Device | string;
  requiresGrad?: boolean;
}

// PyTorch's CPU randperm swaps with generator->random() % (n - i) below this n and switches to random64() above it.
const MAX_N = Math.floor(0xffffffff / 20);
// The largest n whose values 0..n-1 a dtype holds exactly.
const LIMITS: Partial<Record<DType, number>> = {
  uint8: 256, int8: 128, int16: 32768, int32: 2 ** 31, int64: MAX_N,
  float16: 2049, bfloat16: 257, float32: 2 ** 24 + 1, float64: MAX_N,
};

/**
 * Raw 32-bit draws of the generator, one per element: `randint(0, 2^32 - 1)` maps each draw r to r mod (2^32 - 1), so
 * a 0 is either 0 or 2^32 - 1. Those (about one in 2^31 draws) are told apart by drawing again from the same state
 * modulo 2^32 - 2, where 2^32 - 1 gives 1 and 0 gives 0; both draws leave the generator in the same state.
 */
export function rawDraws(count: number): Float64Array {
  const before = binding.rngGetState();
  try {
    const drawn = binding.randint(0, 0xffffffff, [count], 'float64');
    const raw = drawn.dataSync() as Float64Array;
    drawn.dispose();
    if (raw.includes(0)) {
      binding.rngSetState(before);
      const again = binding.randint(0, 0xfffffffe, [count], 'float64');
      resolveZeros(raw, again.dataSync() as Float64Array);
      again.dispose();
    }
    return raw;
  } finally {
    before.dispose();
  }
}

/** Where `first` (draws mod 2^32 - 1) is 0, `second` (the same draws mod 2^32 - 2) says whether the draw was 0 or 2^32 - 1. */
export function resolveZeros(first: Float64Array, second: Float64Array): void {
  for (let i = 0; i < first.length; i++) if (first[i] === 0 && second[i] === 1) first[i] = 0xffffffff;
}

/**
 * A random permutation of 0..n-1, as `torch.randperm(n, generator=g, dtype=..., device=...)`: the same Fisher-Yates swaps
 * on the same 32-bit draws, so after `tg.manualSeed(s)` (or `new tg.Generator().manualSeed(s)`) it gives the values
 * PyTorch gives after `torch.manual_seed(s)`, and leaves the generator where PyTorch leaves it. The draws come from the
 * CPU generator whatever the device (PyTorch's CUDA randperm draws from the CUDA generator, so its values differ).
 * @example tg.manualSeed(0); tg.randperm(5)   // tensor([4, 0, 1, 3, 2]), as torch.randperm(5) after torch.manual_seed(0)
 * @throws TypeError for a bad option; RangeError for n that is not an integer in [0, 214748364] or that the dtype
 *   cannot hold.
 */
export function randperm(n: number, opts: RandpermOptions = {}): Tensor {
  if (opts === null || typeof opts !== 'object') throw new TypeError('randperm(): options must be an object such as { generator, dtype, device }');
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_N)
    throw new RangeError(`randperm(): n must be an integer in [0, ${MAX_N}] (PyTorch changes algorithm above it), got ${String(n)}`);
  const dtype = opts.dtype ?? 'int64';
  if (!isDType(dtype) || dtype === 'bool') throw new TypeError(`randperm(): dtype must be an integer or floating dtype, got '${String(dtype)}'`);
  if (n > (LIMITS[dtype] ?? 0)) throw new RangeError(`randperm(): n = ${n} is too large for dtype ${dtype}`);
  const generator = opts.generator ?? defaultGenerator;
  if (!(generator instanceof Generator)) throw new TypeError('randperm(): generator must be a tg.Generator');
  const device = opts.device === undefined ? undefined : checkDevice(opts.device, 'randperm()');
  const perm = new Float64Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  // PyTorch draws nothing for n < 2
  if (n >= 2) {
    const raw = generator.draw(() => rawDraws(n - 1));
    for (let i = 0; i < n - 1; i++) {
      const z = (raw[i] % (n - i)) + i;
      const t = perm[i];
      perm[i] = perm[z];
      perm[z] = t;
    }
  }
  return tensor(perm, { dtype, device, requiresGrad: opts.requiresGrad });
}
