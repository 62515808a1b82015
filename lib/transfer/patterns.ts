/** Name patterns that select parameters or layers by their dotted names (`hidden1.weight`, `layer4.1.bn2`). */

/**
 * A way to pick names: a glob (`hidden[12].*`, `layer4.**`), a RegExp on dotted names, a list of
 * module names (each matches itself and everything below it), or a predicate.
 */
export type NamePattern = string | RegExp | readonly string[] | ((name: string) => boolean);

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      // `*` and `**` both cross dots: `hidden2.*` must reach `hidden2.0.weight` in nested models too
      while (glob[i + 1] === '*') i++;
      re += '.*';
    } else if (c === '?') re += '[^.]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) throw new SyntaxError(`pattern '${glob}': unclosed '['`);
      let cls = glob.slice(i + 1, end);
      if (cls.startsWith('!')) cls = '^' + cls.slice(1);
      re += `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Turns a pattern into a predicate over dotted names. */
export function compilePattern(pattern: NamePattern): (name: string) => boolean {
  if (typeof pattern === 'function') return pattern;
  if (pattern instanceof RegExp) {
    // a global/sticky RegExp keeps lastIndex between calls; a copy without those flags does not
    const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    return (name) => re.test(name);
  }
  if (Array.isArray(pattern)) {
    const names = pattern as readonly string[];
    for (const n of names) if (typeof n !== 'string') throw new TypeError('pattern: a list of module names must hold strings');
    return (name) => names.some((n) => name === n || name.startsWith(n + '.'));
  }
  if (typeof pattern === 'string') {
    if (!/[*?[]/.test(pattern)) return (name) => name === pattern || name.startsWith(pattern + '.');
    const re = globToRegExp(pattern);
    return (name) => re.test(name);
  }
  throw new TypeError('pattern: expected a glob string, a RegExp, a list of names or a function');
}
