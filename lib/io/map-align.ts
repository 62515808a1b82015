/**
 * The ordering and alignment behind `io.proposeMapping`: natural name order, PyTorch's variable order inside a layer,
 * and an order-preserving alignment that also tells which pairs every best alignment shares (the others are ambiguous).
 */

const prefixOf = (name: string) => name.slice(0, Math.max(0, name.lastIndexOf('.')));
const kindOf = (name: string) => name.slice(name.lastIndexOf('.') + 1);

/** Compares names with digit runs as numbers: `block_2` before `block_10` (a plain sort puts `block_10` first). */
export function naturalCompare(a: string, b: string): number {
  const ca = a.match(/\d+|\D+/g) ?? [];
  const cb = b.match(/\d+|\D+/g) ?? [];
  for (let k = 0; k < Math.min(ca.length, cb.length); k++) {
    const x = ca[k];
    const y = cb[k];
    if (x === y) continue;
    const dx = /^\d/.test(x);
    const dy = /^\d/.test(y);
    if (dx && dy) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return ca.length - cb.length;
}

/**
 * Whether names are in plain code-unit order by layer (the part before the last dot, over at least three layers):
 * then their order says nothing beyond the names. A TF.js manifest sorts its weights so (`block_10_` before `block_1_`),
 * and converting `beta`, `gamma` to `bias`, `weight` reorders only inside a layer.
 */
export function isNameSorted(names: readonly string[]): boolean {
  const layers = names.map(prefixOf).filter((p, k, all) => k === 0 || p !== all[k - 1]);
  return layers.length > 2 && layers.every((p, k) => k === 0 || layers[k - 1] < p);
}

const RANK: Record<string, number> = { weight: 0, bias: 1, running_mean: 2, running_var: 3, num_batches_tracked: 4 };

/**
 * Puts each run of names of one layer (same prefix) in PyTorch's order (weight, bias, running_mean, running_var),
 * as a module lists them; a run with another variable name is left as it is. TF.js manifests sort a layer's
 * variables by name (`beta` before `gamma`, `bias` before `kernel`).
 */
export function pytorchVariableOrder(names: readonly string[]): string[] {
  const out: string[] = [];
  let k = 0;
  while (k < names.length) {
    let end = k + 1;
    while (end < names.length && prefixOf(names[end]) === prefixOf(names[k])) end++;
    const run = names.slice(k, end);
    if (run.every((n) => RANK[kindOf(n)] !== undefined)) run.sort((x, y) => RANK[kindOf(x)] - RANK[kindOf(y)]);
    out.push(...run);
    k = end;
  }
  return out;
}

/** One aligned pair and the other pairs some equally good alignment makes instead (sharing `i` or `j`). */
export interface AlignedPair {
  i: number;
  j: number;
  /** Other [i, j] cells on a best alignment that conflict with this pair; empty when every best alignment has it. */
  rivals: [number, number][];
}

// Two Int32 tables of this many cells are 32 MB; beyond, a greedy walk in order (its pairs are not checked for rivals).
const MAX_ALIGN_CELLS = 4_000_000;

/**
 * Order-preserving alignment of two index lists maximising the summed score (a weighted longest common subsequence).
 * `score` is a small non-negative integer (0: cannot pair). Each pair lists its rivals: the cells of other best
 * alignments that take its `i` or its `j`. `exact` is false when the lists were too long and a greedy walk was used.
 */
export function align(as: number[], bs: number[], score: (i: number, j: number) => number): { pairs: AlignedPair[]; exact: boolean } {
  const n = as.length;
  const m = bs.length;
  if (n * m > MAX_ALIGN_CELLS) {
    // Greedy in order: each model entry takes the next unused foreign tensor it can pair with.
    const pairs: AlignedPair[] = [];
    let from = 0;
    for (const j of bs)
      for (let k = from; k < n; k++)
        if (score(as[k], j) > 0) {
          pairs.push({ i: as[k], j, rivals: [] });
          from = k + 1;
          break;
        }
    return { pairs, exact: false };
  }
  const w = m + 1;
  const back = new Int32Array((n + 1) * w); // best score of the suffixes from (i, j)
  const fwd = new Int32Array((n + 1) * w); // best score of the prefixes before (i, j)
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) {
      const s = score(as[i], bs[j]);
      back[i * w + j] = Math.max(back[(i + 1) * w + j], back[i * w + j + 1], s > 0 ? s + back[(i + 1) * w + j + 1] : 0);
    }
  for (let i = 1; i <= n; i++)
    for (let j = 1; j <= m; j++) {
      const s = score(as[i - 1], bs[j - 1]);
      fwd[i * w + j] = Math.max(fwd[(i - 1) * w + j], fwd[i * w + j - 1], s > 0 ? s + fwd[(i - 1) * w + j - 1] : 0);
    }
  const best = back[0];
  // A cell lies on some best alignment when the best before it, its score and the best after it add up to the best.
  const onBest = (i: number, j: number) => {
    const s = score(as[i], bs[j]);
    return s > 0 && fwd[i * w + j] + s + back[(i + 1) * w + j + 1] === best;
  };
  const pairs: AlignedPair[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    const s = score(as[i], bs[j]);
    if (s > 0 && back[i * w + j] === s + back[(i + 1) * w + j + 1]) {
      const rivals: [number, number][] = [];
      for (let y = 0; y < m; y++) if (y !== j && onBest(i, y)) rivals.push([as[i], bs[y]]);
      for (let x = 0; x < n; x++) if (x !== i && onBest(x, j)) rivals.push([as[x], bs[j]]);
      pairs.push({ i: as[i], j: bs[j], rivals });
      i++;
      j++;
    } else if (back[i * w + j] === back[(i + 1) * w + j]) i++;
    else j++;
  }
  return { pairs, exact: true };
}
