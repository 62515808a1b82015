/**
 * Checks the class bodies of a TorchScript archive's code records for statements LibTorch's importer does not expect.
 * Its importer reads every plain assignment in a module (or plain) class body as a typed constant; one without a type
 * (`weight = 3` where only `__parameters__ = [...]` and its kin may stand) makes it read a type that is not there and
 * crash the process (seen in LibTorch 1.13: a one-byte change `__parameters__` → `__qarameters__`).
 */

/** The untyped assignments the importer handles itself. */
const SPECIAL = new Set(['__parameters__', '__buffers__', '__forward_hooks__', '__forward_pre_hooks__']);

/**
 * Scans `s` outside string literals: `visit(i, depth)` sees each character that is neither in a string nor a bracket,
 * with the bracket depth there, until it returns true. Returns that index, or -1.
 */
function scanCode(s: string, visit: (i: number, depth: number) => boolean): number {
  let depth = 0;
  let quote = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c)) depth--;
    else if (visit(i, depth)) return i;
  }
  return -1;
}

/** The first `=` of a statement that is an assignment (outside brackets and strings, not `==`, `<=`, `>=`, `!=`). */
function assignmentAt(stmt: string): number {
  const isAssign = (i: number) => stmt[i] === '=' && stmt[i + 1] !== '=' && !'=<>!'.includes(stmt[i - 1] ?? '');
  // A comment ends the statement at any depth.
  const at = scanCode(stmt, (i, depth) => stmt[i] === '#' || (depth === 0 && isAssign(i)));
  return at >= 0 && stmt[at] === '#' ? -1 : at;
}

/** A statement line split at `sep` outside brackets and strings. */
function topLevelParts(line: string, sep: string): string[] {
  const cuts: number[] = [];
  scanCode(line, (i, depth) => {
    if (depth === 0 && line[i] === sep) cuts.push(i);
    return false;
  });
  const parts = [...cuts, line.length].map((end, k) => line.slice(k ? cuts[k - 1] + 1 : 0, end).trim());
  return parts.filter((p) => p !== '');
}

/** Whether an assignment's target has a type annotation (`name : T = v`): a `:` outside brackets before the `=`. */
function hasAnnotation(lhs: string): boolean {
  return scanCode(lhs, (i, depth) => depth === 0 && lhs[i] === ':') >= 0;
}

/**
 * The first class-body statement of one code record that LibTorch's importer would mishandle, or undefined.
 * @param source the record's text (a TorchScript `.py` record).
 */
export function scriptCodeProblem(source: string): string | undefined {
  // Backslash continuations join lines, as the lexer joins them.
  const lines = source.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  let checked: string | undefined; // the class whose body is being read, when its kind is checked
  let bodyIndent: number | undefined; // the body's indentation, set by its first line
  for (const line of lines) {
    const head = /^class\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:\(\s*([A-Za-z_][A-Za-z0-9_.]*)?\s*\))?\s*:/.exec(line);
    if (head) {
      // Modules and plain classes go through the importer's class path; enums and named tuples have their own.
      checked = head[2] === undefined || head[2] === 'Module' || head[2] === 'object' ? head[1] : undefined;
      bodyIndent = undefined;
      continue;
    }
    if (line.trim() === '' || /^\s*#/.test(line)) continue;
    const indent = /^\s*/.exec(line)![0].length;
    if (indent === 0) {
      checked = undefined;
      continue;
    }
    bodyIndent ??= indent;
    if (checked === undefined || indent !== bodyIndent) continue; // deeper lines belong to methods
    for (const stmt of topLevelParts(line.trim(), ';')) {
      if (/^(def|async|@|return|pass)\b/.test(stmt)) continue;
      const at = assignmentAt(stmt);
      if (at < 0) continue;
      const lhs = stmt.slice(0, at);
      if (hasAnnotation(lhs)) continue;
      const target = lhs.replace(/[()\s]/g, '');
      if (SPECIAL.has(target) || /^__annotations__\[/.test(target)) continue;
      return `class '${checked}' assigns '${target.slice(0, 64)}' without a type, which TorchScript's importer cannot read`;
    }
  }
  return undefined;
}
