/** What a partial restore did: which keys loaded, which were missing, unexpected, mismatched or skipped. */

/** A key whose shape differs between the model and the checkpoint. */
export interface Mismatch {
  key: string;
  expected: number[];
  found: number[];
  /** The checkpoint's key before renaming, when it differs. */
  source?: string;
}

/** The outcome of `loadStateDict(sd, options)`. */
export class LoadReport {
  /** Model keys that received a value. */
  loaded: string[] = [];
  /** Model keys (within include/exclude) that the checkpoint did not provide. */
  missing: string[] = [];
  /** Checkpoint keys (after renaming) that the model does not have. */
  unexpected: string[] = [];
  /** Keys present on both sides with different shapes. */
  mismatched: Mismatch[] = [];
  /** Keys left out on purpose by include/exclude (checkpoint names after renaming). */
  skipped: string[] = [];

  /** True when nothing was missing, unexpected or mismatched. */
  get ok(): boolean {
    return this.missing.length === 0 && this.unexpected.length === 0 && this.mismatched.length === 0;
  }

  /** One line per problem, for errors. */
  problems(): string[] {
    return [
      ...this.missing.map((k) => `missing: ${k}`),
      ...this.unexpected.map((k) => `unexpected: ${k}`),
      ...this.mismatched.map((m) => `shape mismatch: ${m.key} expects [${m.expected.join(', ')}], checkpoint has [${m.found.join(', ')}]`),
    ];
  }

  /** A readable table: status, key, detail. */
  toString(): string {
    const rows: [string, string, string][] = [
      ...this.loaded.map((k): [string, string, string] => ['loaded', k, '']),
      ...this.missing.map((k): [string, string, string] => ['missing', k, 'kept its current value']),
      ...this.unexpected.map((k): [string, string, string] => ['unexpected', k, 'not in the model']),
      ...this.mismatched.map((m): [string, string, string] => [
        'mismatched',
        m.key,
        `model [${m.expected.join(', ')}] vs file [${m.found.join(', ')}]`,
      ]),
      ...this.skipped.map((k): [string, string, string] => ['skipped', k, 'excluded by include/exclude']),
    ];
    const w0 = Math.max(6, ...rows.map((r) => r[0].length));
    const w1 = Math.max(3, ...rows.map((r) => r[1].length));
    const line = (r: [string, string, string]) => `${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2]}`.trimEnd();
    const summary =
      `${this.loaded.length} loaded, ${this.missing.length} missing, ${this.unexpected.length} unexpected, ` +
      `${this.mismatched.length} mismatched, ${this.skipped.length} skipped`;
    return [line(['status', 'key', 'detail']), line(['-'.repeat(w0), '-'.repeat(w1), '------']), ...rows.map(line), summary].join('\n');
  }

  /** Plain data for JSON. */
  toJSON(): object {
    return { loaded: this.loaded, missing: this.missing, unexpected: this.unexpected, mismatched: this.mismatched, skipped: this.skipped };
  }
}
