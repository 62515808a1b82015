/** LoadReport: what loadStateDict() did with each key, printable as a table. */
import { inspect } from 'node:util';

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
   * A table, one row per key: its status (loaded, missing, unexpected, mismatched, skipped) and detail
   * (the shapes of a mismatch, the checkpoint name of a renamed key), under a one-line count, then warnings.
   */
  toString(): string {
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
    const head: [string, string, string] = ['Key', 'Status', 'Detail'];
    const w = [0, 1].map((i) => Math.max(head[i].length, ...rows.map((r) => r[i].length)));
    const line = (r: [string, string, string]) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}`.trimEnd();
    const counts =
      `LoadReport: ${this.loaded.length} loaded, ${this.missing.length} missing, ${this.unexpected.length} unexpected, ` +
      `${this.mismatched.length} mismatched, ${this.skipped.length} skipped`;
    return [counts, line(head), ...rows.map(line), ...this.warnings.map((m) => `warning: ${m}`)].join('\n');
  }

  /** How console.log shows the report: its table. */
  [inspect.custom](): string {
    return this.toString();
  }
}
