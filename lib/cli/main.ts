#!/usr/bin/env node
/** The torchgraft command line: build, info (and, as they land, demo, inspect, zoo). */
import * as path from 'node:path';

const USAGE = `usage: torchgraft <command>

commands:
  demo      the transfer-learning demo on the bundled MNIST digits (torchgraft demo --help)
  zoo       the local model catalog: list, show NAME, add FILE --name N, remove NAME
  build     compile the native addon from source against the LibTorch found: LIBTORCH, else the pip PyTorch of
            TORCHGRAFT_PYTHON or of python3 on PATH, else the system's
  info      print the LibTorch version, CUDA availability and the loaded binary
  inspect FILE
            list what a weight file holds (safetensors, Keras .h5, ONNX, TF.js model.json, ...): names,
            dtypes, shapes and sizes; ONNX nodes; Keras layers
  run [--nproc-per-node N] script.js [args]
            start N ranks of a tg.distributed script with torchrun's environment variables
  help      this text`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'demo':
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require('./demo').demoCommand(argv.slice(1));
    case 'zoo': return require('./zoo').zooCommand(argv.slice(1)); // eslint-disable-line @typescript-eslint/no-require-imports
    case 'run': return require('./run').runCommand(argv.slice(1)); // eslint-disable-line @typescript-eslint/no-require-imports
    case 'build': {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { build } = require(path.join(__dirname, '..', '..', 'scripts', 'build-native.js'));
      return build();
    }
    case 'info': {
      // Loaded lazily: `build` must work when the addon does not load yet.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const tg = require('../index');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { bindingFile } = require('../native');
      console.log(JSON.stringify({ ...tg.buildInfo(), cudaAvailable: tg.cuda.isAvailable(), gpus: tg.cuda.deviceCount(), binary: bindingFile }, null, 2));
      return 0;
    }
    case 'inspect': {
      if (rest.length !== 1) {
        console.error('usage: torchgraft inspect FILE');
        return 2;
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { inspectFile } = require('./inspect');
      return (inspectFile(rest[0]) as Promise<string>).then(
        (text) => (console.log(text), 0),
        (e: Error) => (console.error(`torchgraft inspect: ${e.message}`), 1),
      );
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return cmd === undefined ? 1 : 0;
    default:
      console.error(`torchgraft: unknown command '${cmd}'\n\n${USAGE}`);
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: Error) => {
    console.error(`torchgraft: ${e.stack ?? e.message}`);
    process.exitCode = 1;
  },
);
