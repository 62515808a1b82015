/**
 * Keras HDF5 files (`model.save('x.h5')` full models and `save_weights('x.h5')` weight files, Keras 2 / tf.keras):
 * every layer's weights, converted to PyTorch's names and layouts (keras-layout.ts). Read with h5wasm; the model's
 * JSON config is parsed as data only, and optimizer weights are ignored.
 */
import * as fs from 'node:fs';
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';
import { LoadedWeights, WeightReader, recordOf } from './registry';
import { H5Object, readDatasetBytes, withHdf5 } from './hdf5';
import { RawDType, tensorFromLE } from './decode';
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

function fail(file: string, problem: string, code = 'ERR_KERAS_FORMAT'): never {
  throw new TorchError(`keras: '${file}': ${problem}`, { code });
}

/** A string or string-list attribute as a list (h5wasm decodes fixed-length and variable-length strings alike). */
function stringList(file: string, obj: H5Object, attr: string, where: string): string[] {
  const a = obj.attrs[attr];
  if (!a) fail(file, `${where} has no '${attr}' attribute (not a Keras HDF5 weights file?)`);
  const v = a.value;
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : ArrayBuffer.isView(v) && (v as Uint8Array).length === 0 ? [] : null;
  if (!list || !list.every((s) => typeof s === 'string')) fail(file, `${where}: attribute '${attr}' is not a list of strings`);
  return list as string[];
}

function stringAttr(obj: H5Object, name: string): string | undefined {
  const v = obj.attrs[name]?.value;
  return typeof v === 'string' ? v : undefined;
}

interface StoredWeight {
  stored: string;
  dtype: RawDType;
  shape: number[];
  bytes: Uint8Array;
}

interface RawKeras {
  layers: { name: string; weights: StoredWeight[] }[];
  attrs: Record<string, string>;
  modelConfig?: string;
  optimizer: boolean;
}

function readRaw(file: string, fileSize: number): Promise<RawKeras> {
  return withHdf5(file, 'keras', (root) => {
    const mw = root.keys?.().includes('model_weights') ? root.get?.('model_weights') : root;
    if (!mw || mw.type !== 'Group') fail(file, "'model_weights' is not a group");
    const attrs: Record<string, string> = {};
    for (const k of ['keras_version', 'backend']) {
      const v = stringAttr(root, k) ?? stringAttr(mw, k);
      if (v !== undefined) attrs[k] = v;
    }
    const layers: RawKeras['layers'] = [];
    let total = 0;
    // Keras 3 writes `.weights.h5` files as layers/<name>/vars/<i> without layer_names: a different layout.
    if (!mw.attrs.layer_names && root.keys?.().includes('layers'))
      fail(file, "has a 'layers' group but no layer_names: a Keras 3 weights file, which is not supported (save with Keras 2 / tf.keras .h5)", 'ERR_KERAS_UNSUPPORTED');
    for (const layer of stringList(file, mw, 'layer_names', mw === root ? 'the root group' : "'model_weights'")) {
      const g = mw.get?.(layer);
      if (!g || g.type !== 'Group') fail(file, `layer '${layer}' is listed in layer_names but has no group`);
      const weights: StoredWeight[] = [];
      for (const stored of stringList(file, g, 'weight_names', `layer '${layer}'`)) {
        const ds = g.get?.(stored);
        const bad = (problem: string): never => fail(file, `weight '${layer}/${stored}' ${problem}`, 'ERR_KERAS_DATA');
        if (!ds) bad('is listed in weight_names but missing');
        const w = readDatasetBytes(ds as H5Object, fileSize, bad);
        total += w.bytes.length;
        // Each dataset is checked alone; together they must still fit the file's decompression bound.
        if (total > fileSize * 1032) bad('brings the declared data beyond what the file can hold');
        weights.push({ stored, dtype: w.dtype, shape: w.shape, bytes: w.bytes.slice() });
      }
      layers.push({ name: layer, weights });
    }
    return { layers, attrs, modelConfig: stringAttr(root, 'model_config'), optimizer: !!root.keys?.().includes('optimizer_weights') };
  });
}

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
  const raw = await readRaw(file, size);
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
