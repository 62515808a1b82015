/** A streaming dataset over a text file read line by line (CSV, JSON Lines): never all in memory. */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { Example } from './example';
import { IterableDataset } from './iterable-dataset';
import { TorchError } from '../errors';

/** Turns one line into an example, or undefined to skip it (a header, a blank line). */
export type LineParser = (line: string, lineNumber: number) => Example | undefined;

/**
 * Examples parsed from the lines of a text file, read with a stream on every pass (the file is reopened,
 * so it may be larger than memory). Errors from `parse` name the file and line.
 * @example tg.data.fromLines('train.csv', (l, i) => i === 0 ? undefined : csvRow(l))
 */
export class TextLineDataset extends IterableDataset {
  constructor(
    /** The file read on every pass. */
    readonly path: string,
    private readonly parse: LineParser,
  ) {
    super();
    if (typeof path !== 'string' || path === '') throw new TypeError('fromLines: expected a file path');
    if (typeof parse !== 'function') throw new TypeError('fromLines: expected a parse(line, lineNumber) function');
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Example> {
    const input = fs.createReadStream(this.path, { encoding: 'utf8' });
    const lines = readline.createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    try {
      for await (const line of lines) {
        let e: Example | undefined;
        try {
          e = this.parse(line, n);
        } catch (err) {
          throw new TorchError(`fromLines: ${this.path}:${n + 1}: ${(err as Error).message}`, { code: 'ERR_DATA_PARSE', cause: err });
        }
        n++;
        if (e !== undefined) yield e;
      }
    } finally {
      lines.close();
      input.destroy();
    }
  }
}

/** A streaming dataset over the lines of a text file (see TextLineDataset). */
export function fromLines(path: string, parse: LineParser): TextLineDataset {
  return new TextLineDataset(path, parse);
}
