/** The check every options object gets: unknown (misspelt) keys are a TypeError naming them, with "did you mean". */

/**
 * Throws a TypeError naming every own key of `options` that `known` lacks, with "did you mean" for those within a
 * small edit distance of a known one (a misspelt option would otherwise be ignored silently). `aliases` maps names
 * too far from ours for the edit distance (another library's) to the known name they mean.
 */
export function checkKnownKeys(options: object, known: readonly string[], where: string, aliases: Readonly<Record<string, string>> = {}): void {
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length === 0) return;
  const parts = unknown.map((k) => {
    const near = Object.prototype.hasOwnProperty.call(aliases, k) && known.includes(aliases[k]) ? aliases[k] : closest(k, known);
    return near === undefined ? `'${k}'` : `'${k}' (did you mean '${near}'?)`;
  });
  throw new TypeError(`${where}: unknown option${unknown.length > 1 ? 's' : ''} ${parts.join(', ')}; known: ${known.join(', ')}`);
}

/** The known name nearest to `key` when close enough to be a typo: edit distance at most 1 + a third of its length. */
export function closest(key: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lower = key.toLowerCase();
  for (const n of names) {
    const d = editDistance(lower, n.toLowerCase());
    if (d < bestD) [best, bestD] = [n, d];
  }
  return bestD <= 1 + Math.floor(key.length / 3) ? best : undefined;
}

/** Levenshtein distance (insertions, deletions, substitutions), two rows at a time. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
