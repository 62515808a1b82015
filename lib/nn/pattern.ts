/** Name patterns over dotted names (`hidden[12].*`, /^layer4\./, a list, a predicate), shared by parameters(), freeze() and friends. */

/**
 * Selects dotted names. A string is a glob: `*` matches any run of characters (dots included), `?` one
 * character, `[12]` / `[a-c]` / `[!0]` a character class; a glob also selects everything under a matching
 * module path (`hidden1` selects `hidden1.weight`). A RegExp is tested against the whole dotted name.
 * An array selects what any of its patterns selects; a function decides by itself.
 * An unclosed or invalid character class (`hidden[12`, `[z-a]`) is a TypeError naming the glob.
 */
export type NamePattern = string | RegExp | readonly (string | RegExp)[] | ((name: string) => boolean);

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      while (glob[i + 1] === '*') i++;
      re += '.*';
    } else if (c === '?') re += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      // An unclosed class is almost always a typo ('hidden[12.*'): say so rather than match a literal '['.
      if (close < 0) throw new TypeError(`name pattern: unclosed '[' at position ${i} in glob '${glob}'`);
      let body = glob.slice(i + 1, close);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      re += '[' + (negate ? '^' : '') + body.replace(/[\\\]]/g, '\\$&') + ']';
      i = close;
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  try {
    // A glob naming a module also selects everything under it.
    return new RegExp(`^(?:${re})(?:\\..*)?$`);
  } catch (e) {
    // A class the RegExp engine refuses ('[z-a]'): the glob's fault, said in the glob's terms.
    throw new TypeError(`name pattern: invalid glob '${glob}': ${(e as Error).message}`, { cause: e });
  }
}

/** Compiles a pattern into a predicate on dotted names; throws a TypeError naming what was given otherwise. */
export function compilePattern(pattern: NamePattern): (name: string) => boolean {
  if (typeof pattern === 'function') return pattern;
  if (pattern instanceof RegExp) {
    // A fresh copy without the g/y flags: test() on those keeps state between calls.
    const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    return (name) => re.test(name);
  }
  if (typeof pattern === 'string') {
    const re = globToRegExp(pattern);
    return (name) => re.test(name);
  }
  if (Array.isArray(pattern)) {
    const parts = pattern.map((p) => {
      if (typeof p !== 'string' && !(p instanceof RegExp)) throw new TypeError(`name pattern: array items must be strings or RegExps, got ${describe(p)}`);
      return compilePattern(p);
    });
    return (name) => parts.some((f) => f(name));
  }
  throw new TypeError(`name pattern: expected a glob string, a RegExp, an array of them or a function, got ${describe(pattern)}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? (v as object).constructor?.name ?? 'an object' : typeof v;
}
