/**
 * Weights on disk: `tg.io.load` reads any supported file (chosen by content: safetensors, Keras HDF5, ONNX, TF.js
 * model.json, ...; foreign layouts converted to PyTorch's), `tg.io.save` writes safetensors atomically, and
 * `mapKeys` / `proposeMapping` rename foreign state dicts onto a model.
 *
 * `load(path)` gives a plain name -> tensor object; `loadWithMetadata(path)` gives the same plus the file's
 * string metadata, the format that read it and the names in file order.
 * @packageDocumentation
 */
import * as path from 'node:path';
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';
import { LoadedWeights, readWith, registerReader, supportedFormats, detectReader } from './registry';
import { StateDictLike, saveSafetensors, safetensorsReader, inspectSafetensors } from './safetensors';
import { shardedSafetensorsReader } from './sharded';
import { pytorchReader, loadPytorch } from './pytorch';
import { npyReader, npzReader } from './numpy';
import { kerasReader } from './keras';
import { onnxReader } from './onnx';
import { tfjsReader } from './tfjs';
import { torchScriptReader } from './torchscript-reader';

export type { LoadedWeights, WeightReader } from './registry';
export type { StateDictLike, SafetensorsEntry, SafetensorsHeader } from './safetensors';
export type { PytorchLoadOptions } from './pytorch';
export { registerReader, supportedFormats, inspectSafetensors, loadPytorch };
export { inspectOnnx } from './onnx';
export type { OnnxModelInfo, OnnxNode, OnnxInitializerInfo } from './onnx';
export { loadOnnxModel } from './model/onnx-model';
export { loadModel } from './load-model';
export type { LoadModelOptions } from './load-model';
export type { LoadOnnxModelOptions } from './model/onnx-model';
export { OnnxGraphModule } from './model/onnx-graph-module';
export { inspectKeras } from './keras';
export type { KerasLayerInfo } from './keras';
export { mapKeys, proposeMapping, MappingProposal } from './map-keys';
export type { MappingPair, Unmatched, MappingOrder, ApplyMappingOptions, ProposeMappingOptions } from './map-keys';
export { loadTorchScript, ScriptModule } from './torchscript';
export type { ScriptMethodInfo } from './torchscript';
export { saveCheckpoint, loadCheckpoint } from './checkpoint';
export type { CheckpointParts, CheckpointTargets, CheckpointInfo, CheckpointModel, CheckpointStateful, CheckpointLoader } from './checkpoint';

// A new format implements WeightReader in its own file (sniff by magic bytes, read to tensors) and registers here.
registerReader(safetensorsReader);
registerReader(shardedSafetensorsReader);
registerReader(pytorchReader);
registerReader(npyReader);
registerReader(npzReader);
registerReader(kerasReader);
registerReader(onnxReader);
registerReader(tfjsReader);
registerReader(torchScriptReader); // registered late so it is tried before a general zip reader: it claims only TorchScript zips

/** Options of `tg.io.save`. */
export interface SaveOptions {
  /** String key/value pairs stored in the file (safetensors `__metadata__`). */
  metadata?: Record<string, string>;
}

// Extensions that name other formats: writing safetensors under them would mislead every reader.
const FOREIGN_EXTENSIONS = ['.pt', '.pth', '.bin', '.ckpt', '.npz', '.npy', '.h5', '.hdf5', '.keras', '.onnx', '.json', '.pb'];

/**
 * Loads the tensors of a weight file, whatever its format (detected from its first bytes, then its extension).
 * @param file path to the file.
 * @returns name -> tensor; insertion order is file order. The caller owns (and disposes) the tensors.
 * @throws TorchError `ERR_UNKNOWN_FORMAT` listing the supported formats; the format reader's errors
 *   (for safetensors `ERR_SAFETENSORS_*`) naming the file and the problem; `ERR_IO` when it cannot be read.
 * @example net.loadStateDict(await tg.io.load('pretrained.safetensors'));
 */
export async function load(file: string): Promise<Record<string, Tensor>> {
  return (await readWith(file)).tensors;
}

/**
 * Like `load`, and also returns the file's string metadata, the detected format and the names in file order.
 * @throws the same errors as `load`.
 * @example const { tensors, metadata } = await tg.io.loadWithMetadata('model.safetensors');
 */
export async function loadWithMetadata(file: string): Promise<LoadedWeights> {
  return readWith(file);
}

/**
 * Saves a state dict as a safetensors file, atomically (temporary file, fsync, rename): a failed or killed save
 * leaves the previous file intact. Python reads it with `safetensors.torch.load_file`.
 * The data are read off the JavaScript thread: disposing the tensors meanwhile is safe, but changing them in place
 * (an optimizer step) before the promise settles may write a mix of old and new values; await it first.
 * @param stateDict name -> tensor as an object, a Map or [name, tensor] pairs.
 * @param file destination; an extension of another format (.pt, .h5, ...) is refused.
 * @param options `metadata`: string -> string stored in the header.
 * @throws TypeError for non-tensor values or non-string metadata; TorchError `ERR_SAFETENSORS_ENTRY`,
 *   `ERR_UNSUPPORTED_FORMAT` or `ERR_IO`.
 */
export async function save(stateDict: StateDictLike, file: string, options: SaveOptions = {}): Promise<void> {
  if (typeof file !== 'string' || file === '') throw new TypeError('io.save(): path must be a non-empty string');
  const ext = path.extname(file).toLowerCase();
  if (FOREIGN_EXTENSIONS.includes(ext))
    throw new TorchError(`io.save(): '${file}': torchgraft writes safetensors only; use a .safetensors name`, { code: 'ERR_UNSUPPORTED_FORMAT' });
  return saveSafetensors(stateDict, file, options.metadata);
}

/**
 * The format name of a file as `load` would read it (`'safetensors'`, ...), or undefined when none applies.
 * @throws TorchError `ERR_IO` when the file cannot be opened.
 */
export async function detectFormat(file: string): Promise<string | undefined> {
  return (await detectReader(file))?.format;
}
export { loadKerasModel, loadTfjsModel, KerasGraph } from './model/keras-model';
export type { KerasModelOptions, InputLayout } from './model/keras-model';
