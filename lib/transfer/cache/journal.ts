/**
 * The build journal beside a disk cache's partial file: one JSON line describing the build, then one line per block
 * made durable, so that a build killed or aborted part-way resumes after its last whole block.
 */
import { promises as fsp } from 'node:fs';
import type { DType } from '../../dtype';
import { TorchError } from '../../errors';
import { isCrc32, type FieldLayout } from './disk-layout';
import type { Fingerprint } from './fingerprint';

/**
 * Writes all of `bytes` at `position`: a write to a filling disk may take only part of them, and the next one then
 * fails with the system's error (ENOSPC).
 */
export async function writeFully(fh: fsp.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < bytes.byteLength;) {
    const { bytesWritten } = await fh.write(bytes, done, bytes.byteLength - done, position + done);
    if (bytesWritten <= 0) throw new TorchError(`cacheFeatures: the system wrote nothing at offset ${position + done}`, { code: 'ERR_IO' });
    done += bytesWritten;
  }
}

/** The journal's `format`, on its first line. */
export const JOURNAL_FORMAT = 'torchgraft-feature-cache-journal';

/** What the first line records: a build resumes only a journal whose head equals its own. */
export interface JournalHead {
  format: string;
  version: 2;
  length: number;
  blockRows: number;
  /** The features' stored dtype. */
  dtype: DType;
  fields: FieldLayout[];
  fingerprint: Fingerprint;
  /** The process writing it (host tag and pid): a live one's build is not taken over. Not part of what must match. */
  owner?: { host: string; pid: number };
}

/** One block made durable: its index and the CRC-32C of each field's bytes in it. */
export interface JournalBlock {
  block: number;
  crc: number[];
}

/** What a journal on disk says: its head and the whole blocks, in order from 0. */
export interface JournalState {
  head: JournalHead;
  blocks: JournalBlock[];
}

/**
 * Parses a journal's text: undefined when its first line is not a journal head; else the blocks listed in order from
 * block 0 with one CRC per field, stopping at the first line that is torn, out of order or malformed.
 */
export function parseJournal(text: string): JournalState | undefined {
  let end = text.indexOf('\n');
  if (end < 0) return undefined;
  let head: JournalHead | null;
  try {
    head = JSON.parse(text.slice(0, end)) as JournalHead | null;
  } catch {
    return undefined;
  }
  // a primitive's properties are undefined: only a journal head passes
  if (head?.format !== JOURNAL_FORMAT || !Array.isArray(head.fields)) return undefined;
  const blocks: JournalBlock[] = [];
  let next = end + 1;
  for (;;) {
    const start = next;
    end = text.indexOf('\n', start);
    // no newline: the last line was torn by a kill mid-append
    if (end < 0) break;
    let line: JournalBlock | null;
    try {
      line = JSON.parse(text.slice(start, end)) as JournalBlock | null;
    } catch {
      break;
    }
    if (line?.block !== blocks.length || !Array.isArray(line.crc) || line.crc.length !== head.fields.length || !line.crc.every(isCrc32)) break;
    blocks.push({ block: line.block, crc: line.crc });
    next = end + 1;
  }
  return { head, blocks };
}

/** Whether two journal heads describe the same build (format, length, block size, dtype, layout, fingerprint). */
export function sameBuild(a: JournalHead, b: JournalHead): boolean {
  return JSON.stringify([a.format, a.version, a.length, a.blockRows, a.dtype, a.fields, a.fingerprint]) ===
    JSON.stringify([b.format, b.version, b.length, b.blockRows, b.dtype, b.fields, b.fingerprint]);
}

/** Reads a journal, or undefined when there is none or it is not one. */
export async function readJournal(file: string): Promise<JournalState | undefined> {
  const text = await fsp.readFile(file, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseJournal(text);
}

/** An open journal that lines are appended to. */
export class Journal {
  private constructor(
    private readonly fh: fsp.FileHandle,
    private pos: number,
  ) {}

  /** Starts a new journal at `file` (replacing any) with its head line. */
  static async create(file: string, head: JournalHead): Promise<Journal> {
    const fh = await fsp.open(file, 'w');
    const line = Buffer.from(`${JSON.stringify(head)}\n`);
    try {
      await writeFully(fh, line, 0);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
    return new Journal(fh, line.length);
  }

  /** Takes over a journal to go on after its good blocks: rewritten with this build's head (its owner) and those blocks' lines, a torn line dropped. */
  static async resume(file: string, head: JournalHead, blocks: JournalBlock[]): Promise<Journal> {
    const text = [head, ...blocks.map((b) => ({ block: b.block, crc: b.crc }))].map((l) => `${JSON.stringify(l)}\n`).join('');
    const bytes = Buffer.from(text);
    const fh = await fsp.open(file, 'r+');
    try {
      await writeFully(fh, bytes, 0);
      await fh.truncate(bytes.length);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
    return new Journal(fh, bytes.length);
  }

  /** Appends one block's line (the block's data already flushed to the partial file). */
  async append(b: JournalBlock): Promise<void> {
    const line = Buffer.from(`${JSON.stringify({ block: b.block, crc: b.crc })}\n`);
    await writeFully(this.fh, line, this.pos);
    this.pos += line.length;
  }

  /** Closes the journal (the file stays). */
  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
