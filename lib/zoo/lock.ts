/** A lock file taken with O_EXCL: one writer at a time across processes for catalog-wide changes. */
import { promises as fs } from 'node:fs';
import { TorchError } from '../errors';

const STALE_MS = 30_000;

/**
 * Runs `fn` while holding `file` (created exclusively; removed after). Waits while another process holds it;
 * a lock older than 30 s is taken as left by a killed process and broken.
 */
export async function withLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    try {
      const h = await fs.open(file, 'wx');
      await h.writeFile(String(process.pid));
      await h.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = await fs.stat(file).catch(() => null);
      if (st && Date.now() - st.mtimeMs > STALE_MS) await fs.rm(file, { force: true });
      else if (Date.now() - start > timeoutMs) throw new TorchError(`zoo: timed out waiting for the lock ${file}`, { code: 'ERR_ZOO_LOCKED' });
      else await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(file, { force: true });
  }
}
