/**
 * Keras HDF5 files (`model.save('x.h5')` full models and `save_weights('x.h5')` weight files, Keras 2 / tf.keras):
 * every layer's weights, converted to PyTorch's names and layouts (keras-layout.ts). Read with h5wasm; the model's
 * JSON config is parsed as data only, and optimizer weights are ignored.
 */
import * as fs from 'node:fs';
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';
import { LoadedWeights, WeightReader, recordOf } from './registry';
import { tensorFromLE } from './decode';
import { RawKeras, fail } from './keras-raw';
import { readKerasRawOffThread } from './hdf5-thread';
import { ConvertedVariable, KerasVariable, convertLayer, layersOfConfig, splitKerasName } from './keras-layout';

/** One Keras layer as `inspectKeras` and the metadata report it. */
export interface KerasLayerInfo {
  name: string;
  /** Keras class (`Conv2D`, `BatchNormalization`, ...) from the model config; undefined in weight-only files. */
  className?: string;
  /** Its weights: stored name, Keras shape, PyTorch name and shape, layout change. */
  weights: { keras: string; kerasShape: number[]; name: string; shape: number[]; layout: string }[];
  /** BatchNormalization's epsilon and momentum (Keras defaults 1e-3 and 0.99; PyTorch's momentum is 1 - Keras'). */
  epsilon?: number;
  momentum?: number;
}

const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** Turns stored weights into converted tensors; disposes everything made so far when one fails. */
function convertAll(file: string, raw: RawKeras, classes: Map<string, { className: string; config: Record<string, unknown> }>) {
  const made: ConvertedVariable[] = [];
  const infos: KerasLayerInfo[] = [];
  try {
    for (const layer of raw.layers) {
      const spec = classes.get(layer.name);
      const vars: KerasVariable[] = [];
      for (const w of layer.weights) vars.push({ stored: w.stored, ...splitKerasName(layer.name, w.stored), tensor: tensorFromLE(w.bytes, w.dtype, w.shape) });
      const converted = convertLayer(layer.name, spec?.className, vars);
      made.push(...converted);
      const info: KerasLayerInfo = {
        name: layer.name,
        className: spec?.className,
        weights: converted.map((c) => ({ keras: c.from, kerasShape: c.kerasShape, name: c.name, shape: [...c.tensor.shape], layout: c.layout })),
      };
      if (spec?.className === 'BatchNormalization' || vars.some((v) => v.variable === 'moving_variance')) {
        // Keras' defaults apply when the config does not say (weight-only files).
        info.epsilon = typeof spec?.config.epsilon === 'number' ? spec.config.epsilon : 1e-3;
        info.momentum = typeof spec?.config.momentum === 'number' ? spec.config.momentum : 0.99;
      }
      infos.push(info);
    }
    const seen = new Set<string>();
    for (const c of made) {
      if (seen.has(c.name)) fail(file, `two weights convert to the same name '${c.name}'`);
      seen.add(c.name);
    }
  } catch (e) {
    for (const c of made) c.tensor.dispose();
    throw e instanceof TorchError ? e : new TorchError(`keras: '${file}': ${(e as Error).message}`, { code: 'ERR_KERAS_DATA', cause: e });
  }
  return { made, infos };
}

function parseConfig(file: string, text: string | undefined) {
  if (text === undefined) return new Map<string, { className: string; config: Record<string, unknown> }>();
  try {
    return layersOfConfig(JSON.parse(text));
  } catch (e) {
    fail(file, `model_config is not valid JSON (${(e as Error).message})`);
  }
}

async function readKeras(file: string): Promise<{ made: ConvertedVariable[]; infos: KerasLayerInfo[]; raw: RawKeras }> {
  let size: number;
  try {
    size = (await fs.promises.stat(file)).size;
  } catch (e) {
    throw new TorchError(`keras: cannot read '${file}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
  }
  const raw = await readKerasRawOffThread(file, size);
  const { made, infos } = convertAll(file, raw, parseConfig(file, raw.modelConfig));
  return { made, infos, raw };
}

/**
 * Lists a Keras HDF5 file's layers (class, weights with Keras and PyTorch names and shapes, BatchNorm epsilon)
 * and the writer's attributes, reading the weights once to report converted shapes.
 * @throws the same errors as loading it.
 */
export async function inspectKeras(file: string): Promise<{ layers: KerasLayerInfo[]; attributes: Record<string, string>; optimizerWeights: boolean }> {
  const { made, infos, raw } = await readKeras(file);
  for (const c of made) c.tensor.dispose();
  return { layers: infos, attributes: raw.attrs, optimizerWeights: raw.optimizer };
}

/**
 * Reads a Keras HDF5 file's weights in PyTorch layout: Dense kernel (in, out) -> `weight` (out, in); Conv1D/2D/3D
 * kernels -> (out, in, ...); DepthwiseConv2D (H, W, Cin, mult) -> (Cin*mult, 1, H, W); BatchNormalization
 * gamma/beta/moving_mean/moving_variance -> weight/bias/running_mean/running_var; Embedding -> `weight`.
 * Recurrent layers (LSTM, GRU) keep Keras' names and layout. Names are `<keras layer>.<name>`.
 * `metadata.layers` is a JSON list of KerasLayerInfo (class, epsilon, each weight's Keras name and shape);
 * `metadata.optimizer_weights` says when the file's optimizer state was ignored.
 * @throws TorchError `ERR_HDF5` (not HDF5, corrupt), `ERR_KERAS_FORMAT` (no layer_names, bad config), `ERR_KERAS_UNSUPPORTED`
 *   (Keras 3 `.weights.h5` layout), `ERR_KERAS_DATA`
 *   (missing or oversized weights), `ERR_IO`; each names the file.
 */
export async function loadKeras(file: string): Promise<LoadedWeights> {
  const { made, infos, raw } = await readKeras(file);
  const metadata: Record<string, string> = { ...raw.attrs, layers: JSON.stringify(infos) };
  if (raw.optimizer) metadata.optimizer_weights = 'present in the file, ignored';
  return { format: 'keras-h5', names: made.map((c) => c.name), tensors: recordOf(made.map((c) => [c.name, c.tensor] as [string, Tensor])), metadata };
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
