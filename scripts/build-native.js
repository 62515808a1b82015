#!/usr/bin/env node
// Compiles the addon from source with cmake-js against the LibTorch found (LIBTORCH, then Python PyTorch, then the system):
// scripts/find-libtorch.js and CMakeLists.txt search in the same order, so the LibTorch named here is the one built against.
// cmake-js is not a runtime dependency (only a source build needs it and its 37 dependencies): it comes from
// TORCHGRAFT_CMAKE_JS, else node_modules (a clone's devDependency), else `npx --yes cmake-js@<pinned>`.
//   node scripts/build-native.js [--dry-run]
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
/** The cmake-js version a build fetches when none is installed (the devDependency's pinned version). */
const CMAKE_JS_VERSION = '8.0.0';

/** cmake-js's arguments for one command ('compile', 'configure') on this package, writing into out (default build/). */
function cmakeJsCommandArgs(command, { out, quiet = false } = {}) {
  const args = [command, '--directory', root, '--CDCMAKE_BUILD_TYPE=Release'];
  if (out) args.push('--out', path.resolve(out));
  if (quiet) args.push('--log-level', 'warn');
  return args;
}

/** The installed cmake-js script (TORCHGRAFT_CMAKE_JS, else node_modules), or undefined. */
function localCmakeJs() {
  const fromEnv = process.env.TORCHGRAFT_CMAKE_JS;
  if (fromEnv) {
    if (!fs.existsSync(fromEnv)) throw new Error(`TORCHGRAFT_CMAKE_JS='${fromEnv}' does not exist (it names cmake-js/bin/cmake-js)`);
    return fromEnv;
  }
  try {
    return require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  } catch {
    return undefined;
  }
}

/** node's arguments for one cmake-js command through an installed cmake-js (tests configure builds with it). */
function cmakeJsArgs(command = 'compile', opts = {}) {
  const script = localCmakeJs();
  if (!script) throw new Error(`cmake-js is not installed here: npm install --no-save cmake-js@${CMAKE_JS_VERSION}`);
  return [script, ...cmakeJsCommandArgs(command, opts)];
}

/** npx beside this node (npm ships them together), else the one on PATH. */
function npxPath() {
  const name = process.platform === 'win32' ? 'npx.cmd' : 'npx';
  const beside = path.join(path.dirname(process.execPath), name);
  return fs.existsSync(beside) ? beside : name;
}

/**
 * How to run cmake-js: { argv, via } where argv is the command line without the cmake-js command's own arguments.
 * Through npx, cmake-js is fetched (or taken from npm's cache) now, so that an offline machine gets a clear error
 * here instead of in the middle of a build; undefined (after printing why) when it cannot be had.
 */
function cmakeJsRunner({ quiet = false } = {}) {
  const local = localCmakeJs();
  if (local) return { argv: [process.execPath, local], via: process.env.TORCHGRAFT_CMAKE_JS ? 'TORCHGRAFT_CMAKE_JS' : 'node_modules' };
  const npx = npxPath();
  const argv = [npx, '--yes', `cmake-js@${CMAKE_JS_VERSION}`];
  if (!quiet) console.error(`torchgraft build: cmake-js is not installed with torchgraft; getting cmake-js@${CMAKE_JS_VERSION} through npx`);
  const r = spawnSync(argv[0], [...argv.slice(1), '--version'], { encoding: 'utf8', timeout: 300000, env: process.env, shell: process.platform === 'win32' });
  if (r.status !== 0) {
    const why = r.error
      ? r.error.message
      : `${r.stderr || ''}`.split('\n').filter((l) => /^npm (error|ERR!) (code|request|network|errno)/.test(l)).map((l) => l.replace(/^npm (error|ERR!) /, '')).slice(0, 2).join('; ') || `exit ${r.status}`;
    console.error(
      `torchgraft build: cmake-js@${CMAKE_JS_VERSION} could not be fetched with npx (offline, or the npm registry unreachable?): ${why.trim()}\n` +
        `  Install it where npm can reach the registry: npm install --no-save cmake-js@${CMAKE_JS_VERSION} (in this project), or\n` +
        '  set TORCHGRAFT_CMAKE_JS to the path of an installed cmake-js/bin/cmake-js.',
    );
    return undefined;
  }
  return { argv, via: `npx (cmake-js ${r.stdout.trim()})` };
}

/** One line naming the LibTorch a build will use, or null (after printing the three ways to get one) when there is none. */
function announce(quiet) {
  const { find } = require('./find-libtorch.js');
  let lt;
  try {
    lt = find();
  } catch (e) {
    console.error(e.message);
    return null;
  }
  if (!quiet) console.error(`torchgraft: building against LibTorch ${lt.version || '(version unknown)'}${lt.cuda ? `, CUDA ${lt.cuda}` : ', CPU'} from ${lt.how}`);
  return lt;
}

const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);

/**
 * Builds build/Release/torchgraft.node; returns the exit code. Progress (phases, elapsed time) goes to stderr and
 * cmake's output to build/build.log (echoed whole with TORCHGRAFT_BUILD_VERBOSE=1, its tail on failure).
 * `dryRun` prints the LibTorch and the cmake-js command line and checks that cmake-js can be had, building nothing.
 */
function build({ quiet = false, dryRun = false } = {}) {
  if (!fs.existsSync(path.join(root, 'node_modules')) && !require.resolve.paths('node-addon-api')) {
    throw new Error('node-addon-api is missing: run npm install first');
  }
  if (!announce(quiet && !dryRun)) return 1;
  let runner;
  try {
    runner = cmakeJsRunner({ quiet: quiet && !dryRun });
  } catch (e) {
    console.error(`torchgraft build: ${e.message}`);
    return 1;
  }
  if (!runner) return 1;
  const argv = [...runner.argv, ...cmakeJsCommandArgs('compile', { quiet })];
  if (dryRun) {
    console.log(`torchgraft build: would run (cmake-js from ${runner.via}):\n  ${argv.map(quote).join(' ')}`);
    return 0;
  }
  const started = Date.now();
  const log = path.join(root, 'build', 'build.log');
  const r = process.env.TORCHGRAFT_BUILD_VERBOSE
    ? spawnSync(argv[0], argv.slice(1), { cwd: root, stdio: 'inherit', env: process.env })
    : spawnSync(process.execPath, [path.join(__dirname, 'build-progress.js'), log, '--', ...argv], { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    console.error(
      '\ntorchgraft: the native build failed. It needs cmake (>= 3.18), a C++17 compiler and LibTorch:\n' +
        '  set LIBTORCH to a LibTorch folder, or install PyTorch for Python, or apt-get install libtorch-dev libopenblas0-pthread.',
    );
    return r.status || 1;
  }
  console.error(`torchgraft: native addon built in ${((Date.now() - started) / 1000).toFixed(1)} s -> build/Release/torchgraft.node`);
  return 0;
}

module.exports = { build, cmakeJsArgs, CMAKE_JS_VERSION };
if (require.main === module) process.exit(build({ dryRun: process.argv.includes('--dry-run') }));
