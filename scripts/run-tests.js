#!/usr/bin/env node
// The test command (npm test): builds what is missing, type-checks the public API's types, then runs every test/**/*.test.js.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status;

if (!fs.existsSync(path.join(root, 'build', 'Release', 'torchgraft.node')) && !fs.existsSync(path.join(root, 'prebuilds'))) {
  if (run(process.execPath, ['scripts/build-native.js']) !== 0) process.exit(1);
}
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
if (run(process.execPath, [tsc, '-p', 'tsconfig.json']) !== 0) process.exit(1);
if (run(process.execPath, ['scripts/write-esm-entry.js']) !== 0) process.exit(1);
if (fs.existsSync(path.join(root, 'test', 'types', 'tsconfig.json'))) {
  if (run(process.execPath, [tsc, '-p', 'test/types/tsconfig.json']) !== 0) process.exit(1);
}

function find(dir, out) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) find(p, out);
    else if (e.name.endsWith('.test.js')) out.push(path.relative(root, p));
  }
  return out;
}
const only = process.argv.slice(2);
const files = only.length ? only : find(path.join(root, 'test'), []).sort();
process.exit(run(process.execPath, ['--test', '--test-reporter=spec', ...files]));
