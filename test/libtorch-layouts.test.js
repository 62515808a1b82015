// Where users' LibTorch lives: a pip-installed PyTorch (site-packages/torch), a LIBTORCH folder, the system's, and a copy
// an app ships beside its binary (Electron's resources/libtorch). The finder (scripts/find-libtorch.js), the build
// (cmake-js on CMakeLists.txt) and the loader (lib/native.ts) must all find them, in the documented order.
// The wheel and the shipped copies are made here from the system LibTorch: symlinks for the wheel (only looked at),
// hard links (or copies) for a shipped copy, so that /proc/self/maps shows which folder the libraries were mapped from.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const finderFile = path.join(root, 'scripts', 'find-libtorch.js');
const { findAll } = require(finderFile);
const { cmakeJsArgs } = require('../scripts/build-native.js');

const system = findAll().find((lt) => lt.source === 'system');
const noSystem = !system && 'needs a system LibTorch (apt-get install libtorch-dev) to lay out the others from';
const basePython = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import venv'], { stdio: 'ignore' }).status === 0);
const hasCmake = spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status === 0;
const localBuild = path.join(root, 'build', 'Release', 'torchgraft.node');
const localInfo = path.join(root, 'build', 'torchgraft-build.json');
const tuple = `${process.platform}-${process.arch}`;
const LIBS = ['libc10', 'libtorch_cpu', 'libtorch', 'libtorch_global_deps'];

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torchgraft-layouts-'));
test.after(() => fs.rmSync(scratch, { recursive: true, force: true }));
let serial = 0;
const fresh = (name) => path.join(scratch, `${name}-${++serial}`);

/** The environment of a child that inherits no LibTorch choice of ours (each test adds its own). */
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const k of ['LIBTORCH', 'TORCHGRAFT_PYTHON', 'TORCHGRAFT_BINARY', 'LD_LIBRARY_PATH', 'LD_PRELOAD']) delete env[k];
  return { ...env, ...extra };
}

/** The real file behind the system's libX.so. */
const systemLib = (name) => fs.realpathSync(path.join(system.libDir, `${name}.so`));

/**
 * A venv whose site-packages/torch is laid out like a wheel's: lib/*.so (symlinks to the system's), share/cmake/Torch,
 * version.py, and torch/utils/__init__.py with cmake_prefix_path (CMakeLists.txt imports it).
 */
