#!/usr/bin/env node
// npm install hook: keeps a prebuilt binary that loads against the LibTorch here, otherwise builds from source.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');

if (process.env.TORCHGRAFT_SKIP_BUILD) process.exit(0);

// Probe in a child process so that a binary built for another LibTorch cannot take this one down.
function loads(file) {
  const probe = `process.dlopen({exports:{}}, ${JSON.stringify(file)}, require('os').constants.dlopen.RTLD_NOW)`;
  return spawnSync(process.execPath, ['-e', probe], { stdio: 'ignore' }).status === 0;
}

const candidates = [path.join(root, 'build', 'Release', 'torchgraft.node')];
const pre = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
if (fs.existsSync(pre)) {
  for (const v of fs.readdirSync(pre)) {
    const dir = path.join(pre, v);
    if (fs.statSync(dir).isDirectory()) for (const f of fs.readdirSync(dir)) if (f.endsWith('.node')) candidates.push(path.join(dir, f));
  }
}
const ok = candidates.find((f) => fs.existsSync(f) && loads(f));
if (ok && !process.env.TORCHGRAFT_FORCE_BUILD) {
  console.error(`torchgraft: using ${path.relative(root, ok)}`);
  process.exit(0);
}
process.exit(require('./build-native').build());
