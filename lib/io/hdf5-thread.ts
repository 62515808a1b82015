/**
 * The main-thread side of the HDF5 worker: one lazily started worker thread serves Keras reads one at a time, each
 * under a watchdog. A read that does not answer in time terminates the worker and fails with `ERR_HDF5_TIMEOUT`;
 * the next read starts a fresh one. The worker is unreferenced while idle (it never keeps the process alive).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { TorchError } from '../errors';
import { RawKeras, readKerasRaw } from './keras-raw';

interface Job {
  file: string;
  fileSize: number;
  resolve: (raw: RawKeras) => void;
  reject: (e: Error) => void;
}

const WORKER = path.join(__dirname, 'hdf5-worker.js');
const queue: Job[] = [];
let worker: Worker | undefined;
let current: { job: Job; timer: NodeJS.Timeout; w: Worker } | undefined;

/**
 * How long one read may take: 6 s plus 1 s per 4 MB of file, or the `TORCHGRAFT_HDF5_TIMEOUT_MS` environment variable
 * when it is a positive number. h5wasm reads and relayouts about 70 MB/s, so a real file gets over ten times the time it
 * needs; a damaged one that sends HDF5 into a long loop (a 1 MB Keras file spun 31 s) is stopped within seconds.
 */
export function watchdogMs(fileSize: number): number {
  const env = Number(process.env.TORCHGRAFT_HDF5_TIMEOUT_MS);
  if (Number.isFinite(env) && env > 0) return env;
  return 6_000 + Math.ceil(fileSize / 4e6) * 1000;
}

/** Ends the current job with `outcome` and starts the next one. */
function finish(outcome: { raw: RawKeras } | { error: Error }): void {
  const c = current;
  if (!c) return;
  current = undefined;
  clearTimeout(c.timer);
  if ('raw' in outcome) c.job.resolve(outcome.raw);
  else c.job.reject(outcome.error);
  next();
}

function start(): Worker {
  const w = new Worker(WORKER);
  w.on('message', (m: { raw?: RawKeras; error?: { message: string; code?: string } }) => {
    if (current?.w !== w) return;
    finish(m.error ? { error: new TorchError(m.error.message, { code: m.error.code }) } : { raw: m.raw as RawKeras });
  });
  const stopped = (why: string) => {
    if (worker === w) worker = undefined;
    if (current?.w === w) finish({ error: new TorchError(`keras: '${current.job.file}': the HDF5 reader thread stopped (${why})`, { code: 'ERR_HDF5' }) });
  };
  w.on('error', (e) => stopped(e.message));
  w.on('exit', (code) => stopped(`exit code ${code}`));
  w.unref();
  return w;
}

/** Sends the next queued job to the worker (started if needed) with its watchdog armed. */
function next(): void {
  if (current) return;
  const job = queue.shift();
  if (!job) {
    worker?.unref();
    return;
  }
  const w = (worker ??= start());
  w.ref();
  const ms = watchdogMs(job.fileSize);
  const timer = setTimeout(() => {
    if (current?.w !== w) return;
    // A worker stuck in HDF5 cannot be trusted again: end it; the next job gets a fresh one.
    worker = undefined;
    const file = current.job.file;
    finish({ error: new TorchError(`keras: '${file}': the HDF5 reader did not finish within ${ms} ms; its thread was stopped`, { code: 'ERR_HDF5_TIMEOUT' }) });
    void w.terminate();
  }, ms);
  timer.unref();
  current = { job, timer, w };
  w.postMessage({ file: path.resolve(job.file) });
}

/**
 * `readKerasRaw` in the HDF5 worker thread, so neither a large file nor a hostile one blocks the event loop; reads
 * queue and each runs under the watchdog (`watchdogMs`). Falls back to the calling thread when the compiled worker
 * is absent (running the TypeScript sources directly).
 * @throws TorchError `ERR_HDF5_TIMEOUT` when the reader does not answer in time, or the reader's own errors.
 */
export function readKerasRawOffThread(file: string, fileSize: number): Promise<RawKeras> {
  if (!fs.existsSync(WORKER)) return readKerasRaw(file);
  return new Promise<RawKeras>((resolve, reject) => {
    queue.push({ file, fileSize, resolve, reject });
    next();
  });
}
