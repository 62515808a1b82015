/**
 * The HDF5 worker thread: runs h5wasm's synchronous reads of Keras files off the JavaScript thread, and isolates
 * the WebAssembly HDF5 library from the main thread (a failure there ends this thread, not the process).
 */
import { parentPort } from 'node:worker_threads';
import { TorchError } from '../errors';
import { readKerasRaw } from './keras-raw';

/** A request from hdf5-thread.ts. */
interface Request {
  id: number;
  file: string;
  fileSize: number;
}

parentPort?.on('message', async ({ id, file, fileSize }: Request) => {
  try {
    const raw = await readKerasRaw(file, fileSize);
    // The weights' bytes move to the main thread without a copy.
    const transfer = raw.layers.flatMap((l) => l.weights.map((w) => w.bytes.buffer as ArrayBuffer));
    parentPort?.postMessage({ id, raw }, transfer);
  } catch (e) {
    const err = e as TorchError;
    parentPort?.postMessage({ id, error: { message: err?.message ?? String(e), code: err instanceof TorchError ? err.code : 'ERR_HDF5' } });
  }
});
