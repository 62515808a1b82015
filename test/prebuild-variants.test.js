// The packed tarball carries one prebuilt binary per LibTorch (torch-1.13-cpu, built on Debian 12, and torch-2.6-cpu,
// built in the Debian 13 chroot): on each LibTorch the loader picks the binary for it, and refuses the other one with a
// message saying what it was built for. CI packs that tarball (scripts/ci-libtorch2.sh) and runs this file on both
// LibTorch versions with TORCHGRAFT_TEST_PACKAGE naming it; without that variable there is no two-variant tarball here.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { userEnv } = require('./helpers/user-env');
const tg = require('..');

const root = path.resolve(__dirname, '..');
const tuple = `${process.platform}-${process.arch}`;
const tarball = process.env.TORCHGRAFT_TEST_PACKAGE;
const skip = tarball ? false : 'TORCHGRAFT_TEST_PACKAGE names no two-variant tarball (CI packs one: .ci/run, scripts/ci-libtorch2.sh)';
const VARIANTS = ['torch-1.13-cpu', 'torch-2.6-cpu'];
const here = `torch-${tg.buildInfo().torchVersion.split('.').slice(0, 2).join('.')}-cpu`;
const other = VARIANTS.find((v) => v !== here);


const scratch = [];
test.after(() => scratch.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
/** A fresh temporary folder, removed when the file's tests end (not when the test that made it ends). */
function tmp(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(d);
  return d;
}

let unpacked;
/** The tarball extracted once, with the checkout's node_modules beside it (the loader needs node-gyp-build). */
function pkg() {
  if (unpacked) return unpacked;
  assert.ok(fs.existsSync(tarball), `TORCHGRAFT_TEST_PACKAGE names ${tarball}, which does not exist`);
  const dir = tmp('tg-variants-');
  const r = spawnSync('tar', ['-xzf', tarball, '-C', dir], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  unpacked = path.join(dir, 'package');
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(unpacked, 'node_modules'));
  return unpacked;
}

/** A copy of the package (prebuilt binaries only for `keep`), so that one test's removals do not reach another. */
function copyWith(keep) {
  const src = pkg();
  const dir = tmp('tg-variant-');
  fs.cpSync(src, dir, { recursive: true, verbatimSymlinks: true });
  for (const v of fs.readdirSync(path.join(dir, 'prebuilds', tuple))) if (!keep.includes(v)) fs.rmSync(path.join(dir, 'prebuilds', tuple, v), { recursive: true });
  return dir;
}

/** Requires the package in a fresh process: which binary loaded and a matmul, or the load error. */
function loadIn(dir, env = {}) {
  const r = spawnSync(
    process.execPath,
    ['-e', `
      let out;
      try {
        const tg = require(${JSON.stringify(dir)});
        const y = tg.tensor([[1, 2], [3, 4]], { dtype: 'float32' }).matmul(tg.ones([2, 1])).toArray();
        out = { file: require(${JSON.stringify(path.join(dir, 'dist', 'native'))}).bindingFile, y, torch: tg.buildInfo().torchVersion };
      } catch (e) { out = { name: e.name, code: e.code, message: e.message }; }
      console.log(JSON.stringify(out));`],
    { encoding: 'utf8', env: userEnv(env), timeout: 120_000 },
  );
  assert.strictEqual(r.status, 0, `the process died (${r.signal ?? r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

test('the tarball carries a prebuilt binary and manifest for LibTorch 1.13 and for 2.6', { skip }, () => {
  const dir = path.join(pkg(), 'prebuilds', tuple);
  assert.deepStrictEqual(fs.readdirSync(dir).sort(), VARIANTS);
  for (const v of VARIANTS) {
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, v, 'manifest.json'), 'utf8'));
    assert.strictEqual(manifest.variant, v);
    assert.strictEqual(`torch-${manifest.torchVersion.split('.').slice(0, 2).join('.')}-cpu`, v, 'the manifest agrees with its folder');
    assert.ok(fs.statSync(path.join(dir, v, manifest.binary)).size > 200_000, `${v}/${manifest.binary} is a real binary`);
  }
  assert.ok(!fs.existsSync(path.join(pkg(), 'build')), 'no local build in the tarball');
});

test(`on this LibTorch the loader picks ${here} from the two, and it computes`, { skip }, () => {
  const out = loadIn(pkg());
  assert.strictEqual(out.name, undefined, JSON.stringify(out));
  assert.strictEqual(out.file, path.join(pkg(), 'prebuilds', tuple, here, 'torchgraft.napi.glibc.node'), JSON.stringify(out));
  assert.strictEqual(out.torch, tg.buildInfo().torchVersion);
  assert.deepStrictEqual(out.y, [[3], [7]]);
});

test('with only the binary for the other LibTorch, loading fails with a message saying what it was built for', { skip }, () => {
  const out = loadIn(copyWith([other]));
  assert.strictEqual(out.name, 'TorchError', JSON.stringify(out));
  assert.strictEqual(out.code, 'ERR_NATIVE_LOAD');
  const mm = (v) => v.slice('torch-'.length, -'-cpu'.length);
  assert.match(out.message, new RegExp(`prebuilds/${tuple}/${other}/torchgraft\\.napi\\.glibc\\.node: .*built for LibTorch ${mm(other).replace('.', '\\.')} \\(CPU\\), and the LibTorch found is LibTorch ${mm(here).replace('.', '\\.')} \\(CPU\\)`));
  assert.match(out.message, /npx torchgraft build/, 'the message says how to fix it');
});

test('TORCHGRAFT_BINARY naming the other LibTorch\'s binary is tried alone and refused by the dynamic linker, and the process lives', { skip }, () => {
  const dir = copyWith(VARIANTS);
  const file = path.join(dir, 'prebuilds', tuple, other, 'torchgraft.napi.glibc.node');
  const out = loadIn(dir, { TORCHGRAFT_BINARY: file });
  assert.strictEqual(out.code, 'ERR_NATIVE_LOAD', JSON.stringify(out));
  // its NEEDED entries name the other version's sonames (libtorch_cpu.so.2.6 or .1.13), which this system lacks
  assert.match(out.message, /lib(torch_cpu|c10)\.so\.\d+\.\d+: cannot open shared object file/);
  assert.match(out.message, /unset TORCHGRAFT_BINARY/);
});
