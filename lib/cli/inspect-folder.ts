/**
 * `torchgraft inspect FOLDER`: says what kind of model folder it is (a TF.js model with model.json, a sharded
 * safetensors checkpoint with its index, a TensorFlow SavedModel, or a plain folder of files), inspects what
 * torchgraft reads in it, and lists its files with the format each is read as.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as io from '../io';
import { readShardIndex } from '../io/sharded';
import { Inspection, InspectedFile, InspectedTensor, inspectFileData, tensorEntry, totalsOf } from './inspect';

// Bounds on what a listing walks: a folder is not trusted to be small or shallow.
const MAX_FILES = 1000;
const MAX_DEPTH = 4;

/** Regular files under `dir` (relative names, sorted), without following symbolic links, depth- and count-bounded. */
async function listFiles(dir: string): Promise<InspectedFile[]> {
  const out: InspectedFile[] = [];
  async function walk(rel: string, depth: number): Promise<void> {
    const entries = await fs.promises.readdir(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (out.length >= MAX_FILES) return;
      const name = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory() && depth < MAX_DEPTH) await walk(name, depth + 1);
      else if (e.isFile()) out.push({ name, bytes: (await fs.promises.lstat(path.join(dir, name))).size, format: null });
    }
  }
  await walk('', 0);
  return out;
}

/** The format each file would be read as (null when none; unreadable files too). */
async function detectEach(dir: string, files: InspectedFile[]): Promise<void> {
  for (const f of files) f.format = (await io.detectFormat(path.join(dir, f.name)).catch(() => undefined)) ?? null;
}

/** The weight file names a TF.js model.json lists in its `weightsManifest` (none when it cannot say: its reader has accepted it already). */
async function manifestPaths(modelJson: string): Promise<string[]> {
  try {
    const doc = JSON.parse(await fs.promises.readFile(modelJson, 'utf8')) as { weightsManifest?: { paths?: unknown }[] };
    const groups = Array.isArray(doc.weightsManifest) ? doc.weightsManifest : [];
    return groups.flatMap((g) => (Array.isArray(g?.paths) ? g.paths.filter((p): p is string => typeof p === 'string').map((p) => path.posix.normalize(p)) : []));
  } catch {
    return [];
  }
}

function folderInspection(dir: string, format: string, summary: string, files: InspectedFile[], from?: Inspection): Inspection {
  const tensors = from?.tensors ?? [];
  return {
    schema: 1, path: path.resolve(dir), kind: 'folder', format, summary, metadata: from?.metadata ?? {}, tensors, totals: totalsOf(tensors), files,
    ...(from?.notes ? { notes: from.notes } : {}),
  };
}

async function shardedFolder(dir: string, index: string, files: InspectedFile[]): Promise<Inspection> {
  const { mapping, metadata, shards } = await readShardIndex(path.join(dir, index));
  const tensors: InspectedTensor[] = [];
  const shardOf = new Map(mapping);
  for (const shard of shards) {
    // headers only: a sharded checkpoint is usually too large to load for a listing
    const h = await io.inspectSafetensors(shard.path);
    for (const e of h.entries) tensors.push(tensorEntry(e.name, e.dtype, e.shape, shard.name));
  }
  const unmapped = tensors.filter((t) => shardOf.get(t.name) !== t.shard).map((t) => t.name);
  const missing = mapping.filter(([n]) => !tensors.some((t) => t.name === n)).map(([n]) => n);
  const notes = [
    ...(unmapped.length ? [`note: ${unmapped.length} tensors are in a shard the index does not map them to (${unmapped.slice(0, 3).join(', ')}${unmapped.length > 3 ? ', ...' : ''})`] : []),
    ...(missing.length ? [`note: ${missing.length} tensors of the index are in no shard (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', ...' : ''})`] : []),
  ];
  const summary = `sharded safetensors folder: ${index} maps ${mapping.length} tensors to ${shards.length} shards (load it with tg.io.load('${index}'))`;
  return { ...folderInspection(dir, 'safetensors-sharded-folder', summary, files), metadata, tensors, totals: totalsOf(tensors), ...(notes.length ? { notes } : {}) };
}

/**
 * The inspection of a folder: a TF.js model (model.json: its tensors), a sharded safetensors checkpoint (an
 * `*.safetensors.index.json`: every shard's tensors, from their headers), a TensorFlow SavedModel (listed; torchgraft
 * does not read it), else a plain listing. Every kind lists the folder's files with the format each is read as.
 * @throws TorchError from the readers of the model files; `ERR_IO`-like Node errors when the folder cannot be read.
 */
export async function inspectFolderData(dir: string): Promise<Inspection> {
  const files = await listFiles(dir);
  await detectEach(dir, files);
  const top = new Set(files.filter((f) => !f.name.includes('/')).map((f) => f.name));
  if (top.has('model.json')) {
    const model = await inspectFileData(path.join(dir, 'model.json'));
    // the weight files model.json names are raw bytes whose extension (.bin) would say PyTorch
    const shards = new Set(await manifestPaths(path.join(dir, 'model.json')));
    for (const f of files) if (shards.has(f.name)) f.format = 'tfjs-weights';
    const others = files.length - 1 - shards.size;
    const summary = `TF.js model folder: model.json, ${shards.size} weight file${shards.size === 1 ? '' : 's'}${others > 0 ? `, ${others} other` : ''}\n${model.summary}`;
    return folderInspection(dir, 'tfjs-folder', summary, files, model);
  }
  const indexes = [...top].filter((n) => n.toLowerCase().endsWith('.safetensors.index.json'));
  if (indexes.length === 1) return shardedFolder(dir, indexes[0], files);
  if (top.has('saved_model.pb') || top.has('saved_model.pbtxt')) {
    const i = folderInspection(dir, 'savedmodel-folder', 'TensorFlow SavedModel folder: torchgraft does not read SavedModel graphs', files);
    i.notes = ['convert it first: tensorflowjs_converter --input_format=tf_saved_model (then inspect the TF.js folder), or tf2onnx to ONNX'];
    return i;
  }
  const readable = files.filter((f) => f.format !== null).length;
  const what = indexes.length > 1 ? `; ${indexes.length} safetensors indexes (inspect one of them)` : '';
  return folderInspection(dir, 'folder', `folder of ${files.length} file${files.length === 1 ? '' : 's'}${files.length >= MAX_FILES ? ' (listing cut)' : ''}, ${readable} in a format torchgraft reads${what}`, files);
}
