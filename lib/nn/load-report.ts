/** LoadReport: what loadStateDict() did with each key, printable as a table. */
import { inspectCustom } from '../portable-types';

/** A key whose tensor has another shape than the module's. */
export interface ShapeMismatch {
  key: string;
  expected: number[];
  found: number[];
}

/** The plain-data form of a LoadReport (its toJSON()). */
export interface LoadReportData {
  loaded: string[];
  missing: string[];
  unexpected: string[];
  mismatched: ShapeMismatch[];
  skipped: string[];
  renamed: [string, string][];
  warnings: string[];
}

const fmtShape = (s: number[]) => `[${s.join(', ')}]`;

/** Rows and keys a printed report or a load error shows before "... N more". */
export const SHOWN = 10;

/** `keys` joined, at most SHOWN of them, then how many more. */
export function someKeys(keys: readonly string[], sep = ', ', shown = SHOWN): string {
  return keys.length > shown ? `${keys.slice(0, shown).join(sep)}${sep}... ${keys.length - shown} more` : keys.join(sep);
}

/** The renaming hint when state dict and module both have keys the other lacks (undefined otherwise). */
export function nameHint(r: Pick<LoadReportData, 'loaded' | 'missing' | 'unexpected' | 'mismatched'>): string | undefined {
  if (!r.missing.length || !r.unexpected.length) return undefined;
  const which = r.loaded.length === 0 && r.mismatched.length === 0 ? 'no name matches: the checkpoint names its keys differently' : 'some names differ';
  return (
    `${which} (e.g. '${r.unexpected[0]}' vs '${r.missing[0]}'): tg.io.proposeMapping(stateDict, model) proposes a renaming, ` +
    "tg.io.mapKeys(stateDict, rules) or loadStateDict's rename option applies one"
  );
}


// A cut table shows the problems first.
const ORDER = ['mismatched', 'missing', 'unexpected', 'loaded', 'skipped'];

/**
 * What loadStateDict() did. Keys are the module's names, after stripPrefix / rename / addPrefix; `renamed`
 * maps each checkpoint key that was changed to its new name. Printing it (`String(report)`) gives a table.
 */
export class LoadReport implements LoadReportData {
  /** Keys copied into the module. */
  loaded: string[] = [];
  /** The module's keys (within include/exclude) that the state dict lacks. */
  missing: string[] = [];
  /** State dict keys (within include/exclude) the module does not have. */
  unexpected: string[] = [];
  /** Keys on both sides with different shapes (not copied). */
  mismatched: ShapeMismatch[] = [];
  /** State dict keys left out by include/exclude (not copied, not errors). */
  skipped: string[] = [];
  /** [checkpoint key, module key] for every key that stripPrefix, rename or addPrefix changed. */
  renamed: [string, string][] = [];
  /** Options that had no effect (an include that matched no key, a prefix that no key had, …): likely mistakes. */
  warnings: string[] = [];

  /** Whether everything in scope loaded: nothing missing, unexpected or mismatched, and no warnings. */
  get ok(): boolean {
    return !this.missing.length && !this.unexpected.length && !this.mismatched.length && !this.warnings.length;
  }

  /** The report as plain data (what JSON.stringify writes). */
  toJSON(): LoadReportData {
    const { loaded, missing, unexpected, mismatched, skipped, renamed, warnings } = this;
    return { loaded, missing, unexpected, mismatched, skipped, renamed, warnings };
  }

  /**
   * A summary: the counts, then a table of the first 10 keys (`table()` has them all) with their status and detail,
   * "... N more", warnings, and a hint when keys are missing and unexpected both (names to map). The arrays hold
   * every key.
   */
  toString(): string {
    return this.table(SHOWN);
  }

  /**
   * A table, one row per key: its status (loaded, missing, unexpected, mismatched, skipped) and detail
   * (the shapes of a mismatch, the checkpoint name of a renamed key), under a one-line count, then warnings and
   * hints. With more rows than `limit`, the problems (mismatched, missing, unexpected) come first and the rest
   * is counted in a "... N more" line.
   */
  table(limit = Infinity): string {
    const from = new Map(this.renamed.map(([a, b]) => [b, a]));
    const src = (k: string) => (from.has(k) ? `from ${from.get(k)}` : '');
    const rows: [string, string, string][] = [
      ...this.loaded.map((k): [string, string, string] => [k, 'loaded', src(k)]),
      ...this.mismatched.map((m): [string, string, string] => [
        m.key, 'mismatched', `expected ${fmtShape(m.expected)}, found ${fmtShape(m.found)}${from.has(m.key) ? `; ${src(m.key)}` : ''}`,
      ]),
      ...this.missing.map((k): [string, string, string] => [k, 'missing', 'not in the state dict']),
      ...this.unexpected.map((k): [string, string, string] => [k, 'unexpected', ['not in the module', src(k)].filter(Boolean).join('; ')]),
      ...this.skipped.map((k): [string, string, string] => [k, 'skipped', ['excluded', src(k)].filter(Boolean).join('; ')]),
    ];
    const cut = rows.length > limit;
    if (cut) rows.sort((x, y) => ORDER.indexOf(x[1]) - ORDER.indexOf(y[1]));
    const shown = cut ? rows.slice(0, limit) : rows;
    const head: [string, string, string] = ['Key', 'Status', 'Detail'];
    const w = [0, 1].map((i) => Math.max(head[i].length, ...shown.map((r) => r[i].length)));
    const line = (r: [string, string, string]) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}`.trimEnd();
    const counts =
      `LoadReport: ${this.loaded.length} loaded, ${this.missing.length} missing, ${this.unexpected.length} unexpected, ` +
      `${this.mismatched.length} mismatched, ${this.skipped.length} skipped`;
    const more = cut ? [`... ${rows.length - limit} more (report.loaded, .missing, .unexpected, .mismatched, .skipped hold them; report.table() prints all)`] : [];
    // A returned report was loaded with strict: false or skipMismatched: names that differ are the fix left to hint at.
    const hints = [nameHint(this)].filter((h): h is string => h !== undefined).map((h) => `hint: ${h}`);
    return [counts, line(head), ...shown.map(line), ...more, ...this.warnings.map((m) => `warning: ${m}`), ...hints].join('\n');
  }

  /** How console.log shows the report: its table. */
  [inspectCustom](): string {
    return this.toString();
  }
}
