/** Who made a file: this host's short tag and whether a process of this host still runs, for temporaries and locks. */
import { createHash } from 'node:crypto';
import * as os from 'node:os';

let tag: string | undefined;

/** 8 hex digits derived from the host name: short and safe in a file name, the same for every process of a host. */
export function hostTag(): string {
  tag ??= createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);
  return tag;
}

/**
 * True only when no process with this pid runs on this host (signal 0 answers ESRCH). A live process of another
 * user (EPERM), our own pid and any doubt count as alive: a live writer's file is never taken.
 */
export function pidIsDead(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
