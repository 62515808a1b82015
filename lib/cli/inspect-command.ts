/** `torchgraft inspect [--json] PATH`: parses the command line, inspects a file or a folder, prints text or JSON. */
import * as fs from 'node:fs';
import { UsageError, parseCommand } from './args';

export const INSPECT_USAGE = `usage: torchgraft inspect [--json] PATH

Lists what a weight file holds, in any format torchgraft reads (safetensors, PyTorch .pt/.pth, TorchScript,
Keras .h5, ONNX, TF.js model.json, NumPy .npy/.npz, sharded safetensors index): names, dtypes, shapes and sizes
with totals; ONNX adds its nodes, Keras its layers with the PyTorch names they load as. Tables fit 100 columns:
long names lose their middle to '…' (--json has them whole).
PATH may be a folder: a TF.js model folder (model.json), a sharded safetensors checkpoint (*.safetensors.index.json:
the shards' headers are read, not their data), a TensorFlow SavedModel (listed only), or any folder (its files, with
the format torchgraft reads each as).

options:
  --json      print one JSON object instead of tables (schema 1; fields are only ever added):
                schema      1
                path        the absolute path inspected
                kind        "file" or "folder"
                format      the reader's format for a file (safetensors, pytorch, torchscript, keras-h5, onnx, tfjs,
                            numpy, npz, safetensors-index, ...); for a folder: tfjs-folder,
                            safetensors-sharded-folder, savedmodel-folder or folder
                summary     the header line of the text output
                metadata    string -> string stored in the file (safetensors header, Keras attributes, ...)
                tensors     [{ name, dtype, shape, elements, bytes, shard? }]: dtype and bytes are null where the
                            file does not say (Keras); shard names the file holding it (sharded folders)
                totals      { tensors, elements, bytes }
                files       folders: [{ name, bytes, format }] (relative names; format null when unreadable)
                onnx        ONNX: { irVersion, producerName, producerVersion, opsets, graphName, inputs, outputs,
                            nodes: [{ opType, name, domain, inputs, outputs }], sparseInitializers }
                keras       Keras: { attributes, optimizerWeights, layers: [{ name, className, epsilon?,
                            momentum?, weights: [{ keras, kerasShape, name, shape, layout }] }] }
                notes       extra lines of the text output, if any
  -h, --help  this text

Exit codes: 0 listed, 1 the file cannot be read (the message says why), 2 bad command line.`;

/** Runs `torchgraft inspect`; resolves with the exit code. */
export async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand('inspect', argv, { json: { type: 'boolean' } }, INSPECT_USAGE);
  if (values.help) return (console.log(INSPECT_USAGE), 0);
  if (positionals.length !== 1) {
    throw new UsageError('inspect', positionals.length ? `one PATH expected, got ${positionals.length}` : 'no PATH given', INSPECT_USAGE);
  }
  const [target] = positionals;
  /* eslint-disable @typescript-eslint/no-require-imports -- the readers load the native addon: only now */
  const { inspectFileData, inspectFile, renderInspection } = require('./inspect') as typeof import('./inspect');
  const { inspectFolderData } = require('./inspect-folder') as typeof import('./inspect-folder');
  /* eslint-enable @typescript-eslint/no-require-imports */
  try {
    const folder = fs.statSync(target, { throwIfNoEntry: false })?.isDirectory() === true;
    if (values.json) {
      const data = folder ? await inspectFolderData(target) : await inspectFileData(target);
      console.log(JSON.stringify(data, null, 2));
    } else {
      console.log(folder ? renderInspection(await inspectFolderData(target)) : await inspectFile(target));
    }
    return 0;
  } catch (e) {
    console.error(`torchgraft inspect: ${(e as Error).message}`);
    return 1;
  }
}
