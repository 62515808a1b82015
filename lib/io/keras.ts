/**
 * Keras HDF5 files (`model.save('x.h5')` full models and `save_weights('x.h5')` weight files, Keras 2 / tf.keras):
 * every layer's weights, converted to PyTorch's names and layouts (keras-layout.ts). Read and converted in the HDF5
 * worker thread; the model's JSON config is parsed as data only, and optimizer weights are ignored.
 */
import * as fs from 'node:fs';
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';
import { empty, tensor } from '../creation';
import type { DType } from '../dtype';
import { LoadedWeights, WeightReader, recordOf, withLayerOrder } from './registry';
import { RawDType, tensorFromLE } from './decode';
import type { ConvertedWeight, KerasLayerInfo, RawKeras } from './keras-raw';
import { readKerasRawOffThread } from './hdf5-thread';

export type { KerasLayerInfo } from './keras-raw';

const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

type View = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array;
const VIEW: Partial<Record<RawDType, { new (b: ArrayBuffer, offset?: number, length?: number): View; BYTES_PER_ELEMENT: number }>> = {
  float32: Float32Array, float64: Float64Array, int64: BigInt64Array, int32: Int32Array, int16: Int16Array, int8: Int8Array, uint8: Uint8Array,
};

/** Bytes copied into a tensor between two turns of the event loop: a few milliseconds of memcpy on a busy machine. */
const SLICE_BYTES = 1 << 20;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A tensor of converted bytes. A whole buffer the worker handed over is copied in slices of SLICE_BYTES into an
 * empty tensor, letting the event loop turn between slices, so even a huge weight never blocks it for long.
 */
async function tensorOf(w: ConvertedWeight): Promise<Tensor> {
  const View = VIEW[w.dtype];
  const whole = w.bytes.byteOffset === 0 && w.bytes.byteLength === w.bytes.buffer.byteLength;
  if (!View || !whole) return tensorFromLE(w.bytes, w.dtype, w.shape);
  const buffer = w.bytes.buffer as ArrayBuffer;
  if (buffer.byteLength <= SLICE_BYTES) return tensor(new View(buffer), { shape: w.shape });
  const out = empty(w.shape, { dtype: w.dtype as DType });
  try {
    const flat = out.view([-1]);
    try {
      const itemsize = View.BYTES_PER_ELEMENT;
      const step = Math.floor(SLICE_BYTES / itemsize);
      const n = buffer.byteLength / itemsize;
      for (let start = 0; start < n; start += step) {
        const len = Math.min(step, n - start);
        const part = tensor(new View(buffer, start * itemsize, len));
        const dst = flat.narrow(0, start, len);
        dst.copy_(part);
        dst.dispose();
        part.dispose();
        await turn();
      }
    } finally {
      flat.dispose();
    }
    return out;
  } catch (e) {
    out.dispose();
    throw e;
  }
}

/** Wraps every converted weight in a tensor off the event loop's critical path; on failure disposes all made so far. */
async function tensorsOf(file: string, raw: RawKeras): Promise<Record<string, Tensor>> {
  const made: [string, Tensor][] = [];
  try {
    for (const w of raw.weights) {
      made.push([w.name, await tensorOf(w)]);
      await turn();
    }
  } catch (e) {
    for (const [, t] of made) t.dispose();
    throw e instanceof TorchError ? e : new TorchError(`keras: '${file}': ${(e as Error).message}`, { code: 'ERR_KERAS_DATA', cause: e });
  }
  return recordOf(made);
}

async function readKeras(file: string): Promise<RawKeras> {
  let size: number;
  try {
    size = (await fs.promises.stat(file)).size;
  } catch (e) {
    throw new TorchError(`keras: cannot read '${file}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
  }
  return readKerasRawOffThread(file, size);
}

/**
 * Lists a Keras HDF5 file's layers (class, weights with Keras and PyTorch names and shapes, BatchNorm epsilon)
 * and the writer's attributes, reading the weights once to report converted shapes.
 * @throws the same errors as loading it.
 */
export async function inspectKeras(file: string): Promise<{ layers: KerasLayerInfo[]; attributes: Record<string, string>; optimizerWeights: boolean }> {
  const raw = await readKeras(file);
  return { layers: raw.infos, attributes: raw.attrs, optimizerWeights: raw.optimizer };
}

/**
 * Reads a Keras HDF5 file's weights in PyTorch layout: Dense kernel (in, out) -> `weight` (out, in); Conv1D/2D/3D
 * kernels -> (out, in, ...); DepthwiseConv2D (H, W, Cin, mult) -> (Cin*mult, 1, H, W); BatchNormalization
 * gamma/beta/moving_mean/moving_variance -> weight/bias/running_mean/running_var; Embedding -> `weight`.
 * Recurrent layers (LSTM, GRU) keep Keras' names and layout. Names are `<keras layer>.<name>`.
 * `metadata.layers` is a JSON list of KerasLayerInfo (class, epsilon, each weight's Keras name and shape);
 * `metadata.optimizer_weights` says when the file's optimizer state was ignored. `layerOrder` (and the tensors
 * object, for `io.proposeMapping`) records the names in `layer_names` order, the model's layer order.
 * @throws TorchError `ERR_HDF5` (not HDF5, corrupt), `ERR_KERAS_FORMAT` (no layer_names, bad config), `ERR_KERAS_UNSUPPORTED`
 *   (Keras 3 `.weights.h5` layout), `ERR_KERAS_DATA`
 *   (missing or oversized weights), `ERR_HDF5_EXTERNAL` (anything reaching another file: external storage, external
 *   links, virtual datasets, multi-file drivers), `ERR_HDF5_TIMEOUT` (the reader thread did not answer in time), `ERR_IO`;
 *   each names the file.
 */
export async function loadKeras(file: string): Promise<LoadedWeights> {
  return (await loadKerasWithConfig(file)).loaded;
}

/** loadKeras, with the file's `model_config` JSON text when it has one (for the model builder, io/model). */
export async function loadKerasWithConfig(file: string): Promise<{ loaded: LoadedWeights; modelConfig?: string }> {
  const raw = await readKeras(file);
  const metadata: Record<string, string> = { ...raw.attrs, layers: JSON.stringify(raw.infos) };
  if (raw.optimizer) metadata.optimizer_weights = 'present in the file, ignored';
  // layer_names lists the layers in the model's order (Keras writes model.layers), so file order is layer order.
  const names = raw.weights.map((w) => w.name);
  const loaded: LoadedWeights = { format: 'keras-h5', names, tensors: withLayerOrder(await tensorsOf(file, raw), names), metadata, layerOrder: [...names] };
  return { loaded, modelConfig: raw.modelConfig };
}

/** The HDF5 signature at offset 0 (a user block may move it, to 512, 1024, ...; those fall back to the extension). */
function sniffHdf5(head: Uint8Array): boolean {
  return head.length >= 8 && HDF5_MAGIC.every((b, i) => head[i] === b);
}

/** The registry entry for Keras HDF5. */
export const kerasReader: WeightReader = {
  format: 'keras-h5',
  extensions: ['.h5', '.hdf5', '.keras.h5'],
  sniff: sniffHdf5,
  read: loadKeras,
};
