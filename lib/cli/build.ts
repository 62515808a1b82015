/** `torchgraft build [--dry-run]`: compiles the native addon from source with cmake-js (scripts/build-native.js). */
import * as path from 'node:path';
import { UsageError, parseCommand } from './args';

const BUILD_USAGE = `usage: torchgraft build [--dry-run]

Compiles the native addon from source (cmake >= 3.18, a C++17 compiler) against the LibTorch found: LIBTORCH, else
the pip PyTorch of TORCHGRAFT_PYTHON or of python3 on PATH, else the system's (Debian's libtorch-dev). Prints each
phase (configure, compile with a count of files, link) with the elapsed time. Takes minutes.

cmake-js 8.0.0 runs the build. It is not installed with torchgraft: the build takes the first of
  TORCHGRAFT_CMAKE_JS    the path of a cmake-js/bin/cmake-js script
  node_modules           a cmake-js that resolves from the package (a clone's devDependency, or npm i cmake-js@8.0.0)
  npx                    npx --yes cmake-js@8.0.0 (from npm's cache, else the registry: offline, this fails with
                         a message saying so)

options:
  --dry-run   print the LibTorch that would be used and the cmake-js command line, check that cmake-js can be
              had (fetching it through npx when needed), and build nothing
  -h, --help  this text`;

/** Runs `torchgraft build`; resolves with the exit code. */
export function buildCommand(argv: string[]): number {
  const { values, positionals } = parseCommand('build', argv, { 'dry-run': { type: 'boolean' } }, BUILD_USAGE);
  if (values.help) return (console.log(BUILD_USAGE), 0);
  if (positionals.length) throw new UsageError('build', `unexpected argument '${positionals[0]}'`, BUILD_USAGE);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { build } = require(path.join(__dirname, '..', '..', 'scripts', 'build-native.js')) as { build(o: { dryRun?: boolean }): number };
  return build({ dryRun: values['dry-run'] === true });
}
