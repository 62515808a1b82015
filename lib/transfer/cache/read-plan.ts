/** How an epoch over a disk cache reads its file: the batches, and whether whole blocks fit a bounded buffer or rows must be read. */

/** An epoch's reads. */
export interface ReadPlan {
  /** The rows of each batch, in order. */
  batches: number[][];
  /** 'blocks': every block the epoch needs is read whole, once; 'rows': each batch's rows are read in runs. */
  mode: 'blocks' | 'rows';
  /** Per block: the first and last batch that needs it (-1: none). */
  firstUse: Int32Array;
  lastUse: Int32Array;
  /** The blocks the epoch needs, in the order of their first use. */
  blockOrder: number[];
  /** The most blocks some batch's reads keep alive at once (needed from an earlier batch to a later one). */
  maxLive: number;
}

/**
 * Plans an epoch over `order`: whole blocks when at most `maxBlocks` blocks are ever needed at once (an order in
 * file order or block-shuffled), else rows (a uniform shuffle would need nearly every block at once).
 */
export function planReads(order: number[], batchSize: number, dropLast: boolean, blockRows: number, blocks: number, maxBlocks: number): ReadPlan {
  const end = dropLast ? order.length - (order.length % batchSize) : order.length;
  const batches: number[][] = [];
  for (let s = 0; s < end; s += batchSize) batches.push(order.slice(s, Math.min(end, s + batchSize)));
  const firstUse = new Int32Array(blocks).fill(-1);
  const lastUse = new Int32Array(blocks).fill(-1);
  const blockOrder: number[] = [];
  for (const [i, rows] of batches.entries())
    for (const r of rows) {
      const b = Math.floor(r / blockRows);
      if (firstUse[b] < 0) {
        firstUse[b] = i;
        blockOrder.push(b);
      }
      lastUse[b] = i;
    }
  // blocks alive during batch i: first use <= i <= last use; a sweep over the batches counts them
  const delta = new Int32Array(batches.length + 1);
  for (const b of blockOrder) {
    delta[firstUse[b]]++;
    delta[lastUse[b] + 1]--;
  }
  let live = 0;
  let maxLive = 0;
  for (let i = 0; i < batches.length; i++) maxLive = Math.max(maxLive, (live += delta[i]));
  return { batches, mode: maxLive <= maxBlocks ? 'blocks' : 'rows', firstUse, lastUse, blockOrder, maxLive };
}
