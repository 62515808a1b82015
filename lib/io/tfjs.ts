/**
 * TensorFlow.js models (`model.json` + binary weight shards): the weights manifest is laid over the shards of each
 * group, and layers models' Keras weights are converted to PyTorch's names and layouts like Keras HDF5 files.
 * Shards must be files inside the model.json's folder; nothing is fetched and nothing is executed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';
import { LoadedWeights, WeightReader, recordOf, withLayerOrder } from './registry';
import { ITEMSIZE, RawDType, elementCount, tensorsFromJobs } from './decode';
import type { DecodeJob } from './decode-bytes';
import { ConvertedVariable, KerasVariable, convertLayer, layersOfConfig, splitKerasName } from './keras-layout';

// Real model.json files are at most a few megabytes (the topology); a bigger one is not a manifest.
const MAX_JSON_BYTES = 64 << 20;

function fail(file: string, problem: string, code = 'ERR_TFJS_FORMAT'): never {
  throw new TorchError(`tfjs: '${file}': ${problem}`, { code });
}

interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  count: number;
  /** Stored element type and its dequantization. */
  stored: RawDType;
  scale?: number;
  min?: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Validates one manifest entry (dtype, shape, quantization) without touching any shard. */
function manifestWeight(file: string, w: unknown, where: string): ManifestWeight {
  if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape)) fail(file, `${where} needs a string 'name' and an array 'shape'`);
  const count = elementCount(w.shape);
  if (typeof count === 'string') fail(file, `weight '${w.name}': ${count}`);
  const dtype = w.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') fail(file, `weight '${w.name}' has dtype '${String(dtype)}'; float32, int32 and bool are supported`, 'ERR_TFJS_DTYPE');
  const out: ManifestWeight = { name: w.name, shape: w.shape as number[], dtype, count, stored: dtype === 'bool' ? 'bool' : dtype };
  if (w.quantization !== undefined) {
    const q = w.quantization;
    if (!isObject(q)) fail(file, `weight '${w.name}': 'quantization' is not an object`);
    if (dtype === 'bool') fail(file, `weight '${w.name}': quantized bool weights are not supported`, 'ERR_TFJS_DTYPE');
    if (q.dtype === 'float16') out.stored = 'float16';
    else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      if (typeof q.scale !== 'number' || typeof q.min !== 'number' || !Number.isFinite(q.scale) || !Number.isFinite(q.min))
        fail(file, `weight '${w.name}': ${q.dtype} quantization needs finite numbers 'scale' and 'min'`);
      Object.assign(out, { stored: q.dtype, scale: q.scale, min: q.min });
    } else fail(file, `weight '${w.name}' uses quantization '${String(q.dtype)}'; uint8, uint16 and float16 are supported`, 'ERR_TFJS_DTYPE');
  }
  return out;
}

/** A shard path from the manifest: relative, inside the model's folder (after following links), a regular file. */
function shardPath(file: string, dir: string, realDir: string, p: unknown): { full: string; size: number } {
  if (typeof p !== 'string' || p === '' || p.includes('\0')) fail(file, `shard path ${JSON.stringify(p)} is not a file name`);
  if (/^[a-z][a-z0-9+.-]*:/i.test(p) || path.isAbsolute(p) || p.split(/[\\/]/).includes('..'))
    fail(file, `shard path '${p}' must be relative to the model's folder, without '..' or a URL`, 'ERR_TFJS_PATH');
  const full = path.join(dir, p);
  let real: string;
  let st: fs.Stats;
  try {
    real = fs.realpathSync(full);
    st = fs.statSync(real);
  } catch (e) {
    fail(file, `shard '${p}' cannot be opened: ${(e as Error).message}`, 'ERR_TFJS_SHARD');
  }
  if (!real.startsWith(realDir + path.sep)) fail(file, `shard '${p}' resolves outside the model's folder`, 'ERR_TFJS_PATH');
  if (!st.isFile()) fail(file, `shard '${p}' is not a regular file`, 'ERR_TFJS_SHARD');
  return { full: real, size: st.size };
}

/** The decode job of one stored weight: dequantization (q * scale + min, or float16 widening) or plain elements. */
function weightJob(w: ManifestWeight, offset: number, length: number): DecodeJob {
  const at = { buffer: -1, offset, length }; // a weight may span two shards: jobs address the group's shards end to end
  if (w.stored === 'uint8' || w.stored === 'uint16' || w.stored === 'float16')
    return { op: 'dequant', stored: w.stored, scale: w.scale, min: w.min, to: w.dtype === 'int32' ? 'int32' : 'float32', ...at };
  return { op: 'le', dtype: w.stored, ...at };
}

