/** Same/different pairs and triplets drawn from labelled data, for siamese towers. */
import type { Tensor } from '../../tensor';
import { tensor } from '../../creation';

/** A small seeded generator (mulberry32): pair sampling must not depend on LibTorch's generator state. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function byLabel(y: Tensor): Map<number, number[]> {
  const groups = new Map<number, number[]>();
  (y.toArray() as number[]).forEach((label, i) => {
    const g = groups.get(Number(label)) ?? [];
    g.push(i);
    groups.set(Number(label), g);
  });
  if (groups.size < 2) throw new RangeError('pairs: need at least two labels');
  return groups;
}

const pick = <T>(r: () => number, a: T[]): T => a[Math.floor(r() * a.length)];

/**
 * `n` pairs of rows of `x`, half of the same label and half of different labels, in random order.
 * @returns `a`, `b` (rows of x) and `same` (float 1 or 0, shape [n]); the caller owns them.
 */
export function makePairs(x: Tensor, y: Tensor, n: number, options: { seed?: number } = {}): { a: Tensor; b: Tensor; same: Tensor } {
  const r = rng(options.seed ?? 0);
  const groups = byLabel(y);
  const labels = [...groups.keys()];
  const ia: number[] = [], ib: number[] = [], same: number[] = [];
  for (let i = 0; i < n; i++) {
    const l1 = pick(r, labels);
    const isSame = r() < 0.5;
    let l2 = l1;
    while (!isSame && l2 === l1) l2 = pick(r, labels);
    ia.push(pick(r, groups.get(l1)!));
    ib.push(pick(r, groups.get(l2)!));
    same.push(isSame ? 1 : 0);
  }
  const idx = (v: number[]) => tensor(v, { dtype: 'int64' });
  const [ta, tb] = [idx(ia), idx(ib)];
  try {
    return { a: x.indexSelect(0, ta), b: x.indexSelect(0, tb), same: tensor(same, { dtype: 'float32' }) };
  } finally {
    ta.dispose();
    tb.dispose();
  }
}

/** `n` triplets: an anchor, a positive of its label and a negative of another label (rows of x). */
export function makeTriplets(x: Tensor, y: Tensor, n: number, options: { seed?: number } = {}): { anchor: Tensor; positive: Tensor; negative: Tensor } {
  const r = rng(options.seed ?? 0);
  const groups = byLabel(y);
  const labels = [...groups.keys()];
  const a: number[] = [], p: number[] = [], q: number[] = [];
  for (let i = 0; i < n; i++) {
    const l1 = pick(r, labels);
    let l2 = l1;
    while (l2 === l1) l2 = pick(r, labels);
    a.push(pick(r, groups.get(l1)!));
    p.push(pick(r, groups.get(l1)!));
    q.push(pick(r, groups.get(l2)!));
  }
  const sel = (v: number[]) => {
    const i = tensor(v, { dtype: 'int64' });
    try {
      return x.indexSelect(0, i);
    } finally {
      i.dispose();
    }
  };
  return { anchor: sel(a), positive: sel(p), negative: sel(q) };
}
