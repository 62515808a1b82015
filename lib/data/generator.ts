/**
 * The seeded generator behind shuffling: xoshiro128** (Blackman and Vigna, 2018), its 128-bit state filled
 * by SplitMix32 from a 32-bit seed. Pure JavaScript, so an order depends only on (seed, epoch), not on
 * LibTorch's version or device; permutations are Fisher-Yates with unbiased bounded draws.
 */

// SplitMix32 (a 32-bit variant of Steele, Lea and Flood's SplitMix): spreads one seed over the state words.
function splitMix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A small, fast, seedable generator of 32-bit integers (xoshiro128**), for reproducible shuffles.
 * @example new tg.data.Generator(42).permutation(5); // the same order on every machine
 */
export class Generator {
  private readonly s = new Uint32Array(4);

  /** Seeds from one or more integers (e.g. a seed and an epoch), each mixed in by SplitMix32. */
  constructor(...seeds: number[]) {
    if (seeds.length === 0) throw new TypeError('Generator: expected a seed');
    let h = 0x6a09e667; // any fixed start; each seed is folded in through one SplitMix32 step
    for (const seed of seeds) {
      if (!Number.isFinite(seed)) throw new TypeError(`Generator: seed must be a finite number, got ${String(seed)}`);
      const high = Math.imul(Math.floor(seed / 2 ** 32) | 0, 0x9e3779b1);
      h = splitMix32({ s: (h ^ (seed >>> 0) ^ high) | 0 });
    }
    const st = { s: h | 0 };
    for (let i = 0; i < 4; i++) this.s[i] = splitMix32(st);
    // xoshiro's one forbidden state; SplitMix32 cannot give four zeros in a row, but guard anyway
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** A float uniform on [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** An integer uniform on [0, n), without modulo bias (rejection sampling), for 1 <= n <= 2^32. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError(`Generator.nextInt: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n); // draws at or above limit would favour small results
    let x: number;
    do x = this.nextUint32();
    while (x >= limit);
    return x % n;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): number[] {
    const out = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
