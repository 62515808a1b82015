/**
 * `tg.io.loadModel`: a trainable module, architecture and weights, from a file another framework wrote: a Keras HDF5
 * full model, a TF.js layers model (its model.json or the folder holding it), an ONNX graph, or a TorchScript archive.
 * The format is recognised by content, as `tg.io.load` recognises it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchError } from '../errors';
import type { Module } from '../nn/module';
import { detectReader, supportedFormats } from './registry';
import { loadKerasModel, loadTfjsModel, type KerasModelOptions } from './model/keras-model';
import { loadOnnxModel, type LoadOnnxModelOptions } from './model/onnx-model';
import { loadTorchScript } from './torchscript';

/** Options of {@link loadModel}: each applies to the formats that have it. */
export interface LoadModelOptions extends KerasModelOptions, LoadOnnxModelOptions {}

const BUILDERS: Record<string, (file: string, o: LoadModelOptions) => Promise<Module>> = {
  'keras-h5': (f, o) => loadKerasModel(f, { inputLayout: o.inputLayout }),
  tfjs: (f, o) => loadTfjsModel(f, { inputLayout: o.inputLayout }),
  onnx: (f, o) => loadOnnxModel(f, { requiresGrad: o.requiresGrad }),
  torchscript: (f) => loadTorchScript(f),
};

/**
 * Builds the model a file describes, with its weights in place and its layer names, as a trainable `tg.nn.Module`.
 * Keras and TF.js models take `inputLayout` ('NCHW' by default, PyTorch's; 'NHWC' is Keras' own); layers or ops it
 * cannot build are listed all at once (ERR_UNSUPPORTED_LAYERS, ERR_UNSUPPORTED_OPS).
 * @example
 * const net = await tg.io.loadModel('mobilenet/model.json');     // or a .h5, .onnx or TorchScript .pt
 * net.freeze(/^(?!predictions)/);                                 // then transfer as with any module
 * @throws TorchError ERR_MODEL_FORMAT for a file that holds weights only (safetensors, NumPy, a state dict), with
 *   what to do instead; ERR_UNKNOWN_FORMAT for a file in no format torchgraft reads.
 */
export async function loadModel(file: string, options: LoadModelOptions = {}): Promise<Module> {
  if (typeof file !== 'string' || file === '') throw new TypeError('io.loadModel(): path must be a non-empty string');
  if (options === null || typeof options !== 'object') throw new TypeError('io.loadModel(): options must be an object such as { inputLayout }');
  const target = modelJsonIn(file) ?? file;
  const reader = await detectReader(target);
  if (!reader) {
    const list = supportedFormats().map((f) => f.format).join(', ');
    throw new TorchError(`io.loadModel: '${file}' is in no format torchgraft reads (${list})`, { code: 'ERR_UNKNOWN_FORMAT' });
  }
  const build = BUILDERS[reader.format];
  if (!build)
    throw new TorchError(
      `io.loadModel: '${file}' is a ${reader.format} file, which holds weights but no architecture: build the model in TypeScript and ` +
        'load the weights with tg.io.load + model.loadStateDict (tg.io.proposeMapping helps pair foreign names)',
      { code: 'ERR_MODEL_FORMAT' },
    );
  return build(target, options);
}

/** A TF.js model given by its folder: the model.json inside it. */
function modelJsonIn(file: string): string | undefined {
  try {
    if (!fs.statSync(file).isDirectory()) return undefined;
  } catch {
    return undefined; // the reader reports the missing file with its own message
  }
  const json = path.join(file, 'model.json');
  if (fs.existsSync(json)) return json;
  throw new TorchError(`io.loadModel: '${file}' is a folder without a model.json (a TF.js model's folder holds one)`, { code: 'ERR_MODEL_FORMAT' });
}
