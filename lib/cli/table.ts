/** Plain-text tables for the command line that fit a width (100 columns): long cells lose their middle to an ellipsis. */

/** The width tables are fitted to (a terminal of 100 columns; wider terminals still read them). */
export const TABLE_WIDTH = 100;

const GAP = 2;
const MIN_COLUMN = 8;

/** Human-readable bytes (1024-based). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(1)} ${units[u]}`;
}

/**
 * `text` cut to `width` characters by replacing its middle with '…' (both ends of a dotted name say the most:
 * `layer4.1.bn2.running_mean` becomes `layer4.…n2.running_mean`).
 */
export function ellipsize(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return '…'.slice(0, width);
  const tail = Math.ceil((width - 1) / 2);
  return `${text.slice(0, width - 1 - tail)}…${text.slice(text.length - tail)}`;
}

/** `text` word-wrapped to `width` columns (continuation lines indented by two spaces; a word longer than a line is cut). */
export function wrap(text: string, width = TABLE_WIDTH): string {
  return text
    .split('\n')
    .map((para) => {
      const lines: string[] = [];
      let line = '';
      for (const word of para.split(' ')) {
        const next = line === '' ? word : `${line} ${word}`;
        if (next.length <= width || line === '') line = next;
        else {
          lines.push(line);
          line = `  ${word}`;
        }
      }
      lines.push(line);
      return lines.map((l) => ellipsize(l, width)).join('\n');
    })
    .join('\n');
}

/** How `table` lays out columns: `numeric` ones are right-aligned; `fixed` ones (and numeric ones) are never cut. */
export interface TableOptions {
  numeric?: boolean[];
  fixed?: boolean[];
  maxWidth?: number;
}

/**
 * Columns fitted to `maxWidth`: left-aligned text, right-aligned numbers, the header underlined. When the natural
 * widths do not fit, the widest text column gives up one character at a time (never below 8) and its cells are
 * ellipsized in the middle; numeric and fixed columns keep their width. A row of one cell is a heading that spans
 * the table (cut to `maxWidth` at most).
 */
export function table(head: string[], rows: string[][], numericOrOptions: boolean[] | TableOptions = []): string {
  const o = Array.isArray(numericOrOptions) ? { numeric: numericOrOptions } : numericOrOptions;
  const numeric = o.numeric ?? [];
  const fixed = o.fixed ?? [];
  const maxWidth = o.maxWidth ?? TABLE_WIDTH;
  const cells = rows.filter((r) => r.length > 1);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const total = () => widths.reduce((a, w) => a + w, 0) + GAP * (widths.length - 1);
  while (total() > maxWidth) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) if (!numeric[i] && !fixed[i] && widths[i] > MIN_COLUMN && (widest < 0 || widths[i] > widths[widest])) widest = i;
    if (widest < 0) break;
    widths[widest]--;
  }
  const line = (r: string[]): string =>
    r.length === 1 ? ellipsize(r[0], maxWidth) : r
      .map((c, i) => {
        const cell = ellipsize(c, widths[i]);
        return numeric[i] ? cell.padStart(widths[i]) : i === r.length - 1 ? cell : cell.padEnd(widths[i]);
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
