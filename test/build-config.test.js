// The two builds (CMake for cmake-js and plain cmake, binding.gyp for node-gyp) compile the same sources against the same LibTorch.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { find, findAll, gypFlags } = require('../scripts/find-libtorch.js');

/** binding.gyp is JSON with # comments. */
function readGyp() {
  const text = fs.readFileSync(path.join(root, 'binding.gyp'), 'utf8').replace(/^\s*#.*$/gm, '');
  return JSON.parse(text);
}

test("binding.gyp's sources are exactly native/*.cc, the list CMakeLists.txt globs", () => {
  const [target] = readGyp().targets;
  assert.strictEqual(target.target_name, 'torchgraft');
  const onDisk = fs.readdirSync(path.join(root, 'native')).filter((f) => f.endsWith('.cc')).map((f) => `native/${f}`).sort();
  assert.deepStrictEqual([...target.sources].sort(), onDisk);
  assert.match(fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8'), /file\(GLOB TG_SOURCES CONFIGURE_DEPENDS \$\{CMAKE_SOURCE_DIR\}\/native\/\*\.cc\)/);
});

test('both builds compile with the same Node-API defines (Node-API 8, swallowed unthrowable exceptions)', () => {
  const [target] = readGyp().targets;
  const gyp = target.defines.filter((d) => !d.startsWith('<!')).sort();
  const cmakeText = fs.readFileSync(path.join(root, 'CMakeLists.txt'), 'utf8');
  const m = cmakeText.match(/target_compile_definitions\(torchgraft PRIVATE ([^)]*)\)/);
  assert.ok(m, 'CMakeLists.txt has one target_compile_definitions for torchgraft');
  const cmake = m[1].split(/\s+/).filter(Boolean).sort();
  assert.deepStrictEqual(gyp, cmake);
  for (const d of ['NAPI_VERSION=8', 'NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS', 'NAPI_CPP_EXCEPTIONS']) assert.ok(cmake.includes(d), d);
});

test('binding.gyp takes LibTorch from scripts/find-libtorch.js and links it with an rpath', () => {
  const [target] = readGyp().targets;
  const all = JSON.stringify(target);
  for (const flag of ['--include-dirs', '--defines', '--ldflags', '--libraries']) assert.ok(all.includes(`find-libtorch.js ${flag}`), flag);
  const flags = gypFlags(find());
  assert.ok(flags.ldflags.includes(`-Wl,-rpath,${find().libDir}`));
  assert.ok(flags.libraries.includes('-ltorch_cpu'));
});

test('the LibTorch found by scripts/find-libtorch.js is the one CMake configured against', { skip: !fs.existsSync(path.join(root, 'build', 'torchgraft-build.json')) && 'no CMake build yet' }, () => {
  const built = JSON.parse(fs.readFileSync(path.join(root, 'build', 'torchgraft-build.json'), 'utf8'));
  const lt = find();
  const cmakeSource = built.libtorch.startsWith('LIBTORCH=') ? 'LIBTORCH' : built.libtorch.startsWith('Python PyTorch') ? 'python' : 'system';
  assert.strictEqual(lt.source, cmakeSource);
  assert.strictEqual(lt.variant, built.variant);
  assert.strictEqual(lt.version.split('.').slice(0, 2).join('.'), built.torchVersion.split('.').slice(0, 2).join('.'));
});

test('LibTorch search order is LIBTORCH, then Python PyTorch, then the system', () => {
  const order = { LIBTORCH: 0, python: 1, system: 2 };
  const found = findAll().map((f) => order[f.source]);
  assert.deepStrictEqual(found, [...found].sort());
});

test('dependencies are pinned to exact versions', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  for (const deps of [pkg.dependencies, pkg.devDependencies]) {
    for (const [name, v] of Object.entries(deps || {})) assert.match(v, /^\d+\.\d+\.\d+$/, `${name}@${v}`);
  }
  for (const name of ['node-addon-api', 'node-gyp-build']) assert.ok(pkg.dependencies[name], name);
  // only a source build needs cmake-js: a devDependency, and the version `torchgraft build` fetches through npx
  assert.ok(!pkg.dependencies['cmake-js'], 'cmake-js is not a runtime dependency');
  assert.strictEqual(pkg.devDependencies['cmake-js'], require('../scripts/build-native.js').CMAKE_JS_VERSION);
  assert.ok(pkg.devDependencies.prebuildify);
});
