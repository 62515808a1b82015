/** Block-shuffled orders: the seeded shuffle that lets a dataset stored in blocks be read a whole block at a time. */
import type { Generator } from './generator';

/**
 * A dataset that chooses its own shuffled order; a shuffling DataLoader asks it for each epoch's order (with the
 * generator seeded by (seed, epoch)) instead of drawing a uniform permutation. The order must be a permutation of
 * 0..length-1.
 */
export interface ShufflesItself {
  shuffledOrder(generator: Generator): number[];
}

/** Whether a dataset offers its own shuffled order. */
export function shufflesItself(v: unknown): v is ShufflesItself {
  return v !== null && typeof v === 'object' && typeof (v as ShufflesItself).shuffledOrder === 'function';
}

/**
 * A block-shuffled order of `length` rows stored in blocks of `blockRows` (the last block may be shorter): the
 * blocks are permuted, then walked in windows of `bufferBlocks` blocks, and the rows of each window are permuted
 * among themselves. Every row appears exactly once, and every block is needed by one window only, so a reader keeps
 * at most a window of blocks in memory and reads each block once, whole, per epoch.
 *
 * Randomness: this is not a uniform permutation. The rows of a batch come from at most `bufferBlocks` blocks (two
 * windows' worth where a batch straddles windows), so rows stored near each other tend to share batches; with
 * `bufferBlocks` >= the number of blocks it is uniform. Deterministic for a given generator state.
 * @example blockShuffledOrder(1000, 100, 4, new tg.data.Generator(seed, epoch))
 */
export function blockShuffledOrder(length: number, blockRows: number, bufferBlocks: number, generator: Generator): number[] {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`blockShuffledOrder: length must be a non-negative integer, got ${String(length)}`);
  if (!Number.isSafeInteger(blockRows) || blockRows < 1) throw new RangeError(`blockShuffledOrder: blockRows must be an integer >= 1, got ${String(blockRows)}`);
  if (!Number.isSafeInteger(bufferBlocks) || bufferBlocks < 1)
    throw new RangeError(`blockShuffledOrder: bufferBlocks must be an integer >= 1, got ${String(bufferBlocks)}`);
  if (generator === null || typeof generator !== 'object' || typeof generator.nextInt !== 'function')
    throw new TypeError('blockShuffledOrder: generator must be a tg.data.Generator');
  const blocks = generator.permutation(Math.ceil(length / blockRows));
  const out: number[] = new Array<number>(length);
  let at = 0;
  for (let w = 0; w < blocks.length; w += bufferBlocks) {
    const start = at;
    for (const b of blocks.slice(w, w + bufferBlocks)) for (let r = b * blockRows, end = Math.min(length, r + blockRows); r < end; r++) out[at++] = r;
    // Fisher-Yates over this window's rows only
    for (let i = at - 1; i > start; i--) {
      const j = start + generator.nextInt(i - start + 1);
      const t = out[i];
      out[i] = out[j];
      out[j] = t;
    }
  }
  return out;
}
