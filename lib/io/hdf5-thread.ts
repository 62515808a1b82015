/**
 * The main-thread side of the HDF5 worker: one lazily started worker thread serves every Keras read in turn; it is
 * unreferenced while idle (it never keeps the process alive) and restarted if it ever stops.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { TorchError } from '../errors';
import { RawKeras, readKerasRaw } from './keras-raw';

interface Pending {
  file: string;
  resolve: (raw: RawKeras) => void;
  reject: (e: Error) => void;
}

const WORKER = path.join(__dirname, 'hdf5-worker.js');
const pending = new Map<number, Pending>();
let worker: Worker | undefined;
let nextId = 0;

function stopped(w: Worker, why: string): void {
  if (worker !== w) return;
  worker = undefined;
  for (const [id, p] of pending) {
    pending.delete(id);
    p.reject(new TorchError(`keras: '${p.file}': the HDF5 reader thread stopped (${why})`, { code: 'ERR_HDF5' }));
  }
}

function start(): Worker {
  const w = new Worker(WORKER);
  w.on('message', (m: { id: number; raw?: RawKeras; error?: { message: string; code?: string } }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (!pending.size) w.unref();
    if (m.error) p.reject(new TorchError(m.error.message, { code: m.error.code }));
    else p.resolve(m.raw as RawKeras);
  });
  w.on('error', (e) => stopped(w, e.message));
  w.on('exit', (code) => stopped(w, `exit code ${code}`));
  w.unref();
  return w;
}

/**
 * `readKerasRaw` in the HDF5 worker thread, so a large file does not block the event loop. Falls back to the
 * calling thread when the compiled worker is absent (running the TypeScript sources directly).
 */
export function readKerasRawOffThread(file: string, fileSize: number): Promise<RawKeras> {
  if (!fs.existsSync(WORKER)) return readKerasRaw(file, fileSize);
  worker ??= start();
  const w = worker;
  const id = nextId++;
  return new Promise<RawKeras>((resolve, reject) => {
    pending.set(id, { file, resolve, reject });
    w.ref();
    w.postMessage({ id, file: path.resolve(file), fileSize });
  });
}
