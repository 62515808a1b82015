// Seeded randomness for the structure-aware fuzzers: every mutant is a pure function of (seed, format, iteration).
'use strict';

/** mulberry32: a small seeded PRNG returning floats in [0, 1). */
function rng(seed) {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed for one mutant, mixed from the campaign seed, the format's name and the iteration (FNV-1a). */
function mutantSeed(seed, format, iteration) {
  let h = 0x811c9dc5;
  for (const c of `${seed}:${format}:${iteration}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

/** Helpers over one PRNG: integers, choices, and the boundary values parsers get wrong. */
function tools(rand) {
  const int = (n) => Math.floor(rand() * n);
  const pick = (a) => a[int(a.length)];
  const chance = (p) => rand() < p;
  // Sizes and counts at the edges: zero, one, off-by-one, sign bits, 2^31, 2^32, 2^53.
  const edge = (near = 1) =>
    pick([0, 1, -1, 2, near - 1, near + 1, near * 2, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53 + 2, 1e300, -(2 ** 31)]);
  return { rand, int, pick, chance, edge };
}

module.exports = { rng, mutantSeed, tools };
