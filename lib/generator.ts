/** tg.Generator: LibTorch's CPU random generator as torch.Generator (the default one, or a private one) and tg.manualSeed. */
import { randomInt } from 'node:crypto';
import { binding } from './native';
import type { Tensor } from './tensor';
import { isTensor } from './tensor';

function checkSeed(seed: unknown, fn: string): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new TypeError(`${fn}: seed must be an integer, got ${String(seed)}`);
  return seed;
}

function checkState(state: unknown, fn: string): Tensor {
  if (!isTensor(state) || state.dtype !== 'uint8' || state.device !== 'cpu' || state.ndim !== 1)
    throw new TypeError(`${fn}: a generator state is a 1-D uint8 CPU tensor as getState() returns`);
  return state;
}

/** The CPU state a generator seeded with `seed` has; the global generators (CPU and CUDA) are left as they were. */
function seededState(seed: number): Tensor {
  const saved = binding.rngGetState();
  const savedCuda = binding.rngGetCudaStates();
  try {
    binding.manualSeed(seed);
    return binding.rngGetState();
  } finally {
    binding.rngSetState(saved);
    if (savedCuda.length) binding.rngSetCudaStates(savedCuda);
    for (const t of [saved, ...savedCuda]) t.dispose();
  }
}

// The state's first 8 bytes are LibTorch's the_initial_seed (uint64, little-endian) in every version since 1.5.
function seedOf(state: Tensor): number | bigint {
  const bytes = state.dataSync() as Uint8Array;
  const seed = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  return seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seed) : seed;
}

/**
 * A CPU random generator, as `torch.Generator`. `tg.defaultGenerator` (what `tg.manualSeed` returns) is LibTorch's
 * global one, which `tg.rand`, `tg.randn`, dropout and the random transforms draw from. `new tg.Generator()` is a
 * private one: functions that take `{ generator }` (`tg.randperm`) draw from it without moving the global stream,
 * with the values `torch.Generator()` gives for the same seed.
 * @example const g = new tg.Generator().manualSeed(3); tg.randperm(10, { generator: g })
 */
export class Generator {
  /** Always 'cpu': CUDA generators are seeded by `tg.manualSeed` but not exposed. */
  readonly device = 'cpu';
  /** Undefined for the default generator; a private generator's state between draws. */
  #state: Tensor | undefined;

  /** A private CPU generator seeded as `torch.Generator()` is: with LibTorch's default seed, 67280421310721. */
  constructor() {
    if (!isConstructingDefault) this.#replace(seededState(67280421310721));
  }

  /** Whether this is LibTorch's global generator. */
  get isDefault(): boolean {
    return this.#state === undefined;
  }

  /**
   * Seeds this generator (the default one: CPU and every CUDA device, as `torch.manual_seed`); returns it.
   * @throws TypeError unless seed is an integer; RangeError outside int64 (negative seeds wrap to uint64, as in PyTorch).
   */
  manualSeed(seed: number): this {
    checkSeed(seed, 'Generator.manualSeed()');
    if (this.#state === undefined) binding.manualSeed(seed);
    else this.#replace(seededState(seed));
    return this;
  }

  /** Seeds it from the operating system's randomness, as `torch.Generator.seed()`, and returns the seed. */
  seed(): number {
    const s = randomInt(0, 2 ** 48 - 1);
    this.manualSeed(s);
    return s;
  }

  /** The seed it was last seeded with, as `initial_seed()`: a number, or a bigint above 2^53 (a negative seed wraps to uint64). */
  initialSeed(): number | bigint {
    if (this.#state !== undefined) return seedOf(this.#state);
    const state = binding.rngGetState();
    try {
      return seedOf(state);
    } finally {
      state.dispose();
    }
  }

  /** A copy of its state (a uint8 tensor the caller owns), as `get_state()`. */
  getState(): Tensor {
    return this.#state === undefined ? binding.rngGetState() : this.#state.clone();
  }

  /**
   * Restores a state `getState()` returned (the tensor stays the caller's); returns this generator.
   * @throws TypeError for anything but a 1-D uint8 CPU tensor; LibTorch's error for a state of the wrong size.
   */
  setState(state: Tensor): this {
    checkState(state, 'Generator.setState()');
    if (this.#state === undefined) binding.rngSetState(state);
    else {
      // LibTorch validates the state: set it on the global generator and read it back, then restore the global one
      this.#replace(this.draw(() => {
        binding.rngSetState(state);
        return binding.rngGetState();
      }));
    }
    return this;
  }

  /**
   * Runs `fn`, which draws from LibTorch's global CPU generator, as a draw from this generator: a private generator's
   * state is swapped in for the call and out after it. Synchronous, on the JavaScript thread.
   */
  draw<T>(fn: () => T): T {
    if (this.#state === undefined) return fn();
    const saved = binding.rngGetState();
    try {
      binding.rngSetState(this.#state);
      const result = fn();
      this.#replace(binding.rngGetState());
      return result;
    } finally {
      binding.rngSetState(saved);
      saved.dispose();
    }
  }

  #replace(state: Tensor): void {
    binding.keep(state);
    this.#state?.dispose();
    this.#state = state;
  }
}

let isConstructingDefault = true;
/** LibTorch's global CPU generator, as `torch.default_generator`. */
export const defaultGenerator = new Generator();
isConstructingDefault = false;

/**
 * Seeds every random generator (CPU and CUDA) for reproducible runs, as `torch.manual_seed`, and returns the default
 * generator.
 * @throws TypeError unless seed is an integer; RangeError outside int64.
 */
export function manualSeed(seed: number): Generator {
  return defaultGenerator.manualSeed(seed);
}
