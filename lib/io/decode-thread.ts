/**
 * Decoding big foreign tensors without blocking the event loop: byte work (decode-bytes.ts) runs in one lazily
 * started worker thread, inputs transferred to it and outputs back without copies, and tensors are then built in
 * slices of a few megabytes with a turn of the event loop between slices. Small inputs are decoded in place.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { binding } from '../native';
import { TorchError } from '../errors';
import { empty } from '../creation';
import type { DType } from '../dtype';
import type { Tensor } from '../tensor';
import { DecodeJob, Decoded, isPassthrough, passthrough, runJobs } from './decode-bytes';

/** Inputs smaller than this are decoded on the calling thread: a worker round trip would cost more. */
export const OFF_THREAD_BYTES = 4 << 20;
/** Bytes copied into a tensor per turn of the event loop: about a millisecond of memcpy on an idle core. */
const SLICE_BYTES = 2 << 20;

const ELEMENT: Record<DType, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1 } as Record<DType, number>;

const WORKER = path.join(__dirname, 'decode-worker.js');
const pending = new Map<number, { resolve: (d: Decoded[]) => void; reject: (e: Error) => void }>();
let worker: Worker | undefined;
let nextId = 0;

function stopped(w: Worker, why: string): void {
  if (worker !== w) return;
  worker = undefined;
  for (const [id, p] of pending) {
    pending.delete(id);
    p.reject(new TorchError(`the decode thread stopped (${why})`, { code: 'ERR_DECODE_THREAD' }));
  }
}

function start(): Worker {
  const w = new Worker(WORKER);
  w.on('message', (m: { id: number; out?: Decoded[]; error?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (!pending.size) w.unref();
    if (m.error !== undefined) p.reject(new TorchError(m.error, { code: 'ERR_DECODE_THREAD' }));
    else p.resolve(m.out as Decoded[]);
  });
  w.on('error', (e) => stopped(w, e.message));
  w.on('exit', (code) => stopped(w, `exit code ${code}`));
  w.unref(); // an idle decode thread never keeps the process alive
  return w;
}

/** A view that owns its whole ArrayBuffer can be transferred; any other is copied first (once). */
function transferable(b: Uint8Array): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer)) return b;
  const c = new Uint8Array(b.byteLength);
  c.set(b);
  return c;
}

/**
 * Runs decode jobs over `buffers`. Big inputs go to the worker thread and are TRANSFERRED: the caller must not use
 * `buffers` (or views of them) afterwards. Errors are plain Errors; the format readers wrap them in coded ones.
 */
export function decodeMany(buffers: Uint8Array[], jobs: DecodeJob[]): Promise<Decoded[]> {
  const total = jobs.reduce((s, j) => s + j.length, 0);
  // Bytes already in their final form need no worker: the tensors are filled from views of them, in slices.
  // Slices across several buffers (TF.js shards) are joined in the worker instead, off this thread.
  if (jobs.every((j) => isPassthrough(j) && (j.buffer !== -1 || buffers.length === 1))) {
    try {
      return Promise.resolve(jobs.map((j) => passthrough(buffers, j)));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  if (total < OFF_THREAD_BYTES || !fs.existsSync(WORKER)) {
    try {
      return Promise.resolve(runJobs(buffers, jobs));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  worker ??= start();
  const w = worker;
  const id = nextId++;
  const sent = buffers.map(transferable);
  return new Promise<Decoded[]>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.ref();
    w.postMessage({ id, buffers: sent, jobs }, sent.map((b) => b.buffer as ArrayBuffer));
  });
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * A contiguous CPU tensor of `shape` from native-order element bytes of `dtype`, copied in slices with a turn of the
 * event loop between them, so that a large tensor never holds the JavaScript thread for long.
 */
export async function tensorFromDecoded(d: Decoded, shape: number[]): Promise<Tensor> {
  const size = ELEMENT[d.dtype];
  const numel = d.bytes.length / size;
  const strides = (s: number[]) => s.map((_, k) => s.slice(k + 1).reduce((a, b) => a * b, 1));
  if (d.bytes.length <= SLICE_BYTES) return binding.tensorFromBytes(d.bytes, d.dtype, shape, strides(shape), 0) as Tensor;
  const flat = empty([numel], { dtype: d.dtype });
  try {
    const per = Math.floor(SLICE_BYTES / size);
    for (let at = 0; at < numel; at += per) {
      const n = Math.min(per, numel - at);
      const src = binding.tensorFromBytes(d.bytes.subarray(at * size, (at + n) * size), d.dtype, [n], [1], 0) as Tensor;
      const dst = flat.narrow(0, at, n);
      dst.copy_(src);
      dst.dispose();
      src.dispose();
      await yieldToLoop();
    }
    const out = flat.reshape(shape);
    return out;
  } finally {
    flat.dispose();
  }
}

/** Decodes jobs (off the thread when big) and builds their tensors in slices; disposes what it made if one fails. */
export async function tensorsFromJobs(buffers: Uint8Array[], jobs: DecodeJob[], shapes: number[][]): Promise<Tensor[]> {
  const decoded = await decodeMany(buffers, jobs);
  const made: Tensor[] = [];
  try {
    for (let i = 0; i < decoded.length; i++) made.push(await tensorFromDecoded(decoded[i], shapes[i]));
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
  return made;
}
