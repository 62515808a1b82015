'use strict';
// The package as a user installs it, without the network: `npm pack`, then `npm install --offline <tarball>` into an
// empty project outside the repository (npm's cache holds our dependencies once `npm ci` has run here; where it does
// not, the tarball is unpacked and the repository's node_modules linked instead, and the diagnostic says so). Then:
// the tarball's contents (LICENSE, examples, no cmake-js dependency), the CLI from the installed package, an example
// run from it on a fixture, and `torchgraft build --dry-run` with npm offline and an empty cache: a clear error that
// cmake-js cannot be fetched. Takes well under a minute.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { userEnv } = require('./helpers/user-env');
const { fixture } = require('./helpers/foreign');

const root = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: userEnv(), maxBuffer: 64 << 20, timeout: 180000, ...opts });
  if (r.error) throw r.error;
  return r;
}
function ok(r, what) {
  assert.strictEqual(r.status, 0, `${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The prebuilt binary the tarball must carry: filed from the local build when missing (a copy, not a compile). */
function ensurePrebuilt() {
  const { find } = require('../scripts/find-libtorch.js');
  const file = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, find().variant, 'torchgraft.napi.glibc.node');
  if (!fs.existsSync(file)) ok(run(process.execPath, [path.join(root, 'scripts', 'prebuild.js'), '--from-build'], { cwd: root }), 'prebuild --from-build');
  return file;
}

/** Installs the tarball into dir offline; returns how ('npm install --offline' or 'unpacked + linked'). */
function installOffline(t, dir, tarball) {
  const r = run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball], { cwd: dir });
  if (r.status === 0) return { how: 'npm install --offline', out: r.stdout + r.stderr };
  assert.match(r.stdout + r.stderr, /ENOTCACHED|offline/, `npm install --offline failed for another reason than a missing cache:\n${r.stdout}\n${r.stderr}`);
  t.diagnostic('npm cache lacks a dependency: the tarball is unpacked and the repository\'s node_modules linked instead');
  const modules = path.join(dir, 'node_modules');
  fs.rmSync(modules, { recursive: true, force: true });
  fs.mkdirSync(modules);
  ok(run('tar', ['-xzf', tarball, '-C', modules]), 'tar -xzf');
  fs.renameSync(path.join(modules, 'package'), path.join(modules, 'torchgraft'));
  for (const name of Object.keys(pkg.dependencies)) {
    fs.mkdirSync(path.dirname(path.join(modules, name)), { recursive: true });
    fs.symlinkSync(fs.realpathSync(path.join(root, 'node_modules', name)), path.join(modules, name));
  }
  fs.mkdirSync(path.join(modules, '.bin'));
  fs.symlinkSync('../torchgraft/dist/cli/main.js', path.join(modules, '.bin', 'torchgraft'));
  return { how: 'unpacked + linked', out: '' };
}

test('the packed package installs offline into an empty project; its CLI and examples run from there', { timeout: 5 * 60 * 1000 }, async (t) => {
  ensurePrebuilt();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-package-'));
  t.after(() => fs.rmSync(work, { recursive: true, force: true }));
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'main.js'))) ok(run('npm', ['run', 'build:ts'], { cwd: root }), 'npm run build:ts');
  // --ignore-scripts: prepare (tsc) would rewrite dist/ while other test files run from it
  const packed = ok(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root }), 'npm pack');
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')));
  const files = info.files.map((f) => f.path);
  const tarball = path.join(work, info.filename);

  await t.test('the tarball holds LICENSE, the examples and the build scripts; cmake-js is no runtime dependency', () => {
    const examples = fs.readdirSync(path.join(root, 'examples')).filter((f) => /\.(js|ts)$/.test(f));
    assert.ok(examples.length >= 6, examples.join(', '));
    for (const f of ['LICENSE', 'package.json', 'examples/tsconfig.json', 'scripts/build-native.js', 'scripts/build-progress.js', 'scripts/install.js', ...examples.map((e) => `examples/${e}`)]) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    for (const f of files) assert.doesNotMatch(f, /^(examples\/dist|test|lib|bench|build)\//, `${f} should not be in the tarball`);
    assert.match(fs.readFileSync(path.join(root, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) 2026 the torchgraft authors\n[\s\S]*CC BY-SA 3\.0/);
    assert.strictEqual(pkg.license, '(MIT AND CC-BY-SA-3.0)');
    assert.strictEqual(pkg.dependencies['cmake-js'], undefined);
    // every example loads the package by name, so that it runs from node_modules/torchgraft/examples as from a clone
    for (const e of examples) {
      const src = fs.readFileSync(path.join(root, 'examples', e), 'utf8');
      assert.match(src, /require\('torchgraft'\)|from 'torchgraft'/, e);
      assert.doesNotMatch(src, /require\('\.\.(\/[^']*)?'\)|from '\.\.(\/[^']*)?'/, `${e} loads torchgraft by a relative path`);
    }
  });

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'tg-offline-app', version: '1.0.0', private: true }));
  const { how, out } = installOffline(t, app, tarball);
  t.diagnostic(`installed with ${how}`);
  const installed = path.join(app, 'node_modules', 'torchgraft');

  await t.test('the install needed no cmake-js: the prebuilt binary was kept, cmake-js is not in node_modules', () => {
    assert.ok(!fs.existsSync(path.join(app, 'node_modules', 'cmake-js')), 'cmake-js was not installed');
    if (how === 'npm install --offline') assert.match(out, /torchgraft: using prebuilds\//);
    assert.ok(!fs.existsSync(path.join(installed, 'build')), 'nothing was compiled');
  });

  const bin = path.join(app, 'node_modules', '.bin', 'torchgraft');
  await t.test('the installed CLI: --version, inspect --json', () => {
    assert.strictEqual(ok(run(bin, ['--version'], { cwd: app }), 'torchgraft --version').stdout, `${pkg.version}\n`);
    const r = ok(run(bin, ['inspect', '--json', fixture('burn_multi_layer.safetensors')], { cwd: app }), 'torchgraft inspect --json');
    assert.deepStrictEqual(JSON.parse(r.stdout).totals, { tensors: 9, elements: 4241, bytes: 16968 });
  });

  await t.test('an example runs from the installed package (torchscript-finetune on the TorchSharp MLP)', () => {
    const r = ok(run(process.execPath, [path.join(installed, 'examples', 'torchscript-finetune.js'), fixture('torchsharp_mlp_1000_100_10_torchscript.pt'), '--out', app], { cwd: app }), 'example');
    assert.match(r.stdout, /backbone '0' \(frozen\): \[16, 1000\] -> 100 features; new head: Linear\(100, 3\)/);
    assert.ok(fs.existsSync(path.join(app, 'finetuned.safetensors')) && fs.existsSync(path.join(app, 'backbone.pt')));
    const bad = run(process.execPath, [path.join(installed, 'examples', 'torchscript-finetune.js'), fixture('torchsharp_mlp_1000_100_10_torchscript.pt'), '--input-shape', '3,32,32'], { cwd: app });
    assert.strictEqual(bad.status, 1);
    assert.match(bad.stderr, /^torchscript-finetune: backbone '0' does not take inputs of shape \[16, 3, 32, 32\]: RuntimeError: mat1 and mat2 shapes cannot be multiplied/);
    assert.doesNotMatch(bad.stderr, /Traceback/);
  });

  await t.test('torchgraft build --dry-run from the installed package: cmake-js through npx, a clear error when npm is offline', () => {
    const emptyCache = fs.mkdtempSync(path.join(work, 'npm-cache-'));
    const r = run(bin, ['build', '--dry-run'], { cwd: app, env: userEnv({ npm_config_offline: 'true', npm_config_cache: emptyCache }) });
    assert.strictEqual(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /cmake-js is not installed with torchgraft; getting cmake-js@8\.0\.0 through npx/);
    assert.match(r.stderr, /cmake-js@8\.0\.0 could not be fetched with npx \(offline, or the npm registry unreachable\?\)/);
    assert.match(r.stderr, /npm install --no-save cmake-js@8\.0\.0 .*or\n {2}set TORCHGRAFT_CMAKE_JS/);
  });
});
