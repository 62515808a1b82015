// The loader (lib/native.ts): which binary it picks, and the one error it throws when none loads.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const native = require('../dist/native.js');
const { find } = require('../scripts/find-libtorch.js');

/** A package laid out like an installed one (dist/, scripts/, package.json, node_modules) with no build/ and no prebuilds/. */
function fakeInstall(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchgraft-loader-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(root, 'scripts', 'find-libtorch.js'), path.join(dir, 'scripts', 'find-libtorch.js'));
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** Requires the package in a fresh node and reports { ok, file } or { error, code }. */
function loadIn(dir, env = {}) {
  const script = `
    try {
      const tg = require(${JSON.stringify(dir)});
      const s = tg.tensor([1, 2, 3]).add(1).sum().item();
      console.log(JSON.stringify({ ok: s === 9, file: require(${JSON.stringify(path.join(dir, 'dist', 'native.js'))}).bindingFile }));
    } catch (e) {
      console.log(JSON.stringify({ error: e.message, code: e.code, name: e.name }));
    }`;
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, ['-e', script], { env: childEnv, encoding: 'utf8' });
  assert.strictEqual(r.status, 0, `node exited ${r.status} (signal ${r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function prebuiltOrLocal() {
  const variant = find().variant;
  const pre = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, variant, 'torchgraft.napi.glibc.node');
  if (fs.existsSync(pre)) return pre;
  return path.join(root, 'build', 'Release', 'torchgraft.node');
}

function assertNamesTheFixes(message) {
  assert.match(message, /npx torchgraft build/);
  assert.match(message, /npm approve-scripts torchgraft/);
  assert.match(message, /LibTorch found:/);
}

test('with no build and no prebuilt binary, requiring the package throws one error naming both fixes', (t) => {
  const dir = fakeInstall(t);
  const r = loadIn(dir, { TORCHGRAFT_BINARY: undefined });
  assert.ok(r.error, 'expected the load to fail');
  assert.strictEqual(r.code, 'ERR_NATIVE_LOAD');
  assert.strictEqual(r.name, 'TorchError');
  assertNamesTheFixes(r.error);
  assert.match(r.error, /no local build in build\/Release and no prebuilt binary/);
});

test('a corrupt prebuilt binary is listed with its loader error, and the process lives', (t) => {
  const dir = fakeInstall(t);
  const vdir = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, find().variant);
  fs.mkdirSync(vdir, { recursive: true });
  fs.writeFileSync(path.join(vdir, 'torchgraft.napi.glibc.node'), 'this is not an ELF file');
  const r = loadIn(dir, { TORCHGRAFT_BINARY: undefined });
  assert.ok(r.error, 'expected the load to fail');
  assertNamesTheFixes(r.error);
  assert.match(r.error, new RegExp(`prebuilds/${process.platform}-${process.arch}/${find().variant}/torchgraft.napi.glibc.node: .*(invalid ELF header|too short)`));
});

test('TORCHGRAFT_BINARY names the only binary tried: a corrupt one fails although build/Release would load', () => {
  const bad = path.join(os.tmpdir(), `torchgraft-corrupt-${process.pid}.node`);
  fs.writeFileSync(bad, Buffer.alloc(64, 7));
  try {
    const r = loadIn(root, { TORCHGRAFT_BINARY: bad });
    assert.ok(r.error, 'expected the load to fail');
    assertNamesTheFixes(r.error);
    assert.match(r.error, /unset TORCHGRAFT_BINARY/);
    assert.ok(r.error.includes(bad), 'the error names the file tried');
  } finally {
    fs.rmSync(bad, { force: true });
  }
});

test('the prebuilt variant matching the LibTorch found is preferred over one for another LibTorch', (t) => {
  const good = prebuiltOrLocal();
  assert.ok(fs.existsSync(good), 'needs a build: npm run build:native or npm run prebuild');
  const dir = fakeInstall(t);
  const tuple = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
  // the same binary under a name for another LibTorch: it sorts first, so only matching makes the loader pass it over
  for (const variant of ['torch-0.9-cpu', find().variant]) {
    fs.mkdirSync(path.join(tuple, variant), { recursive: true });
    fs.copyFileSync(good, path.join(tuple, variant, 'torchgraft.napi.glibc.node'));
  }
  const r = loadIn(dir, { TORCHGRAFT_BINARY: undefined });
  assert.strictEqual(r.error, undefined);
  assert.ok(r.ok);
  assert.strictEqual(r.file, path.join(tuple, find().variant, 'torchgraft.napi.glibc.node'));
});

test('orderByMatch ranks by the LibTorch search order, then by exact CUDA version, keeping non-matches last', () => {
  const cands = [
    { file: 'a', variant: 'torch-1.13-cpu', torchVersion: '1.13', cuda: null },
    { file: 'b', variant: 'torch-2.11-cu126', torchVersion: '2.11', cuda: '12.6' },
    { file: 'c', variant: 'torch-2.11-cu130', torchVersion: '2.11', cuda: '13.0' },
    { file: 'd', variant: 'torch-2.11-cpu', torchVersion: '2.11', cuda: null },
  ];
  const installs = [
    { source: 'python', how: 'py', libDir: '/py/torch/lib', version: '2.11.0', cuda: '13.0', cxx11Abi: true, variant: 'torch-2.11-cu130' },
    { source: 'system', how: 'sys', libDir: '/usr/lib', version: '1.13.0', cuda: null, cxx11Abi: true, variant: 'torch-1.13-cpu' },
  ];
  const order = native.orderByMatch(cands, installs);
  assert.deepStrictEqual(order.map((o) => o.cand.file), ['c', 'b', 'a', 'd']);
  assert.deepStrictEqual(order.map((o) => o.install && o.install.how), ['py', 'py', 'sys', undefined]);
});

test('the loaded binary is the local build here, and its variant agrees with the LibTorch found', () => {
  assert.ok(native.bindingFile.endsWith('.node'));
  const built = path.join(root, 'build', 'torchgraft-build.json');
  if (fs.existsSync(built)) assert.strictEqual(JSON.parse(fs.readFileSync(built, 'utf8')).variant, find().variant);
});

test('a binary from another version of torchgraft (another addon API) is refused with a message saying so', (t) => {
  // a minimal Node-API addon that exports addonApi = 1, built with the C compiler a source build needs anyway
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'torchgraft-api-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, 'old.c');
  fs.writeFileSync(
    src,
    `#include <node_api.h>
NAPI_MODULE_INIT() { napi_value v; napi_create_int32(env, 1, &v); napi_set_named_property(env, exports, "addonApi", v); return exports; }`,
  );
  const inc = path.join(path.dirname(require.resolve('node-api-headers/package.json', { paths: [root] })), 'include');
  const out = path.join(dir, 'old.node');
  const cc = spawnSync('cc', ['-shared', '-fPIC', `-I${inc}`, src, '-o', out], { encoding: 'utf8' });
  assert.strictEqual(cc.status, 0, `cc failed: ${cc.stderr}`);
  const r = loadIn(root, { TORCHGRAFT_BINARY: out });
  assert.strictEqual(r.code, 'ERR_NATIVE_LOAD');
  assert.match(r.error, /built from another version of torchgraft \(addon API 1; this JavaScript needs \d+\)/);
  assert.ok(r.error.includes(path.relative(root, out)), 'the error names the file (relative to the package, as the loader lists it)');
});
