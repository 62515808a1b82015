#!/usr/bin/env node
// Compiles the addon from source with cmake-js against the LibTorch found (LIBTORCH, then Python PyTorch, then the system):
// scripts/find-libtorch.js and CMakeLists.txt search in the same order, so the LibTorch named here is the one built against.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');

/** node's arguments for one cmake-js command ('compile', 'configure') on this package, writing into out (default build/). */
function cmakeJsArgs(command = 'compile', { out, quiet = false } = {}) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  const args = [cmakeJs, command, '--directory', root, '--CDCMAKE_BUILD_TYPE=Release'];
  if (out) args.push('--out', path.resolve(out));
  if (quiet) args.push('--log-level', 'warn');
  return args;
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

function build({ quiet = false } = {}) {
  if (!fs.existsSync(path.join(root, 'node_modules')) && !require.resolve.paths('node-addon-api')) {
    throw new Error('node-addon-api is missing: run npm install first');
  }
  if (!announce(quiet)) return 1;
  const started = Date.now();
  const r = spawnSync(process.execPath, cmakeJsArgs('compile', { quiet }), { cwd: root, stdio: 'inherit', env: process.env });
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

module.exports = { build, cmakeJsArgs };
if (require.main === module) process.exit(build());
