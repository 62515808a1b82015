/** One TensorBoard event file: created with its file_version record, events buffered and appended on flush. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TorchError } from '../../errors';
import { fileVersionEvent } from './event';
import { frameRecord } from './record';

function ioError(what: string, e: unknown): TorchError {
  return new TorchError(`TensorBoard: ${what}: ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
}

/**
 * Writes `events.out.tfevents.<secs>.<host>` in a folder. No file handle stays open between flushes, so a
 * training run that throws leaves a complete file (every flushed record) and nothing to close.
 */
export class EventFileWriter {
  /** The event file's path. */
  readonly file: string;
  private pending: Uint8Array[] = [];
  private flushing: Promise<void> = Promise.resolve();

  /** Creates the folder and the file with its first record; throws ERR_IO when the folder cannot be written. */
  constructor(dir: string) {
    const base = `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}`;
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw ioError(`cannot create the log folder '${dir}'`, e);
    }
    const first = frameRecord(fileVersionEvent(Date.now() / 1000));
    // a second writer in the same second gets a suffix: never two writers on one file
    for (let n = 0; ; n++) {
      const file = path.join(dir, n === 0 ? base : `${base}.${process.pid}.${n}`);
      try {
        fs.writeFileSync(file, first, { flag: 'wx' });
        this.file = file;
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n > 100) throw ioError(`cannot write in the log folder '${dir}'`, e);
      }
    }
  }

  /** Queues one encoded Event message. */
  add(event: Uint8Array): void {
    this.pending.push(frameRecord(event));
  }

  /** Appends what was queued to the file (flushes run one after another). */
  flush(): Promise<void> {
    const parts = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(async () => {
      if (parts.length === 0) return;
      try {
        await fs.promises.appendFile(this.file, Buffer.concat(parts));
      } catch (e) {
        throw ioError(`cannot append to '${this.file}'`, e);
      }
    });
    return this.flushing;
  }
}