function wheelVenv({ version = '2.6.0+cpu', cuda = null } = {}) {
  const venv = fresh('venv');
  const r = spawnSync(basePython, ['-m', 'venv', '--without-pip', venv], { encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  const lib = path.join(venv, 'lib');
  const sitePackages = path.join(lib, fs.readdirSync(lib).find((d) => d.startsWith('python')), 'site-packages');
  const torch = path.join(sitePackages, 'torch');
  fs.mkdirSync(path.join(torch, 'lib'), { recursive: true });
  fs.mkdirSync(path.join(torch, 'utils'));
  fs.mkdirSync(path.join(torch, 'share', 'cmake', 'Torch'), { recursive: true });
  fs.writeFileSync(path.join(torch, '__init__.py'), 'from .version import __version__\n');
  fs.writeFileSync(
    path.join(torch, 'utils', '__init__.py'),
    "import os.path as _osp\ncmake_prefix_path = _osp.join(_osp.dirname(_osp.dirname(__file__)), 'share', 'cmake')\n",
  );
  // as a wheel's version.py reads
  fs.writeFileSync(
    path.join(torch, 'version.py'),
    `from typing import Optional\n\n__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip']\n__version__ = '${version}'\n` +
      `debug = False\ncuda: Optional[str] = ${cuda ? `'${cuda}'` : 'None'}\ngit_version = '0000000'\nhip: Optional[str] = None\n`,
  );
  // a wheel's libraries carry no version in their names
  for (const name of LIBS) fs.symlinkSync(systemLib(name), path.join(torch, 'lib', `${name}.so`));
  if (cuda) for (const name of ['libtorch_cuda', 'libc10_cuda']) fs.symlinkSync(systemLib('libtorch'), path.join(torch, 'lib', `${name}.so`));
  // a small TorchConfig.cmake with what CMakeLists.txt reads from the real one (prefix three folders up, as a wheel's)
  const mm = version.match(/^\d+\.\d+\.\d+/)[0];
  fs.writeFileSync(
    path.join(torch, 'share', 'cmake', 'Torch', 'TorchConfigVersion.cmake'),
    `set(PACKAGE_VERSION "${mm}")\nset(PACKAGE_VERSION_COMPATIBLE TRUE)\nif(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)\n  set(PACKAGE_VERSION_EXACT TRUE)\nendif()\n`,
  );
  fs.writeFileSync(
    path.join(torch, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'),
    [
      'get_filename_component(TORCH_INSTALL_PREFIX "${CMAKE_CURRENT_LIST_DIR}/../../../" ABSOLUTE)',
      'set(TORCH_INCLUDE_DIRS "${TORCH_INSTALL_PREFIX}/include" "${TORCH_INSTALL_PREFIX}/include/torch/csrc/api/include")',
      'find_library(TORCH_LIBRARY torch PATHS "${TORCH_INSTALL_PREFIX}/lib" NO_DEFAULT_PATH)',
      'find_library(C10_LIBRARY c10 PATHS "${TORCH_INSTALL_PREFIX}/lib" NO_DEFAULT_PATH)',
      'find_library(TORCH_CPU_LIBRARY torch_cpu PATHS "${TORCH_INSTALL_PREFIX}/lib" NO_DEFAULT_PATH)',
      'add_library(torch SHARED IMPORTED)',
      'set_target_properties(torch PROPERTIES IMPORTED_LOCATION "${TORCH_LIBRARY}")',
      'set(TORCH_LIBRARIES torch "${C10_LIBRARY}" "${TORCH_CPU_LIBRARY}")',
      'set(TORCH_CXX_FLAGS "-D_GLIBCXX_USE_CXX11_ABI=1")',
      'set(TORCH_FOUND TRUE)',
      '',
    ].join('\n'),
  );
  return { venv, python: path.join(venv, 'bin', 'python3'), torch, sitePackages };
}

/** An unpacked LibTorch zip: lib/ (symlinks), share/cmake/Torch, build-version. */
function libtorchZip(buildVersion = '2.5.1+cpu') {
  const dir = fresh('libtorch-zip');
  fs.mkdirSync(path.join(dir, 'lib'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'share', 'cmake', 'Torch'), { recursive: true });
  for (const name of LIBS) fs.symlinkSync(systemLib(name), path.join(dir, 'lib', `${name}.so`));
  fs.writeFileSync(path.join(dir, 'build-version'), `${buildVersion}\n`);
  return dir;
}

/** What scripts/find-libtorch.js finds in a fresh node with this environment. */
function findIn(env) {
  const r = spawnSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(finderFile)}).findAll()))`], {
    env: cleanEnv(env),
    encoding: 'utf8',
    timeout: 120000,
  });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('a pip PyTorch in an activated venv (its python3 first on PATH) is found as source python, with its torch/lib, version and variant', { skip: noSystem || (!basePython && 'no Python with venv') }, () => {
  const w = wheelVenv();
  const found = findIn({ PATH: `${path.join(w.venv, 'bin')}${path.delimiter}${process.env.PATH}` });
  assert.deepStrictEqual(found.map((f) => f.source), ['python', 'system']);
  const [py] = found;
  assert.strictEqual(py.libDir, path.join(w.torch, 'lib'));
  assert.strictEqual(py.root, w.torch);
  assert.strictEqual(py.version, '2.6.0');
  assert.strictEqual(py.cuda, null);
  assert.strictEqual(py.variant, 'torch-2.6-cpu');
  assert.strictEqual(py.cxx11Abi, true, 'read from TorchConfig.cmake');
  assert.deepStrictEqual(py.cmakeDirs, [path.join(w.torch, 'share', 'cmake')]);
  assert.match(py.how, /^Python PyTorch \(python3\): /);
});

test('TORCHGRAFT_PYTHON names the interpreter without PATH; a CUDA wheel is named after its CUDA version', { skip: noSystem || (!basePython && 'no Python with venv') }, () => {
  const w = wheelVenv({ version: '2.6.0+cu126', cuda: '12.6' });
  const found = findIn({ TORCHGRAFT_PYTHON: w.python });
  assert.deepStrictEqual(found.map((f) => f.source), ['python', 'system']);
  assert.strictEqual(found[0].libDir, path.join(w.torch, 'lib'));
  assert.strictEqual(found[0].cuda, '12.6');
  assert.strictEqual(found[0].variant, 'torch-2.6-cu126');
  assert.ok(found[0].how.includes(w.python));
});

test('the order is LIBTORCH, then the pip PyTorch, then the system; a LIBTORCH without lib/libtorch is passed over', { skip: noSystem || (!basePython && 'no Python with venv') }, () => {
  const w = wheelVenv();
  const zip = libtorchZip('2.5.1+cpu');
  const PATH = `${path.join(w.venv, 'bin')}${path.delimiter}${process.env.PATH}`;
  const found = findIn({ PATH, LIBTORCH: zip });
  assert.deepStrictEqual(found.map((f) => f.source), ['LIBTORCH', 'python', 'system']);
  assert.deepStrictEqual(found.map((f) => f.variant), ['torch-2.5-cpu', 'torch-2.6-cpu', system.variant]);
  assert.strictEqual(found[0].libDir, path.join(zip, 'lib'));
  const empty = fresh('empty');
  fs.mkdirSync(empty);
  assert.deepStrictEqual(findIn({ PATH, LIBTORCH: empty }).map((f) => f.source), ['python', 'system']);
});

test('the build (cmake-js configure of CMakeLists.txt, as npx torchgraft build runs it) takes the pip PyTorch the finder names', { skip: noSystem || (!basePython && 'no Python with venv') || (!hasCmake && 'cmake not installed'), timeout: 300000 }, () => {
  const w = wheelVenv();
  const out = fresh('cmake-build');
  const env = cleanEnv({ PATH: `${path.join(w.venv, 'bin')}${path.delimiter}${process.env.PATH}` });
  const r = spawnSync(process.execPath, cmakeJsArgs('configure', { out }), { cwd: root, env, encoding: 'utf8', timeout: 280000 });
  assert.strictEqual(r.status, 0, `cmake-js configure failed:\n${r.stdout}\n${r.stderr}`);
  const built = JSON.parse(fs.readFileSync(path.join(out, 'torchgraft-build.json'), 'utf8'));
  // CMake is told by the finder (scripts/find-libtorch.js --cmake): the build names the LibTorch the finder names
  const [first] = findIn({ PATH: env.PATH });
  assert.strictEqual(first.source, 'python');
  assert.strictEqual(built.libtorch, first.how);
  assert.strictEqual(built.libtorch, `Python PyTorch (python3): ${w.torch}`);
  assert.strictEqual(built.variant, 'torch-2.6-cpu');
  assert.strictEqual(first.variant, built.variant);
  assert.strictEqual(built.torchVersion, '2.6.0');
  assert.ok(built.rpath.split(';').includes(path.join(w.torch, 'lib')), `rpath ${built.rpath}`);
});

test('the build takes the pip PyTorch of TORCHGRAFT_PYTHON, as the finder does', { skip: noSystem || (!basePython && 'no Python with venv') || (!hasCmake && 'cmake not installed'), timeout: 300000 }, () => {
  const w = wheelVenv({ version: '2.7.1+cpu' });
  const out = fresh('cmake-build');
  const r = spawnSync(process.execPath, cmakeJsArgs('configure', { out }), { cwd: root, env: cleanEnv({ TORCHGRAFT_PYTHON: w.python }), encoding: 'utf8', timeout: 280000 });
  assert.strictEqual(r.status, 0, `cmake-js configure failed:\n${r.stdout}\n${r.stderr}`);
  const built = JSON.parse(fs.readFileSync(path.join(out, 'torchgraft-build.json'), 'utf8'));
  const [first] = findIn({ TORCHGRAFT_PYTHON: w.python });
  assert.strictEqual(built.libtorch, first.how);
  assert.strictEqual(built.variant, 'torch-2.7-cpu');
  assert.strictEqual(first.variant, built.variant);
  assert.strictEqual(first.libDir, path.join(w.torch, 'lib'));
});

// ---- a LibTorch shipped beside the app (Electron), loaded by lib/native.ts ----

/**
 * A copy of the system LibTorch as an app ships it: lib/libX.so.1.13.0 (hard links, or copies across file systems)
 * with the soname and dev links beside it. buildVersion, when given, is written to build-version (as LibTorch zips carry).
 */
function shippedLibTorch(dir, { buildVersion, devLinks = true } = {}) {
  fs.mkdirSync(path.join(dir, 'lib'), { recursive: true });
  for (const name of ['libc10', 'libtorch_cpu', 'libtorch']) {
    const real = systemLib(name);
    const file = path.join(dir, 'lib', path.basename(real));
    try {
      fs.linkSync(real, file);
    } catch {
      fs.copyFileSync(real, file, fs.constants.COPYFILE_FICLONE);
    }
    const soname = path.basename(fs.readlinkSync(path.join(system.libDir, `${name}.so`)));
    if (soname !== path.basename(real)) fs.symlinkSync(path.basename(real), path.join(dir, 'lib', soname));
    if (devLinks) fs.symlinkSync(path.basename(real), path.join(dir, 'lib', `${name}.so`));
  }
  if (buildVersion) fs.writeFileSync(path.join(dir, 'build-version'), `${buildVersion}\n`);
  return dir;
}

/** This package as an app carries it (dist/, the finder, package.json) with either its local build or one prebuilt variant. */
function packageCopy(dir, { binary }) {
  fs.mkdirSync(path.join(dir, 'scripts'), { recursive: true });
  fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(finderFile, path.join(dir, 'scripts', 'find-libtorch.js'));
  fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  const info = JSON.parse(fs.readFileSync(localInfo, 'utf8'));
  if (binary === 'local') {
    fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
    fs.copyFileSync(localBuild, path.join(dir, 'build', 'Release', 'torchgraft.node'));
    fs.copyFileSync(localInfo, path.join(dir, 'build', 'torchgraft-build.json'));
    return path.join(dir, 'build', 'Release', 'torchgraft.node');
  }
  const vdir = path.join(dir, 'prebuilds', tuple, info.variant);
  fs.mkdirSync(vdir, { recursive: true });
  fs.copyFileSync(localBuild, path.join(vdir, 'torchgraft.napi.glibc.node'));
  fs.writeFileSync(path.join(vdir, 'manifest.json'), JSON.stringify({ variant: info.variant, torchVersion: info.torchVersion, cuda: info.cuda, cxx11Abi: info.cxx11Abi }));
  return path.join(vdir, 'torchgraft.napi.glibc.node');
}

/**
 * Requires the package in a fresh node (as Electron's main process: process.resourcesPath set when resources is given),
 * computes, and reports the binary, the LibTorch preloaded and the LibTorch files mapped (from /proc/self/maps).
 */
function runApp(pkg, { resources, env = {}, hideSystem = false } = {}) {
  const script = `
    ${resources ? `process.resourcesPath = ${JSON.stringify(resources)};` : ''}
    const fs = require('node:fs');
    const tg = require(${JSON.stringify(pkg)});
    const s = tg.tensor([1, 2, 3]).add(1).sum().item();
    const native = require(${JSON.stringify(path.join(pkg, 'dist', 'native.js'))});
    const mapped = fs.readFileSync('/proc/self/maps', 'utf8').split('\\n')
      .map((l) => l.split(/\\s+/).slice(5).join(' ')).filter((p) => /\\/lib(c10|torch|torch_cpu)\\.so/.test(p));
    console.log(JSON.stringify({ ok: s === 9, file: native.bindingFile, preloaded: native.preloadedLibTorch, mapped: [...new Set(mapped)] }));`;
  const [cmd, args] = hideSystem ? hidingSystemLibTorch(script) : [process.execPath, ['-e', script]];
  const r = spawnSync(cmd, args, { env: cleanEnv(env), encoding: 'utf8', timeout: 120000 });
  assert.strictEqual(r.status, 0, `node exited ${r.status} (signal ${r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** The system's LibTorch files (their real names) that hideSystem covers. */
const systemLibFiles = () => ['libc10', 'libtorch_cpu', 'libtorch'].map(systemLib);

/**
 * node -e script in a private mount namespace where the system LibTorch files read as empty (/dev/null bound over
 * them): a user's machine without the build machine's LibTorch, although the binary's rpath still names that folder.
 */
function hidingSystemLibTorch(script) {
  const hide = systemLibFiles().map((f) => `mount --bind /dev/null ${JSON.stringify(f)} || exit 97`).join('; ');
  return ['unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${hide}; exec "$0" -e "$1"`, process.execPath, script]];
}
const canHide =
  !noSystem &&
  process.platform === 'linux' &&
  spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind /dev/null ${JSON.stringify(systemLibFiles()[0])}`], { stdio: 'ignore' }).status === 0;

/** Each of libc10, libtorch_cpu, libtorch is mapped from folder and from nowhere else. */
function assertMappedFrom(mapped, folder) {
  for (const name of ['libc10', 'libtorch_cpu', 'libtorch']) {
    const files = mapped.filter((p) => path.basename(p).startsWith(`${name}.so`));
    assert.ok(files.length > 0, `${name} is mapped: ${mapped.join(', ')}`);
    for (const f of files) assert.strictEqual(path.dirname(f), folder, `${name} mapped from ${f}, expected ${folder}`);
  }
}

const noLocalBuild = !fs.existsSync(localBuild) || !fs.existsSync(localInfo) ? 'needs the CMake build (build/Release and build/torchgraft-build.json)' : false;
const noProcMaps = !fs.existsSync('/proc/self/maps') && 'needs /proc/self/maps';

test('Electron: an app with LibTorch in <resources>/libtorch runs on that copy, not on the LibTorch its binary was linked with', { skip: noSystem || noLocalBuild || noProcMaps }, () => {
  // resources/app/node_modules/torchgraft (the asar's unpacked twin), resources/libtorch (extraResources)
  const resources = path.join(fresh('electron-app'), 'resources');
  const pkg = path.join(resources, 'app', 'node_modules', 'torchgraft');
  const file = packageCopy(pkg, { binary: 'local' });
  const shipped = shippedLibTorch(path.join(resources, 'libtorch'));
  const r = runApp(pkg, { resources });
  assert.ok(r.ok);
  assert.strictEqual(r.file, file);
  // the binary's rpath is the system folder; every LibTorch library still comes from the shipped copy
  assertMappedFrom(r.mapped, path.join(shipped, 'lib'));
  assert.strictEqual(r.preloaded, path.join(shipped, 'lib'));
});

test('Electron on a machine without the build machine\'s LibTorch (hidden in a mount namespace): the shipped copy loads, and without it the load fails', { skip: noSystem || noLocalBuild || noProcMaps || (!canHide && 'needs unshare -m and mount (root)') }, () => {
  const resources = path.join(fresh('electron-bare'), 'resources');
  const pkg = path.join(resources, 'app', 'node_modules', 'torchgraft');
  packageCopy(pkg, { binary: 'local' });
  const shipped = shippedLibTorch(path.join(resources, 'libtorch'), { buildVersion: `${system.version}+cpu` });
  const r = runApp(pkg, { resources, hideSystem: true });
  assert.ok(r.ok);
  assertMappedFrom(r.mapped, path.join(shipped, 'lib'));
  // the control: the same app without its libtorch folder cannot load there
  fs.rmSync(shipped, { recursive: true });
  const script = `process.resourcesPath = ${JSON.stringify(resources)};
    try { require(${JSON.stringify(pkg)}); console.log('{}'); } catch (e) { console.log(JSON.stringify({ code: e.code, error: e.message })); }`;
  const [cmd, args] = hidingSystemLibTorch(script);
  const c = spawnSync(cmd, args, { env: cleanEnv(), encoding: 'utf8', timeout: 120000 });
  assert.strictEqual(c.status, 0, c.stderr);
  const failed = JSON.parse(c.stdout.trim().split('\n').pop());
  assert.strictEqual(failed.code, 'ERR_NATIVE_LOAD', JSON.stringify(failed));
});

test('LIBTORCH naming a relocated folder: a prebuilt binary links against it (Python and the system are not asked)', { skip: noSystem || noLocalBuild || noProcMaps }, () => {
  const app = fresh('libtorch-env-app');
  const pkg = path.join(app, 'node_modules', 'torchgraft');
  const file = packageCopy(pkg, { binary: 'prebuilt' });
  const shipped = shippedLibTorch(path.join(app, 'vendor', 'libtorch'));
  // a python3 that fails loudly on PATH: the loader must not need to ask Python when LIBTORCH is set
  const bin = path.join(app, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'python3'), `#!/bin/sh\necho asked >> ${JSON.stringify(path.join(app, 'python-asked'))}\nexit 1\n`, { mode: 0o755 });
  const r = runApp(pkg, { env: { LIBTORCH: shipped, PATH: `${bin}${path.delimiter}${process.env.PATH}` } });
  assert.ok(r.ok);
  assert.strictEqual(r.file, file);
  assertMappedFrom(r.mapped, path.join(shipped, 'lib'));
  assert.strictEqual(r.preloaded, path.join(shipped, 'lib'));
  assert.ok(!fs.existsSync(path.join(app, 'python-asked')), 'Python was asked for a LibTorch');
});

test('a libtorch/ folder inside the package is found too, with only versioned library names (as Debian\'s runtime package has)', { skip: noSystem || noLocalBuild || noProcMaps }, () => {
  const pkg = path.join(fresh('vendored-app'), 'node_modules', 'torchgraft');
  packageCopy(pkg, { binary: 'prebuilt' });
  const shipped = shippedLibTorch(path.join(pkg, 'libtorch'), { devLinks: false });
  assert.ok(!fs.readdirSync(path.join(shipped, 'lib')).includes('libtorch_cpu.so'));
  const r = runApp(pkg);
  assert.ok(r.ok);
  assertMappedFrom(r.mapped, path.join(shipped, 'lib'));
});

test('a shipped LibTorch of another version is not mapped under a binary built for this one: its rpath LibTorch is used', { skip: noSystem || noLocalBuild || noProcMaps }, () => {
  // the control for the tests above: without a matching shipped copy the libraries come from the system folder
  const resources = path.join(fresh('electron-other'), 'resources');
  const pkg = path.join(resources, 'app', 'node_modules', 'torchgraft');
  packageCopy(pkg, { binary: 'local' });
  shippedLibTorch(path.join(resources, 'libtorch'), { buildVersion: '0.9.0+cpu' }); // a version no LibTorch here has (1.13 or 2.6)
  const r = runApp(pkg, { resources });
  assert.ok(r.ok);
  assert.strictEqual(r.preloaded, '');
  assertMappedFrom(r.mapped, system.libDir);
});

test('a shipped LibTorch whose version is unknown is listed in the load error with how to name its version', { skip: noSystem }, () => {
  // a package with no binary at all, and libtorch/lib holding only unversioned names (a wheel's torch/lib copied alone)
  const pkg = path.join(fresh('unknown-version-app'), 'node_modules', 'torchgraft');
  fs.mkdirSync(path.join(pkg, 'scripts'), { recursive: true });
  fs.cpSync(path.join(root, 'dist'), path.join(pkg, 'dist'), { recursive: true });
  fs.copyFileSync(finderFile, path.join(pkg, 'scripts', 'find-libtorch.js'));
  fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  fs.mkdirSync(path.join(pkg, 'libtorch', 'lib'), { recursive: true });
  for (const name of LIBS) fs.symlinkSync(systemLib(name), path.join(pkg, 'libtorch', 'lib', `${name}.so`));
  const script = `try { require(${JSON.stringify(pkg)}); console.log(JSON.stringify({})); } catch (e) { console.log(JSON.stringify({ error: e.message, code: e.code })); }`;
  const r = spawnSync(process.execPath, ['-e', script], { env: cleanEnv(), encoding: 'utf8', timeout: 120000 });
  assert.strictEqual(r.status, 0, r.stderr);
  const { error, code } = JSON.parse(r.stdout.trim().split('\n').pop());
  assert.strictEqual(code, 'ERR_NATIVE_LOAD');
  const line = error.split('\n').find((l) => l.includes('LibTorch shipped beside the app'));
  assert.ok(line, error);
  assert.ok(line.includes(`write it into ${path.join(pkg, 'libtorch', 'build-version')}`), line);
  // the order the loader searched in: shipped, then the system's
  const lines = error.split('\n');
  assert.ok(lines.indexOf(line) < lines.findIndex((l) => l.includes('system LibTorch')), error);
});

test('a prebuilt is no match for a LibTorch of the same version with the other C++11 ABI (a pip wheel before 2.7 against a Debian build)', () => {
  const { matchScore } = require('../dist/native.js');
  const debian26 = { torchVersion: '2.6.0', cuda: null, cxx11Abi: true };
  assert.strictEqual(matchScore(debian26, { version: '2.6.0', cuda: null, cxx11Abi: false }), 0);
  assert.strictEqual(matchScore(debian26, { version: '2.6.0', cuda: null, cxx11Abi: true }), 3);
  // unknown on either side: decided by version and CUDA alone
  assert.strictEqual(matchScore(debian26, { version: '2.6.0', cuda: null, cxx11Abi: null }), 3);
  assert.strictEqual(matchScore({ torchVersion: '2.6.0', cuda: null }, { version: '2.6.0', cuda: null, cxx11Abi: false }), 3);
});
