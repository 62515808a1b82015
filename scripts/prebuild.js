#!/usr/bin/env node
// npm run prebuild: builds the addon with prebuildify (Node-API 8, stripped) and files it as
// prebuilds/<platform>-<arch>/<variant>/torchgraft.napi.glibc.node with a manifest.json, where the variant names
// the LibTorch it was built against (torch-1.13-cpu, torch-2.11-cu130): the loader picks the one matching the LibTorch it finds.
//   --from-build   file the existing build/Release binary instead (stripped the same way): for machines without
//                  prebuildify, such as the GPU machine (scripts/gpu-check.sh)
//   --out DIR      write DIR/prebuilds/... instead of the package's own prebuilds/
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const tuple = `${process.platform}-${process.arch}`;
const libc = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';

/** Copies a binary into <out>/prebuilds/<tuple>/<variant>/ and writes its manifest.json; returns the path. */
function fileVariant(binary, name, out, { strip }) {
  const info = JSON.parse(fs.readFileSync(path.join(root, 'build', 'torchgraft-build.json'), 'utf8'));
  const dest = path.join(out, 'prebuilds', tuple, info.variant);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  const file = path.join(dest, name);
  fs.copyFileSync(binary, file);
  if (strip) {
    const r = spawnSync('strip', ['--strip-all', file], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error('strip failed');
  }
  const manifest = {
    variant: info.variant,
    torchVersion: info.torchVersion,
    cuda: info.cuda,
    cxx11Abi: info.cxx11Abi,
    napiVersion: 8,
    platform: process.platform,
    arch: process.arch,
    libc,
    builtAgainst: info.libtorch,
    rpath: info.rpath,
    built: new Date().toISOString(),
    binary: name,
  };
  fs.writeFileSync(path.join(dest, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.error(`torchgraft: wrote ${file} (${(fs.statSync(file).size / 1024).toFixed(0)} KiB, stripped) and manifest.json`);
  return file;
}

/** prebuildify builds through scripts/prebuild-backend.js (cmake-js), strips, and names the file by its tags. */
function withPrebuildify(out) {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'torchgraft-prebuild-'));
  try {
    const prebuildify = require.resolve('prebuildify/bin.js', { paths: [root] });
    const r = spawnSync(
      process.execPath,
      [prebuildify, '--napi', '--strip', '--tag-libc', '--name', 'torchgraft', '--out', stage, '--node-gyp', path.join(__dirname, 'prebuild-backend.js')],
      { cwd: root, stdio: 'inherit' },
    );
    if (r.status !== 0) throw new Error(`prebuildify failed (exit ${r.status})`);
    const built = path.join(stage, 'prebuilds', tuple);
    const files = fs.readdirSync(built).filter((f) => f.endsWith('.node'));
    if (files.length !== 1) throw new Error(`expected one binary from prebuildify, found: ${files.join(', ') || 'none'}`);
    // prebuildify 6 names a Node-API build <name>.<libc>.node; the napi tag says what it is (node-gyp-build reads it)
    const fileLibc = files[0].includes('.musl.') ? 'musl' : 'glibc';
    fileVariant(path.join(built, files[0]), `torchgraft.napi.${fileLibc}.node`, out, { strip: false });
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
  // prebuildify moved build/Release/torchgraft.node away; relinking puts the local (unstripped) build back
  return require('./build-native').build({ quiet: true });
}

function main(argv) {
  const outAt = argv.indexOf('--out');
  const out = outAt >= 0 ? path.resolve(argv[outAt + 1]) : root;
  if (argv.includes('--from-build')) {
    const binary = path.join(root, 'build', 'Release', 'torchgraft.node');
    if (!fs.existsSync(binary)) throw new Error(`${binary} is missing: build it first`);
    fileVariant(binary, `torchgraft.napi.${libc}.node`, out, { strip: true });
    return 0;
  }
  return withPrebuildify(out);
}

module.exports = { fileVariant };
if (require.main === module) {
  try {
    process.exit(main(process.argv.slice(2)));
  } catch (e) {
    console.error(`torchgraft: prebuild failed: ${e.message}`);
    process.exit(1);
  }
}
