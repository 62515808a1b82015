/**
 * The one atomic-write path of the library: write a temporary file beside the real target, give it the target's
 * mode, rename it over the target, and sweep temporaries that killed writers of the same target left behind.
 */
import { promises as fs, lstatSync, readlinkSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TorchError } from '../errors';
import { hostTag, pidIsDead } from './owner';

// Symlink hops followed before giving up, as the kernel's own ELOOP limit.
const MAX_LINKS = 40;

/**
 * Where a write to `file` must land: `file` itself, or, when it is a symbolic link (even a dangling one, or a chain
 * of them), the file it finally points to. Writing there keeps the link, as editors do. Synchronous (a few lstat
 * calls) so that a writer can capture its data in the same tick as the call that asked for the write.
 */
export function resolveTarget(file: string): string {
  let p = path.resolve(file);
  for (let hops = 0; ; hops++) {
    let st;
    try {
      st = lstatSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return p;
      throw e;
    }
    if (!st.isSymbolicLink()) return p;
    if (hops >= MAX_LINKS) throw new TorchError(`'${file}': too many levels of symbolic links`, { code: 'ERR_IO' });
    p = path.resolve(path.dirname(p), readlinkSync(p));
  }
}

/**
 * A temporary name beside `target`: `<target>.tmp-<host>-<pid>-<16 hex>`. The host tag and pid say which writer
 * made it, so a later save can tell a dead writer's leftover from a live writer's file.
 */
export function tempName(target: string): string {
  return `${target}.tmp-${hostTag()}-${process.pid}-${randomBytes(8).toString('hex')}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Removes the temporaries of `target` (exactly our name pattern) whose writer was a process on this host that no longer runs. Live writers' files,
 * other hosts' files and every other name are left alone. Returns the names removed.
 */
export async function removeStaleTemps(target: string): Promise<string[]> {
  const dir = path.dirname(target);
  const re = new RegExp(`^${escapeRegExp(path.basename(target))}\\.tmp-([0-9a-f]{8})-(\\d+)-[0-9a-f]{16}$`);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const m = re.exec(name);
    if (!m || m[1] !== hostTag() || !pidIsDead(Number(m[2]))) continue;
    // Another saver may sweep the same file at the same moment: ENOENT is its success, not our failure.
    const gone = await fs.rm(path.join(dir, name), { force: true }).then(() => true, () => false);
    if (gone) removed.push(name);
  }
  return removed;
}

/** Flushes a folder's entries (a rename into it, or the files created in it) to the disk, where the system allows. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, 'r').catch(() => undefined);
  if (!h) return;
  // Some filesystems refuse fsync on a directory; the renamed file's data are already on disk.
  await h.sync().catch(() => undefined);
  await h.close().catch(() => undefined);
}

/** A write in progress: fill `tmp`, then `commit()` (or `abort()` after a failure). */
export interface PendingWrite {
  /** The real file that `commit` replaces (a symbolic link followed). */
  readonly target: string;
  /** The temporary to write, beside `target`. */
  readonly tmp: string;
  /** Waits for the sweep of dead writers' temporaries, gives `tmp` the replaced file's mode, renames it over `target`, fsyncs the folder. */
  commit(): Promise<void>;
  /** Removes `tmp`; never throws. */
  abort(): Promise<void>;
}

/**
 * Starts an atomic write of `file`, synchronously: follows a symbolic link to the real target, notes the mode of the
 * file it will replace, picks a fresh temporary name beside it and starts sweeping dead writers' temporaries. For writers that fill the temporary over time
 * (the feature cache); the others use `atomicWrite`.
 * @throws TorchError `ERR_IO` when the system refuses (a loop of links, a folder it cannot read).
 */
export function beginAtomicWrite(file: string): PendingWrite {
  let target: string;
  let mode: number | undefined;
  try {
    target = resolveTarget(file);
    mode = statSync(target, { throwIfNoEntry: false })?.mode;
  } catch (e) {
    throw ioError(file, e);
  }
  const tmp = tempName(target);
  // Swept while the new file is written, so a killed writer's space comes back before this one needs as much.
  const sweep = removeStaleTemps(target).catch(() => []);
  return {
    target,
    tmp,
    commit: async () => {
      await sweep;
      try {
        // Permission bits (setuid/setgid/sticky included) of the replaced file, so a private file stays private.
        if (mode !== undefined) await fs.chmod(tmp, mode & 0o7777);
        await fs.rename(tmp, target);
      } catch (e) {
        throw ioError(file, e);
      }
      await fsyncDir(path.dirname(target));
    },
    abort: async () => {
      await sweep;
      await fs.rm(tmp, { force: true }).catch(() => undefined);
    },
  };
}

/**
 * The system's refusals (EACCES, ENOSPC, ENOTDIR, ...) as the library's coded error `ERR_IO` naming `file`; any other
 * error is returned as it is.
 */
export function ioError(file: string, e: unknown): unknown {
  if (e instanceof Error && !(e instanceof TorchError) && typeof (e as NodeJS.ErrnoException).syscall === 'string')
    return new TorchError(`cannot write '${file}': ${e.message}`, { code: 'ERR_IO', cause: e });
  return e;
}

// A writer's error names the temporary it was given; the caller knows only the file it asked for.
function renamed(e: unknown, tmp: string, file: string): unknown {
  if (!(e instanceof Error)) return e;
  if (e.message.includes(tmp)) e.message = e.message.split(tmp).join(file);
  const withPath = e as Error & { path?: unknown };
  if (withPath.path === tmp) withPath.path = file;
  return e;
}

/**
 * Writes `file` atomically through `write(tmp)`, which must create the complete file at `tmp` (durably). Follows a
 * symbolic link to the real target, writes beside it, gives the new file the mode of the file it replaces, renames
 * it into place and fsyncs the folder; temporaries of the same target left by killed writers are removed.
 * `write` is called before this returns (in the same tick), so it can capture its data at call time.
 * A failure or a killed process leaves the previous file intact.
 * @returns the real path written.
 * @throws the writer's own errors; TorchError `ERR_IO` when the system refuses.
 */
export async function atomicWrite(file: string, write: (tmp: string) => Promise<void>): Promise<string> {
  const w = beginAtomicWrite(file);
  try {
    await write(w.tmp).catch((e) => Promise.reject(ioError(file, renamed(e, w.tmp, file))));
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
  return w.target;
}

/**
 * `atomicWrite` for bytes or text produced in JavaScript: the temporary is created exclusively, written, fsynced.
 */
export async function atomicWriteFile(file: string, data: string | Uint8Array): Promise<string> {
  return atomicWrite(file, (tmp) => writeDurably(tmp, data));
}

/**
 * Creates `file` (which must not exist: a temporary) with `data` and fsyncs it, for writers that rename a whole
 * folder into place (the zoo) rather than one file.
 */
export async function writeDurably(file: string, data: string | Uint8Array): Promise<void> {
  const h = await fs.open(file, 'wx');
  try {
    await h.writeFile(data);
    await h.sync();
  } finally {
    await h.close();
  }
}
