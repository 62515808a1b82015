/** fastai's learning-rate suggestions (steep, minimum, valley) over a range test's smoothed loss curve. */

/** The rates fastai's `lr_find` suggests; undefined where the curve is too short. */
export interface LrSuggestions {
  /** The rate where the loss falls fastest: the most negative slope of the smoothed loss against log(lr) (fastai's `steep`). */
  steepest: number | undefined;
  /** A tenth of the rate at the lowest smoothed loss (fastai's `minimum`). */
  minimum: number | undefined;
  /** About half way into the longest descending stretch of the curve (fastai's `valley`, its default since 2.5). */
  valley: number | undefined;
}

/**
 * Suggestions as fastai computes them: over the curve without its first steps/10 points and its last 5 (when that
 * leaves at least 3), cut at the first non-finite loss.
 */
export function lrSuggestions(allLrs: number[], allLosses: number[], steps: number): LrSuggestions {
  let lrs = allLrs;
  let losses = allLosses;
  const from = Math.floor(steps / 10);
  if (allLosses.length - 5 - from >= 3) {
    lrs = allLrs.slice(from, -5);
    losses = allLosses.slice(from, -5);
  }
  const bad = losses.findIndex((l) => !Number.isFinite(l));
  if (bad >= 0) {
    lrs = lrs.slice(0, bad);
    losses = losses.slice(0, bad);
  }
  if (losses.length === 0) return { steepest: undefined, minimum: undefined, valley: undefined };
  return { steepest: steep(lrs, losses), minimum: lrs[argmin(losses)] / 10, valley: valley(lrs, losses) };
}

function argmin(v: number[]): number {
  let k = 0;
  for (let i = 1; i < v.length; i++) if (v[i] < v[k]) k = i;
  return k;
}

// fastai: grads = (losses[1:]-losses[:-1]) / (lrs[1:].log()-lrs[:-1].log()); lrs[grads.argmin()]
function steep(lrs: number[], losses: number[]): number | undefined {
  if (losses.length < 2) return undefined;
  const grads = losses.slice(1).map((l, i) => (l - losses[i]) / (Math.log(lrs[i + 1]) - Math.log(lrs[i])));
  return lrs[argmin(grads)];
}

// fastai's valley: the longest decreasing subsequence's span; the point at its start + 1/3 + 1/6 of its length.
function valley(lrs: number[], losses: number[]): number {
  const n = losses.length;
  let maxStart = 0;
  let maxEnd = 0;
  const lds = new Array<number>(n).fill(1);
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i] < losses[j] && lds[i] < lds[j] + 1) lds[i] = lds[j] + 1;
      if (lds[maxEnd] < lds[i]) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd];
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const idx = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
  // fastai indexes with Python's lrs[idx], where -1 (a start before the first point) is the last one.
  return lrs[idx < 0 ? idx + n : idx];
}
