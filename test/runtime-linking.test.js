// The addon finds LibTorch's shared libraries at run time through its rpath, without LD_LIBRARY_PATH.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { find } = require('../scripts/find-libtorch.js');

const local = path.join(root, 'build', 'Release', 'torchgraft.node');
const prebuilt = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, find().variant, 'torchgraft.napi.glibc.node');
const hasReadelf = spawnSync('readelf', ['--version'], { stdio: 'ignore' }).status === 0;

/** The DT_RPATH / DT_RUNPATH folders of an ELF file. */
function rpathOf(file) {
  const out = execFileSync('readelf', ['-d', file], { encoding: 'utf8' });
  const m = out.match(/\((?:RPATH|RUNPATH)\)\s+Library (?:rpath|runpath): \[([^\]]*)\]/);
  return m ? m[1].split(':') : [];
}

/** Loads the package with LD_LIBRARY_PATH removed and runs an op; returns the child's report. */
function loadWithoutLdLibraryPath(env = {}) {
  const childEnv = { ...process.env, ...env };
  delete childEnv.LD_LIBRARY_PATH;
  delete childEnv.LD_PRELOAD;
  const script = `
    const tg = require(${JSON.stringify(root)});
    const y = tg.tensor([[1, 2], [3, 4]], { dtype: 'float32' }).matmul(tg.eye(2)).sum().item();
    console.log(JSON.stringify({ y, file: require(${JSON.stringify(path.join(root, 'dist', 'native.js'))}).bindingFile }));`;
  const r = spawnSync(process.execPath, ['-e', script], { env: childEnv, encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

for (const [what, file] of [['the local build', local], ['the prebuilt binary', prebuilt]]) {
  test(`${what} carries an rpath to the LibTorch it was built against`, { skip: !hasReadelf ? 'readelf not installed' : !fs.existsSync(file) && `${path.relative(root, file)} not built` }, () => {
    const rp = rpathOf(file);
    const libDir = find().libDir;
    assert.ok(rp.includes(libDir), `rpath ${JSON.stringify(rp)} should include ${libDir}`);
    // and the LibTorch libraries it needs are found in it
    const needed = execFileSync('readelf', ['-d', file], { encoding: 'utf8' }).match(/\(NEEDED\)\s+Shared library: \[(lib(?:torch|c10)[^\]]*)\]/g) || [];
    assert.ok(needed.length > 0, 'links LibTorch');
    for (const n of needed) {
      const lib = n.match(/\[([^\]]+)\]/)[1];
      assert.ok(rp.some((d) => fs.existsSync(path.join(d, lib))), `${lib} is in the rpath`);
    }
  });

  test(`${what} loads and computes with LD_LIBRARY_PATH unset`, { skip: !fs.existsSync(file) && `${path.relative(root, file)} not built` }, () => {
    const r = loadWithoutLdLibraryPath({ TORCHGRAFT_BINARY: file });
    assert.strictEqual(r.y, 10);
    assert.strictEqual(r.file, file);
  });
}
