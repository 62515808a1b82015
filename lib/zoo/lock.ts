/**
 * A lock file that names its owner (pid, host, time, a nonce): one writer at a time across processes for
 * catalog-wide changes, and a lock left by a killed process of this host is taken over at once.
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import { randomBytes } from 'node:crypto';
import { TorchError } from '../errors';
import { hostTag, pidIsDead } from '../io/owner';

// A lock whose owner cannot be checked (another host, an unreadable file) is taken as abandoned after this long.
const STALE_MS = 30_000;

/** What a lock file says about its owner. */
export interface LockOwner {
  pid: number;
  /** The host name, and its tag as temporary names carry it. */
  host: string;
  hostTag: string;
  /** When the lock was taken (ISO 8601). */
  time: string;
  /** Unique per acquisition: tells this lock apart from a later one of the same process. */
  nonce: string;
}

/** Reads a lock file's owner; undefined when the file is absent, and null when it names no owner we can parse. */
export async function readLockOwner(file: string): Promise<LockOwner | null | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return null;
  }
  return parseOwner(text);
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text);
    if (o && Number.isSafeInteger(o.pid) && typeof o.hostTag === 'string' && typeof o.nonce === 'string') return o as LockOwner;
  } catch {
    // Older versions wrote the bare pid, with no host: such a lock is judged by its age.
  }
  return null;
}

/**
 * Creates `file` holding `owner`, exclusively and whole: the content is written to a private name first and
 * hard-linked into place, so no reader ever sees an empty lock. Returns false when the lock exists.
 */
async function create(file: string, owner: LockOwner): Promise<boolean> {
  const draft = `${file}.${owner.hostTag}-${owner.pid}-${owner.nonce}`;
  await fs.writeFile(draft, JSON.stringify(owner) + '\n', { flag: 'wx' });
  try {
    await fs.link(draft, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await fs.rm(draft, { force: true });
  }
}

function newOwner(): LockOwner {
  return { pid: process.pid, host: os.hostname(), hostTag: hostTag(), time: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
}

/** Whether the lock's owner is gone: a dead process of this host at once, anything we cannot check after STALE_MS. */
async function abandoned(file: string, owner: LockOwner | null): Promise<boolean> {
  if (owner && owner.hostTag === hostTag()) return pidIsDead(owner.pid);
  const st = await fs.stat(file).catch(() => null);
  return st !== null && Date.now() - st.mtimeMs > STALE_MS;
}

/**
 * Removes the lock `file` if it still is the abandoned lock `seen` (same nonce, or same bytes for an old lock).
 * Takeovers are serialised by a second lock, `<file>.takeover`, so two waiters never both remove a lock: the second
 * would find a different nonce (a live owner's) and leave it. Returns whether this call removed it.
 */
async function takeOver(file: string, seenText: string): Promise<boolean> {
  const guard = `${file}.takeover`;
  const me = newOwner();
  if (!(await create(guard, me))) {
    // A waiter killed inside the few milliseconds of its takeover leaves the guard behind; clear it the same way.
    const g = await readLockOwner(guard);
    if (g !== undefined && (await abandoned(guard, g))) await removeIfSame(guard, g === null ? null : g.nonce);
    return false;
  }
  try {
    const now = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (now !== seenText) return false;
    await fs.rm(file, { force: true });
    return true;
  } finally {
    await removeIfSame(guard, me.nonce);
  }
}

// Removes a lock only while it still carries `nonce` (null: whatever it holds), so a newer owner's lock is kept.
async function removeIfSame(file: string, nonce: string | null): Promise<void> {
  const now = await readLockOwner(file);
  if (now === undefined) return;
  if (nonce === null || (now !== null && now.nonce === nonce)) await fs.rm(file, { force: true });
}

/**
 * Runs `fn` while holding the lock `file`, which names this process as its owner; removes it after. Waits while
 * a live process holds it; takes over at once a lock whose owner was a process of this host that no longer runs,
 * and after 30 s one whose owner cannot be checked (another host, an old lock format).
 * @throws TorchError `ERR_ZOO_LOCKED` naming the owner when the lock stays held longer than `timeoutMs`.
 */
export async function withLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  let me: LockOwner;
  for (;;) {
    me = newOwner();
    if (await create(file, me)) break;
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // released between our attempt and the read: try again at once
    const owner = parseOwner(text);
    if ((await abandoned(file, owner)) && (await takeOver(file, text))) continue;
    if (Date.now() - start > timeoutMs) {
      const who = owner ? `process ${owner.pid} on ${owner.host} since ${owner.time}` : 'an unknown owner';
      throw new TorchError(`zoo: timed out after ${timeoutMs} ms waiting for the lock ${file}, held by ${who}`, { code: 'ERR_ZOO_LOCKED' });
    }
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
  }
  try {
    return await fn();
  } finally {
    await removeIfSame(file, me.nonce);
  }
}
