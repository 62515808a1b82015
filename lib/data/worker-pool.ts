/** A fixed set of worker threads that answer tasks by id; any failure of one rejects everything pending, never hangs. */
import { Worker } from 'node:worker_threads';
import { TorchError } from '../errors';

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** What a worker script posts back: `{ id, result }`, `{ id, error }`, or `{ ready: true }` once it has started. */
interface Reply {
  id?: number;
  result?: unknown;
  error?: string;
  ready?: boolean;
  initError?: string;
}

/**
 * Worker threads running one script, each answering `run(k, task)` in the order asked. A worker that throws outside a
 * task, exits, or runs out of memory fails the whole pool: every pending and later task rejects with ERR_DATA_WORKER
 * naming the worker and the cause, and the other workers are terminated. Idle workers do not keep Node alive.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private failure?: TorchError;
  private closing = false;

  constructor(
    script: string,
    workerData: unknown,
    size: number,
    private readonly what: string,
  ) {
    for (let k = 0; k < size; k++) {
      const worker = new Worker(script, { workerData, stdout: false, stderr: false });
      const slot: Slot = { worker, pending: new Map() };
      worker.unref();
      worker.on('message', (m: Reply) => this.onReply(slot, m));
      worker.on('error', (e: Error) => this.fail(k, `threw ${e?.message ?? String(e)}`, e));
      worker.on('exit', (code) => {
        if (!this.closing) this.fail(k, `exited (code ${code})`);
      });
      this.slots.push(slot);
    }
  }

  /** Whether tasks can still be run (no worker failed, not closed). */
  get usable(): boolean {
    return !this.failure && !this.closing;
  }

  /** Number of workers. */
  get size(): number {
    return this.slots.length;
  }

  /** Sends a task to worker k; resolves with its result. */
  run<T>(k: number, task: object, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new TorchError(`${this.what}: the worker pool is closed`, { code: 'ERR_DATA_WORKER' }));
    const slot = this.slots[k];
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      // a worker with work keeps Node alive until it answers
      if (slot.pending.size === 1) slot.worker.ref();
      slot.worker.postMessage({ ...task, id }, transfer);
    });
  }

  /** Terminates every worker; pending tasks reject. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const err = this.failure ?? new TorchError(`${this.what}: the worker pool was closed`, { code: 'ERR_DATA_WORKER' });
    for (const s of this.slots) this.rejectAll(s, err);
    await Promise.all(this.slots.map((s) => s.worker.terminate().catch(() => undefined)));
  }

  private onReply(slot: Slot, m: Reply): void {
    if (m.initError !== undefined) return this.fail(this.slots.indexOf(slot), `could not start: ${m.initError}`);
    if (m.id === undefined) return;
    const p = slot.pending.get(m.id);
    if (!p) return;
    slot.pending.delete(m.id);
    if (slot.pending.size === 0) slot.worker.unref();
    if (m.error !== undefined) p.reject(new TorchError(m.error, { code: 'ERR_DATA_WORKER' }));
    else p.resolve(m.result);
  }

  private fail(k: number, why: string, cause?: unknown): void {
    if (this.failure || this.closing) return;
    this.failure = new TorchError(`${this.what}: worker ${k} ${why}`, { code: 'ERR_DATA_WORKER', cause });
    for (const s of this.slots) this.rejectAll(s, this.failure);
    void this.close();
  }

  private rejectAll(s: Slot, err: Error): void {
    for (const p of s.pending.values()) p.reject(err);
    s.pending.clear();
    s.worker.unref();
  }
}
