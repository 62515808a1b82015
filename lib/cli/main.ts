#!/usr/bin/env node
/** The torchgraft command line: dispatches to one command (demo, inspect, zoo, run, plot, build, info) or prints help/version. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError, parseCommand, usageErrorText } from './args';

const USAGE = `usage: torchgraft <command> [options]    (torchgraft <command> --help for each)

commands:
  demo       the transfer-learning demo on the bundled MNIST digits
  inspect    list what a weight file or model folder holds (safetensors, Keras .h5, ONNX, TF.js,
             PyTorch .pt, NumPy, ...): names, dtypes, shapes and sizes; --json for scripts
  zoo        the local model catalog: list, show NAME, add FILE --name N, remove NAME
  run        start N ranks of a tg.distributed script with torchrun's environment variables
  plot       training curves (loss and metrics per epoch, train vs validation, runs overlaid) from
             History JSON/CSV files and TensorBoard logdirs: --out curves.svg|curves.html
  build      compile the native addon from source against the LibTorch found (LIBTORCH, else the
             pip PyTorch of TORCHGRAFT_PYTHON or python3, else the system's); --dry-run
  info       print the LibTorch version, CUDA availability and the loaded binary (JSON)
  help [COMMAND]
             this text, or a command's

options:
  -v, --version   print torchgraft's version
  -h, --help      this text`;

const INFO_USAGE = `usage: torchgraft info

Prints, as JSON: the LibTorch version the addon was built against, CUDA availability, the GPU count and the
binary file that was loaded.`;

/** The package's version, from its package.json. */
export function version(): string {
  return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/* eslint-disable @typescript-eslint/no-require-imports -- commands load lazily: `build` and `help` must work when the addon does not load */
type Command = (argv: string[]) => Promise<number> | number;
const commands: Record<string, Command> = {
  demo: (argv) => require('./demo').demoCommand(argv),
  inspect: (argv) => require('./inspect-command').inspectCommand(argv),
  zoo: (argv) => require('./zoo').zooCommand(argv),
  run: (argv) => require('./run').runCommand(argv),
  plot: (argv) => require('./plot').plotCommand(argv),
  build: (argv) => require('./build').buildCommand(argv),
  info: (argv) => {
    const { values } = parseCommand('info', argv, {}, INFO_USAGE);
    if (values.help) return (console.log(INFO_USAGE), 0);
    if (argv.length) throw new UsageError('info', `unexpected argument '${argv[0]}'`, INFO_USAGE);
    const tg = require('../index');
    const { bindingFile } = require('../native');
    console.log(JSON.stringify({ ...tg.buildInfo(), cudaAvailable: tg.cuda.isAvailable(), gpus: tg.cuda.deviceCount(), binary: bindingFile }, null, 2));
    return 0;
  },
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** Runs the command line `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined) {
      console.error(USAGE);
      return 2;
    }
    if (cmd === '--version' || cmd === '-v') return (console.log(version()), 0);
    if (cmd === '--help' || cmd === '-h') return (console.log(USAGE), 0);
    if (cmd === 'help') {
      if (rest[0] === undefined) return (console.log(USAGE), 0);
      if (!Object.hasOwn(commands, rest[0])) throw new UsageError('', `unknown command '${rest[0]}'`, USAGE.split('\n')[0]);
      return await commands[rest[0]](['--help']);
    }
    if (!Object.hasOwn(commands, cmd)) {
      throw new UsageError('', cmd.startsWith('-') ? `unknown option '${cmd}'` : `unknown command '${cmd}'`, USAGE.split('\n')[0]);
    }
    return await commands[cmd](rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(usageErrorText(e));
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: Error) => {
      console.error(`torchgraft: ${e.stack ?? e.message}`);
      process.exitCode = 1;
    },
  );
}
