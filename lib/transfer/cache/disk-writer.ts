/**
 * Writes the disk feature cache's file (format version 2, see disk-layout.ts) into `<file>.partial`, block by block,
 * each block flushed and then recorded in `<file>.journal`; resumes a matching partial build; renames the file into
 * place only when it is whole.
 */
import { promises as fsp, statSync } from 'node:fs';
import * as path from 'node:path';
import type { DType } from '../../dtype';
import { TorchError } from '../../errors';
import type { Tensor } from '../../tensor';
import type { Fingerprint } from './fingerprint';
import { toHalfBits } from './half';
import { fsyncDir, resolveTarget } from '../../io/atomic';
import { hostTag, pidIsDead } from '../../io/owner';
import { binding } from '../../native';
import { blockCount, blockSpan, DiskHeader, FieldLayout, FORMAT, journalPath, layoutFields, MAGIC_V2, partialPath } from './disk-layout';
import { Journal, JOURNAL_FORMAT, JournalHead, readJournal, sameBuild, writeFully } from './journal';

/** What a build will write: a resumed partial file must have been started by the same plan. */
export interface WritePlan {
  file: string;
  length: number;
  blockRows: number;
  /** The features' stored dtype. */
  dtype: DType;
  fingerprint: Fingerprint;
}

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/** A system error during a build as the library's coded error: ERR_NO_SPACE for a full disk, else ERR_IO (other errors as they are). */
export function writeError(file: string, partial: string, e: unknown): unknown {
  if (!(e instanceof Error) || e instanceof TorchError || typeof (e as NodeJS.ErrnoException).syscall !== 'string') return e;
  if (NO_SPACE.has((e as NodeJS.ErrnoException).code ?? ''))
    return new TorchError(
      `cacheFeatures: no space left on the device to write '${file}' (${e.message}). The partial file '${partial}' and its journal stay: ` +
        'free some space (or give another dir) and build again; the build resumes from its last whole block',
      { code: 'ERR_NO_SPACE', cause: e },
    );
  return new TorchError(`cacheFeatures: cannot write '${file}': ${e.message}`, { code: 'ERR_IO', cause: e });
}

/** Writes a cache file: positioned writes per batch (in order), a checksum per block, one flush and journal line per block, the trailer at the end, then a rename. */
export class DiskWriter {
  /** Blocks a previous, interrupted build of the same plan had made durable (they are not computed again). */
  resumedBlocks = 0;
  private fields: FieldLayout[] = [];
  private dataEnd = 0;
  private crc: number[][] = [];
  private journal?: Journal;

  private constructor(
    /** The cache's file as asked (messages name it). */
    private readonly file: string,
    /** The real file the rename replaces (a symbolic link followed). */
    private readonly target: string,
    private readonly fh: fsp.FileHandle,
    private readonly plan: WritePlan,
  ) {}

  /** The partial file beside the real target. */
  get partial(): string {
    return partialPath(this.target);
  }

  private get journalFile(): string {
    return journalPath(this.target);
  }

  /** Rows per block. */
  get blockRows(): number {
    return this.plan.blockRows;
  }

  /** Rows the resumed blocks hold: the build starts there. */
  get resumedRows(): number {
    return Math.min(this.plan.length, this.resumedBlocks * this.plan.blockRows);
  }

  /**
   * Opens the partial file: resumes it when its journal's head matches `plan` (same fingerprint, length, block size,
   * dtype) and the file holds every block the journal lists; otherwise removes both and starts an empty one.
   */
  static async open(plan: WritePlan): Promise<DiskWriter> {
    let target: string;
    try {
      target = resolveTarget(plan.file);
    } catch (e) {
      throw writeError(plan.file, partialPath(plan.file), e);
    }
    const partial = partialPath(target);
    const journal = journalPath(target);
    try {
      const state = await readJournal(journal);
      const owner = state?.head.owner;
      if (owner && owner.host === hostTag() && owner.pid !== process.pid && !pidIsDead(owner.pid))
        throw new TorchError(
          `cacheFeatures: '${plan.file}' is being built by process ${owner.pid} of this machine (its journal '${journal}'): ` +
            'wait for that build, or give another dir or name',
          { code: 'ERR_CACHE_BUSY' },
        );
      const size = statSync(partial, { throwIfNoEntry: false })?.size ?? -1;
      if (state && state.blocks.length > 0 && sameBuild(state.head, headOf(plan, state.head.fields))) {
        const last = state.blocks.length - 1;
        const held = state.head.fields.every((f) => {
          const s = blockSpan(f, last, plan.length, plan.blockRows);
          return s.offset + s.bytes <= size;
        });
        if (held) {
          const w = new DiskWriter(plan.file, target, await fsp.open(partial, 'r+'), plan);
          w.setFields(state.head.fields);
          state.blocks.forEach((b) => b.crc.forEach((c, k) => (w.crc[k][b.block] = c)));
          w.resumedBlocks = state.blocks.length;
          w.journal = await Journal.resume(journal, headOf(plan, state.head.fields), state.blocks);
          return w;
        }
      }
      await fsp.rm(journal, { force: true });
      return new DiskWriter(plan.file, target, await fsp.open(partial, 'w'), plan);
    } catch (e) {
      throw writeError(plan.file, partial, e);
    }
  }

