#!/usr/bin/env node
/** The torchgraft command line: build, info (and, as they land, demo, inspect, zoo). */
import * as path from 'node:path';

const USAGE = `usage: torchgraft <command>

commands:
  build     compile the native addon from source against the LibTorch found (LIBTORCH, Python PyTorch, system)
  info      print the LibTorch version, CUDA availability and the loaded binary
  help      this text`;

function main(argv: string[]): number {
  const [cmd] = argv;
  switch (cmd) {
    case 'build': {
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { build } = require(path.join(__dirname, '..', '..', 'scripts', 'build-native.js'));
      return build();
    }
    case 'info': {
      // Loaded lazily: `build` must work when the addon does not load yet.
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const tg = require('../index');
      // eslint-disable-next-line @typescript-eslint/no-var-requires
      const { bindingFile } = require('../native');
      console.log(JSON.stringify({ ...tg.buildInfo(), cudaAvailable: tg.cuda.isAvailable(), gpus: tg.cuda.deviceCount(), binary: bindingFile }, null, 2));
      return 0;
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

process.exitCode = main(process.argv.slice(2));
