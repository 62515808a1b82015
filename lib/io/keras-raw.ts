/**
 * The HDF5 walk of a Keras file, without tensors: layer names, weight names and each weight's bytes, checked against
 * the file's size. Runs in the HDF5 worker thread (hdf5-worker.ts), so it imports nothing native.
 */
import { TorchError } from '../errors';
import type { RawDType } from './decode';
import { H5Object, MAX_EXPANSION, readDatasetBytes, withHdf5 } from './hdf5';

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

export interface StoredWeight {
  stored: string;
  dtype: RawDType;
  shape: number[];
  bytes: Uint8Array;
}

export interface RawKeras {
  layers: { name: string; weights: StoredWeight[] }[];
  attrs: Record<string, string>;
  modelConfig?: string;
  optimizer: boolean;
}

/** Walks a Keras HDF5 file (full model or weights only) and copies out every listed weight. */
export function readKerasRaw(file: string, fileSize: number): Promise<RawKeras> {
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
        if (total > fileSize * MAX_EXPANSION) bad('brings the declared data beyond what the file can hold');
        weights.push({ stored, dtype: w.dtype, shape: w.shape, bytes: w.bytes.slice() });
      }
      layers.push({ name: layer, weights });
    }
    return { layers, attrs, modelConfig: stringAttr(root, 'model_config'), optimizer: !!root.keys?.().includes('optimizer_weights') };
  });
}
