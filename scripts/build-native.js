#!/usr/bin/env node
// Compiles the addon from source with cmake-js against the LibTorch found (LIBTORCH, then Python PyTorch, then the system).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');

function build({ quiet = false } = {}) {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
  if (!fs.existsSync(path.join(root, 'node_modules')) && !require.resolve.paths('node-addon-api')) {
    throw new Error('node-addon-api is missing: run npm install first');
  }
  const args = [cmakeJs, 'compile', '--directory', root, '--CDCMAKE_BUILD_TYPE=Release'];
  if (quiet) args.push('--log-level', 'warn');
  const started = Date.now();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: process.env });
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

module.exports = { build };
if (require.main === module) process.exit(build());
