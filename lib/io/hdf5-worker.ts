/**
 * The HDF5 worker thread: runs h5wasm's synchronous reads of Keras files and their relayout off the JavaScript
 * thread, and isolates the WebAssembly HDF5 library from the main thread (a failure or a hang there ends this
 * thread, not the process). It serves one request at a time (hdf5-thread.ts queues them).
 */
import { parentPort } from 'node:worker_threads';
import { TorchError } from '../errors';
import { readKerasRaw } from './keras-raw';

parentPort?.on('message', async ({ file }: { file: string }) => {
  try {
    const raw = await readKerasRaw(file);
    // The weights' bytes move to the main thread without a copy (each is a whole buffer of its own).
    const transfer = [...new Set(raw.weights.map((w) => w.bytes.buffer as ArrayBuffer))];
    parentPort?.postMessage({ raw }, transfer);
  } catch (e) {
    const err = e as TorchError;
    parentPort?.postMessage({ error: { message: err?.message ?? String(e), code: err instanceof TorchError ? err.code : 'ERR_HDF5' } });
  }
});
