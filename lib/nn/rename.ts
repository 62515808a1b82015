/** Key renaming for state dicts written under other names (`dense_1.kernel` -> `hidden1.weight`). */

/**
 * How to rename keys: a map of prefixes (`{ 'dense_1.': 'hidden1.' }`, longest prefix wins), a list of
 * [RegExp, replacement] pairs applied in order, or a function (return undefined to keep the key).
 */
export type RenameRules = Record<string, string> | ReadonlyArray<readonly [RegExp, string]> | ((key: string) => string | undefined);

/** Turns rules into a function from an old key to a new one. */
export function compileRename(rules: RenameRules | undefined): (key: string) => string {
  if (rules === undefined) return (k) => k;
  if (typeof rules === 'function') return (k) => rules(k) ?? k;
  if (Array.isArray(rules)) {
    const pairs = rules as ReadonlyArray<readonly [RegExp, string]>;
    for (const p of pairs) {
      if (!Array.isArray(p) || !(p[0] instanceof RegExp) || typeof p[1] !== 'string')
        throw new TypeError('rename: expected [RegExp, replacement] pairs');
    }
    return (k) => pairs.reduce((acc, [re, rep]) => acc.replace(re, rep), k);
  }
  if (rules && typeof rules === 'object') {
    const entries = Object.entries(rules as Record<string, string>).sort((a, b) => b[0].length - a[0].length);
    for (const [, v] of entries) if (typeof v !== 'string') throw new TypeError('rename: map values must be strings');
    return (k) => {
      for (const [from, to] of entries) if (k.startsWith(from)) return to + k.slice(from.length);
      return k;
    };
  }
  throw new TypeError('rename: expected a prefix map, [RegExp, replacement] pairs or a function');
}