interface ReadWeights {
  weights: { w: ManifestWeight; tensor: Tensor }[];
  doc: Record<string, unknown>;
}

async function readManifest(file: string): Promise<ReadWeights> {
  let text: string;
  try {
    const st = await fs.promises.stat(file);
    if (st.size > MAX_JSON_BYTES) fail(file, `${st.size} bytes is too large for a model.json (limit ${MAX_JSON_BYTES})`);
    text = await fs.promises.readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof TorchError) throw e;
    throw new TorchError(`tfjs: cannot read '${file}': ${(e as Error).message}`, { code: 'ERR_IO', cause: e });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail(file, `not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) fail(file, 'model.json is not a JSON object');
  if (!Array.isArray(doc.weightsManifest)) fail(file, "'weightsManifest' is missing or not an array");
  const dir = path.dirname(path.resolve(file));
  const realDir = fs.realpathSync(dir);
  // Validate the whole manifest and every shard's size first, so a lying file allocates nothing.
  const groups = doc.weightsManifest.map((g, gi) => {
    if (!isObject(g) || !Array.isArray(g.paths) || !Array.isArray(g.weights)) fail(file, `weightsManifest[${gi}] needs arrays 'paths' and 'weights'`);
    const weights = g.weights.map((w, wi) => manifestWeight(file, w, `weightsManifest[${gi}].weights[${wi}]`));
    const shards = g.paths.map((p) => shardPath(file, dir, realDir, p));
    const need = weights.reduce((s, w) => s + w.count * ITEMSIZE[w.stored], 0);
    const have = shards.reduce((s, sh) => s + sh.size, 0);
    if (need !== have)
      fail(file, `weightsManifest[${gi}] describes ${need} bytes of weights but its shards (${g.paths.join(', ')}) hold ${have}`, 'ERR_TFJS_SHARD');
    return { weights, shards };
  });
  const seen = new Set<string>();
  for (const g of groups)
    for (const w of g.weights) {
      if (seen.has(w.name)) fail(file, `weight '${w.name}' appears twice in the manifest`);
      seen.add(w.name);
    }
  const out: ReadWeights['weights'] = [];
  try {
    for (const g of groups) {
      const shards = await Promise.all(g.shards.map((s) => fs.promises.readFile(s.full)));
      if (shards.reduce((n, b) => n + b.length, 0) !== g.shards.reduce((s, sh) => s + sh.size, 0)) fail(file, 'a shard changed size while being read', 'ERR_TFJS_SHARD');
      let at = 0;
      const jobs = g.weights.map((w) => {
        const n = w.count * ITEMSIZE[w.stored];
        return weightJob(w, (at += n) - n, n);
      });
      // Dequantization and copies run off the JavaScript thread for big groups; the shards are handed over, not copied.
      const made = await tensorsFromJobs(shards, jobs, g.weights.map((w) => w.shape));
      g.weights.forEach((w, i) => out.push({ w, tensor: made[i] }));
    }
  } catch (e) {
    for (const o of out) o.tensor.dispose();
    if (e instanceof TorchError) throw e;
    throw new TorchError(`tfjs: '${file}': ${(e as Error).message}`, { code: 'ERR_TFJS_SHARD', cause: e });
  }
  return { weights: out, doc };
}

/** Groups weights by Keras layer (named by the topology where it can be) and converts each layer. */
function convertLayers(doc: Record<string, unknown>, weights: ReadWeights['weights']) {
  const classes = layersOfConfig(doc.modelTopology);
  const byLayer = new Map<string, KerasVariable[]>();
  for (const { w, tensor: t } of weights) {
    const parts = w.name.split('/');
    const i = parts.findIndex((p) => classes.has(p));
    const layer = i >= 0 && i < parts.length - 1 ? parts[i] : parts.length > 1 ? parts[0] : '';
    const rest = i >= 0 && i < parts.length - 1 ? parts.slice(i).join('/') : w.name;
    if (!byLayer.has(layer)) byLayer.set(layer, []);
    byLayer.get(layer)?.push({ stored: w.name, ...splitKerasName(layer, rest), tensor: t });
  }
  const made: ConvertedVariable[] = [];
  const layers = [];
  for (const [layer, vars] of byLayer) {
    const className = classes.get(layer)?.className;
    const converted = layer === '' ? vars.map((v) => ({ name: v.stored, tensor: v.tensor, from: v.stored, layout: 'kept', kerasShape: [...v.tensor.shape] })) : convertLayer(layer, className, vars);
    made.push(...converted);
    const entry: Record<string, unknown> = { name: layer, className, weights: converted.map((c) => ({ keras: c.from, kerasShape: c.kerasShape, name: c.name, shape: [...c.tensor.shape], layout: c.layout })) };
    if (className === 'BatchNormalization') {
      // as loadKeras reports them: a model rebuilt with PyTorch's defaults (eps 1e-5) would be silently off
      const config = classes.get(layer)?.config ?? {};
      entry.epsilon = typeof config.epsilon === 'number' ? config.epsilon : 1e-3;
      entry.momentum = typeof config.momentum === 'number' ? config.momentum : 0.99;
    }
    layers.push(entry);
  }
  return { made, layers, order: topologyOrder(classes, made) };
}

/**
 * The converted names in the topology's layer order (manifests list weights by name: `block_10_` before `block_1_`).
 * A weight sorts by the innermost layer its stored path names; undefined when a weight names no topology layer.
 */
function topologyOrder(classes: Map<string, unknown>, made: ConvertedVariable[]): string[] | undefined {
  if (classes.size === 0) return undefined;
  const rank = new Map([...classes.keys()].map((name, i) => [name, i]));
  const keyed = made.map((c, k) => {
    const parts = c.from.split('/').slice(0, -1);
    const ranks = parts.map((p) => rank.get(p)).filter((r): r is number => r !== undefined);
    return { name: c.name, layer: ranks.length ? ranks[ranks.length - 1] : -1, k };
  });
  if (keyed.some((x) => x.layer < 0)) return undefined;
  return keyed.sort((x, y) => x.layer - y.layer || x.k - y.k).map((x) => x.name);
}

/**
 * Reads a TF.js model.json and its weight shards. For `layers-model` files, Keras layouts become PyTorch's as in
 * `loadKeras` (Dense kernel transposed, Conv kernels to (out, in, ...), Embedding `embeddings` -> `weight`); GRU and
 * LSTM weights keep Keras' names and layout (`gru.kernel` (in, 3*units), gates z, r, h), since PyTorch's GRU applies
 * its reset gate differently. Graph models keep their stored names. Quantized weights (uint8/uint16 with scale and
 * min, float16) are dequantized, off the JavaScript thread for big models (decode-thread.ts). `metadata.layers` is the
 * JSON list of layers with Keras and PyTorch shapes (and BatchNormalization's epsilon and momentum, Keras' defaults
 * when the topology omits them). `names` keeps the manifest's order (often a name sort);
 * `layerOrder` (and the tensors object, for `io.proposeMapping`) lists them in the topology's layer order.
 * @throws TorchError `ERR_TFJS_FORMAT`, `_DTYPE`, `_PATH` (a shard outside the folder or a URL), `_SHARD` (missing
 *   shard, sizes that do not match), `ERR_IO`; each names the model.json file.
 */
export async function loadTfjs(file: string): Promise<LoadedWeights> {
  const { weights, doc } = await readManifest(file);
  const graph = doc.format === 'graph-model';
  const { made, layers, order } = graph
    ? { made: weights.map(({ w, tensor: t }) => ({ name: w.name, tensor: t })), layers: [], order: undefined }
    : convertLayers(doc, weights);
  const seen = new Set<string>();
  for (const c of made) {
    if (seen.has(c.name)) {
      for (const m of made) m.tensor.dispose();
      fail(file, `two weights convert to the same name '${c.name}'`);
    }
    seen.add(c.name);
  }
  const metadata: Record<string, string> = { layers: JSON.stringify(layers) };
  for (const k of ['format', 'generatedBy', 'convertedBy']) if (typeof doc[k] === 'string') metadata[k] = doc[k] as string;
  const tensors = recordOf(made.map((c) => [c.name, c.tensor] as [string, Tensor]));
  if (!order) return { format: 'tfjs', names: made.map((c) => c.name), tensors, metadata };
  return { format: 'tfjs', names: made.map((c) => c.name), tensors: withLayerOrder(tensors, order), metadata, layerOrder: order };
}

function sniffTfjs(head: Uint8Array): boolean {
  const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
  return /^\s*\{/.test(text) && (text.includes('"modelTopology"') || text.includes('"weightsManifest"'));
}

/** The registry entry for TF.js models. */
export const tfjsReader: WeightReader = {
  format: 'tfjs',
  extensions: ['model.json'],
  sniff: sniffTfjs,
  read: loadTfjs,
};