  private setFields(fields: FieldLayout[]): void {
    this.fields = fields;
    this.dataEnd = fields.reduce((end, f) => end + f.rowBytes * this.plan.length, 0);
    this.crc = fields.map(() => new Array<number>(blockCount(this.plan.length, this.plan.blockRows)).fill(0));
  }

  /**
   * Lays the fields out from the first computed batch (rows of each field, in their stored dtypes) and starts the
   * journal. A resumed build checks the layout against its journal's instead: false when it differs (the caller
   * starts over).
   */
  async layout(fields: { dtype: DType; shape: number[] }[]): Promise<boolean> {
    const l = layoutFields(fields, this.plan.length).fields;
    if (this.journal) return JSON.stringify(l) === JSON.stringify(this.fields);
    this.setFields(l);
    await this.guard(async () => {
      this.journal = await Journal.create(this.journalFile, headOf(this.plan, l));
    });
    return true;
  }

  /**
   * Writes rows [start, start + t.shape[0]) of field k (t already in the field's dtype, or float32 for a 16-bit float
   * field). Batches arrive in order and never straddle a block (blockRows is a multiple of the batch size).
   */
  async write(k: number, start: number, t: Tensor): Promise<void> {
    const f = this.fields[k];
    const data = await t.data();
    const raw = f.dtype === 'float16' || f.dtype === 'bfloat16' ? toHalfBits(data as Float32Array, f.dtype) : data;
    const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    const b = Math.floor(start / this.plan.blockRows);
    // the native CRC-32C (SSE4.2 where present) holds the event loop far less than the JavaScript one
    this.crc[k][b] = binding.crc32c(bytes, this.crc[k][b]);
    await this.guard(() => writeFully(this.fh, bytes, f.offset + start * f.rowBytes));
  }

  /** Whether rows up to `end` (exclusive) close a block. */
  closesBlock(end: number): boolean {
    return end % this.plan.blockRows === 0 || end === this.plan.length;
  }

  /** Makes block `b` durable (its data flushed), then records it in the journal. */
  async endBlock(b: number): Promise<void> {
    await this.guard(async () => {
      await this.fh.datasync();
      await this.journal!.append({ block: b, crc: this.crc.map((c) => c[b]) });
    });
  }

  /** Appends the trailer, flushes, renames into place (with the replaced file's mode), then removes the journal. */
  async finish(): Promise<DiskHeader> {
    const p = this.plan;
    const header: DiskHeader = { format: FORMAT, version: 2, length: p.length, blockRows: p.blockRows, fields: this.fields, fingerprint: p.fingerprint, crc: this.crc };
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(json.length);
    await this.guard(async () => {
      await writeFully(this.fh, Buffer.concat([json, len, MAGIC_V2]), this.dataEnd);
      await this.fh.truncate(this.dataEnd + json.length + 12);
      await this.fh.sync();
      await this.fh.close();
      // permission bits of the replaced file, so a private cache stays private
      const mode = statSync(this.target, { throwIfNoEntry: false })?.mode;
      if (mode !== undefined) await fsp.chmod(this.partial, mode & 0o7777);
      await fsp.rename(this.partial, this.target);
      await fsyncDir(path.dirname(this.target));
      await this.journal?.close();
      await fsp.rm(this.journalFile, { force: true });
    });
    return header;
  }

  /** Closes the files after an abort or a full disk: the partial file and its journal stay for the next build to resume. */
  async keep(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await this.journal?.close();
  }

  /** Closes and removes the partial file and its journal (a failed build that cannot be resumed). */
  async discard(): Promise<void> {
    await this.keep();
    await fsp.rm(this.partial, { force: true }).catch(() => undefined);
    await fsp.rm(this.journalFile, { force: true }).catch(() => undefined);
  }

  private async guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw writeError(this.file, this.partial, e);
    }
  }
}

function headOf(plan: WritePlan, fields: FieldLayout[]): JournalHead {
  return {
    format: JOURNAL_FORMAT, version: 2, length: plan.length, blockRows: plan.blockRows, dtype: plan.dtype, fields, fingerprint: plan.fingerprint,
    owner: { host: hostTag(), pid: process.pid },
  };
}
