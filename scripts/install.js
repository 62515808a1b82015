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

/** With dist/ built (an installed package), the loader itself decides: it matches prebuilt variants to the LibTorch found. */
function loaderPicks() {
  if (!fs.existsSync(path.join(root, 'dist', 'native.js'))) return undefined;
  const env = { ...process.env };
  delete env.TORCHGRAFT_BINARY;
  const r = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${JSON.stringify(path.join(root, 'dist', 'native.js'))}).bindingFile)`], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return r.status === 0 && r.stdout ? r.stdout : undefined;
}

function firstThatLoads() {
  const picked = loaderPicks();
  if (picked) return picked;
  // a fresh clone (no dist/ yet): the local build, else any prebuilt binary that loads as it is
  const candidates = [path.join(root, 'build', 'Release', 'torchgraft.node')];
  const pre = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  if (fs.existsSync(pre)) {
    for (const v of fs.readdirSync(pre)) {
      const dir = path.join(pre, v);
      if (fs.statSync(dir).isDirectory()) for (const f of fs.readdirSync(dir)) if (f.endsWith('.node')) candidates.push(path.join(dir, f));
    }
  }
  return candidates.find((f) => fs.existsSync(f) && loads(f));
}

const ok = !process.env.TORCHGRAFT_FORCE_BUILD && firstThatLoads();
if (ok) {
  console.error(`torchgraft: using ${path.relative(root, ok)}`);
  process.exit(0);
}
process.exit(require('./build-native').build());
