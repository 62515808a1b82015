/**
 * The decode worker thread: runs decode-bytes.ts jobs (dequantization, widening, byte swaps, reordering) off the
 * JavaScript thread; inputs arrive transferred or shared, outputs go back transferred (no copies either way).
 */
import { parentPort } from 'node:worker_threads';
import { DecodeJob, runJobs } from './decode-bytes';

/** A request from decode-thread.ts. */
interface Request {
  id: number;
  buffers: Uint8Array[];
  jobs: DecodeJob[];
}

parentPort?.on('message', ({ id, buffers, jobs }: Request) => {
  try {
    const out = runJobs(buffers, jobs);
    parentPort?.postMessage({ id, out }, out.map((d) => d.bytes.buffer as ArrayBuffer));
  } catch (e) {
    parentPort?.postMessage({ id, error: String((e as Error)?.message ?? e) });
  }
});
