/**
 * The HDF5 walk of a Keras file, without tensors: layer names, weights' bytes checked against the file's size, the
 * model config, and each weight already in PyTorch's name and layout. Runs in the HDF5 worker thread
 * (hdf5-worker.ts), so it imports nothing native and the main thread only wraps finished bytes in tensors.
 */
import { TorchError } from '../errors';
import type { RawDType } from './decode';
import { H5Object, MAX_EXPANSION, getLocal, readDatasetBytes, withHdf5 } from './hdf5';
import { layersOfConfig, planLayer, splitKerasName } from './keras-layout';
import { permuteBytes } from './permute-bytes';

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

/** Throws TorchError naming the Keras file and the problem. */
export function fail(file: string, problem: string, code = 'ERR_KERAS_FORMAT'): never {
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

/** One weight in PyTorch's name and layout: C-order little-endian bytes of `dtype` with `shape`. */
export interface ConvertedWeight {
  name: string;
  dtype: RawDType;
  shape: number[];
  bytes: Uint8Array;
}

/** What the worker hands the main thread. */
export interface RawKeras {
  weights: ConvertedWeight[];
  infos: KerasLayerInfo[];
  attrs: Record<string, string>;
  optimizer: boolean;
  /** The root's `model_config` JSON text (full-model files), for the model builder. */
  modelConfig?: string;
}

interface Stored {
  stored: string;
  dtype: RawDType;
  shape: number[];
  bytes: Uint8Array;
}

const ITEM: Record<string, number> = { float32: 4, float64: 8, int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, int64: 8 };

/** uint16 -> int32 and uint32 -> int64 (exact; torchgraft has neither unsigned type); others as they are. */
function widened(w: { dtype: RawDType; bytes: Uint8Array }): { dtype: RawDType; bytes: Uint8Array } {
  const b = w.bytes;
  if (w.dtype === 'uint16') return { dtype: 'int32', bytes: new Uint8Array(Int32Array.from(new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2)).buffer) };
  if (w.dtype === 'uint32') return { dtype: 'int64', bytes: new Uint8Array(BigInt64Array.from(new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4), (v) => BigInt(v)).buffer) };
  return w;
}

function parseConfig(file: string, text: string | undefined) {
  if (text === undefined) return new Map<string, { className: string; config: Record<string, unknown> }>();
  try {
    return layersOfConfig(JSON.parse(text));
  } catch (e) {
    fail(file, `model_config is not valid JSON (${(e as Error).message})`);
  }
}

/** Each layer's stored weights converted to PyTorch names and layouts, with the layer descriptions. */
function convert(file: string, layers: { name: string; weights: Stored[] }[], modelConfig: string | undefined): { weights: ConvertedWeight[]; infos: KerasLayerInfo[] } {
  const classes = parseConfig(file, modelConfig);
  const weights: ConvertedWeight[] = [];
  const infos: KerasLayerInfo[] = [];
  const seen = new Set<string>();
  for (const layer of layers) {
    const spec = classes.get(layer.name);
    const vars = layer.weights.map((w) => ({ ...splitKerasName(layer.name, w.stored), stored: w.stored, shape: w.shape }));
    const plans = planLayer(layer.name, spec?.className, vars);
    plans.forEach((plan, i) => {
      const w = layer.weights[i];
      if (seen.has(plan.name)) fail(file, `two weights convert to the same name '${plan.name}'`, 'ERR_KERAS_DATA');
      seen.add(plan.name);
      const bytes = plan.perm ? permuteBytes(w.bytes, ITEM[w.dtype], w.shape, plan.perm) : w.bytes;
      weights.push({ name: plan.name, shape: plan.shape, ...widened({ dtype: w.dtype, bytes }) });
    });
    const info: KerasLayerInfo = {
      name: layer.name,
      className: spec?.className,
      weights: plans.map((p) => ({ keras: p.from, kerasShape: p.kerasShape, name: p.name, shape: p.shape, layout: p.layout })),
    };
    if (spec?.className === 'BatchNormalization' || vars.some((v) => v.variable === 'moving_variance')) {
      // Keras' defaults apply when the config does not say (weight-only files).
      info.epsilon = typeof spec?.config.epsilon === 'number' ? spec.config.epsilon : 1e-3;
      info.momentum = typeof spec?.config.momentum === 'number' ? spec.config.momentum : 0.99;
    }
    infos.push(info);
  }
  return { weights, infos };
}

/**
 * Walks a Keras HDF5 file (full model or weights only), copies out every listed weight and converts it to PyTorch's
 * name and layout. Anything reaching outside the file is TorchError `ERR_HDF5_EXTERNAL` naming the layer or weight.
 */
export function readKerasRaw(file: string): Promise<RawKeras> {
  return withHdf5(file, 'keras', (root, fileSize) => {
    const get = (parent: H5Object, name: string, what: string) => getLocal(parent, name, 'keras', file, what);
    const mw = root.keys?.().includes('model_weights') ? get(root, 'model_weights', "group 'model_weights'") : root;
    if (!mw || mw.type !== 'Group') fail(file, "'model_weights' is not a group");
    const attrs: Record<string, string> = {};
    for (const k of ['keras_version', 'backend']) {
      const v = stringAttr(root, k) ?? stringAttr(mw, k);
      if (v !== undefined) attrs[k] = v;
    }
    const layers: { name: string; weights: Stored[] }[] = [];
    let total = 0;
    // Keras 3 writes `.weights.h5` files as layers/<name>/vars/<i> without layer_names: a different layout.
    if (!mw.attrs.layer_names && root.keys?.().includes('layers'))
      fail(file, "has a 'layers' group but no layer_names: a Keras 3 weights file, which is not supported (save with Keras 2 / tf.keras .h5)", 'ERR_KERAS_UNSUPPORTED');
    for (const layer of stringList(file, mw, 'layer_names', mw === root ? 'the root group' : "'model_weights'")) {
      const g = get(mw, layer, `layer '${layer}'`);
      if (!g || g.type !== 'Group') fail(file, `layer '${layer}' is listed in layer_names but has no group`);
      const weights: Stored[] = [];
      for (const stored of stringList(file, g, 'weight_names', `layer '${layer}'`)) {
        const what = `weight '${layer}/${stored}'`;
        const ds = get(g, stored, what);
        const bad = (problem: string): never => fail(file, `${what} ${problem}`, 'ERR_KERAS_DATA');
        const external = (problem: string): never => fail(file, `${what} ${problem}; torchgraft reads nothing outside the file it is given`, 'ERR_HDF5_EXTERNAL');
        if (!ds) bad('is listed in weight_names but missing');
        const w = readDatasetBytes(ds as H5Object, fileSize, bad, external);
        total += w.bytes.length;
        // Each dataset is checked alone; together they must still fit the file's decompression bound.
        if (total > fileSize * MAX_EXPANSION) bad('brings the declared data beyond what the file can hold');
        weights.push({ stored, dtype: w.dtype, shape: w.shape, bytes: w.bytes.slice() });
      }
      layers.push({ name: layer, weights });
    }
    const optimizer = !!root.keys?.().includes('optimizer_weights');
    return { ...convert(file, layers, stringAttr(root, 'model_config')), attrs, optimizer, modelConfig: stringAttr(root, 'model_config') };
  });
}
