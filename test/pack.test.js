// The way a user meets torchgraft: `npm pack`, then `npm install <tarball>` into an empty project with npm's default
// settings, and into one with install scripts off (npm 11 is moving to blocking them: the prebuilt binary must be
// enough), then require, import and tsc.
// Takes about a minute and needs the npm registry for our dependencies: when `npm ping` does not answer within
// REGISTRY_PROBE_S, the install steps are skipped with that reason, and an install that runs longer than INSTALL_S
// fails with a message instead of hanging. Set TORCHGRAFT_TEST_SOURCE_BUILD=1 to also run `npx torchgraft build` in
// the installed package (a full compile: several minutes on 2 cores).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const { userEnv } = require('./helpers/user-env');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const { find } = require('../scripts/find-libtorch.js');
const tuple = `${process.platform}-${process.arch}`;
const variant = find().variant;


function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: userEnv(), maxBuffer: 64 << 20, ...opts });
  if (r.error && r.error.code !== 'ETIMEDOUT') throw r.error;   // a timeout is reported by the caller, with its limit
  return r;
}

function ok(r, what) {
  assert.strictEqual(r.status, 0, `${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

const REGISTRY_PROBE_S = 45;
const INSTALL_S = 300;
// npm's own defaults (5 minutes per request, 2 retries with back-off) let an unreachable registry stall for ~10 minutes
const NET = ['--fetch-timeout=60000', '--fetch-retries=1'];

/** Why the npm registry cannot be used here (a sentence), or undefined when `npm ping` answers in time. */
function registryProblem() {
  const registry = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8', env: userEnv(), timeout: 30000 }).stdout?.trim() || 'the npm registry';
  const r = spawnSync('npm', ['ping', '--fetch-timeout=20000', '--fetch-retries=0'], {
    encoding: 'utf8', env: userEnv(), timeout: REGISTRY_PROBE_S * 1000, killSignal: 'SIGKILL',
  });
  if (r.error?.code === 'ETIMEDOUT' || r.signal) return `${registry} did not answer \`npm ping\` within ${REGISTRY_PROBE_S} s`;
  if (r.error) return `npm ping could not run: ${r.error.message}`;
  if (r.status !== 0) {
    const why = `${r.stderr}`.split('\n').filter((l) => /^npm (ERR!|error) (code|request|\d{3})/.test(l)).map((l) => l.replace(/^npm (ERR!|error) /, ''))
      .slice(0, 2).join('; ') || `exit ${r.status}`;
    return `${registry} is not reachable (npm ping: ${why.trim()})`;
  }
  return undefined;
}

test('npm pack installs into an empty project, with default npm settings or scripts off, and works with require, import and types', { timeout: 15 * 60 * 1000 }, async (t) => {
  const prebuilt = path.join(root, 'prebuilds', tuple, variant, 'torchgraft.napi.glibc.node');
  if (!fs.existsSync(prebuilt)) ok(run(process.execPath, [path.join(root, 'scripts', 'prebuild.js')], { cwd: root, stdio: 'inherit' }), 'npm run prebuild');

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'torchgraft-pack-'));
  t.after(() => fs.rmSync(work, { recursive: true, force: true }));

  // 1. the tarball, with its file list
  // --ignore-scripts: prepare (tsc) would rewrite dist/ while other test files run from it; scripts/run-tests.js built it
  if (!fs.existsSync(path.join(root, 'dist', 'index.mjs'))) ok(run('npm', ['run', 'build:ts'], { cwd: root }), 'npm run build:ts');
  const packed = ok(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], { cwd: root }), 'npm pack');
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')));
  const files = info.files.map((f) => f.path);
  const tarball = path.join(work, info.filename);
  t.diagnostic(`${info.filename}: ${(info.size / 1024).toFixed(0)} KiB packed, ${(info.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${files.length} files`);

  await t.test('the tarball holds dist, the prebuilt binary, the sources and build files, and nothing of the work tree', () => {
    const want = [
      'package.json', 'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'dist/cli/main.js',
      `prebuilds/${tuple}/${variant}/torchgraft.napi.glibc.node`, `prebuilds/${tuple}/${variant}/manifest.json`,
      'native/pch.h', 'CMakeLists.txt', 'binding.gyp',
      'scripts/build-native.js', 'scripts/find-libtorch.js', 'scripts/install.js',
    ];
    for (const f of fs.readdirSync(path.join(root, 'native'))) want.push(`native/${f}`);
    if (fs.existsSync(path.join(root, 'README.md'))) want.push('README.md');
    for (const f of want) assert.ok(files.includes(f), `${f} is in the tarball`);
    for (const f of files) assert.doesNotMatch(f, /^(build|test|node_modules|lib|\.gpu|\.ci|bench)\//, `${f} should not be in the tarball`);
    // prebuilds/ is git-ignored; "files" in package.json is what puts it in
    assert.match(fs.readFileSync(path.join(root, '.gitignore'), 'utf8'), /^prebuilds\/$/m);
  });

  // The installs below fetch our dependencies from the registry: without it, skip them with the reason, in bounded time
  const offline = registryProblem();
  if (offline) {
    t.diagnostic(`skipping the installs: ${offline}`);
    t.skip(`needs the npm registry: ${offline}`);
    return;
  }

  // 2. empty projects: one with npm's defaults, one where install scripts do not run at all. npm 11.19 runs a
  // dependency's install script by default but warns that it is "not yet covered by allowScripts"; its announced
  // default (strict-allow-scripts) skips or refuses it, so the package must work without the script.
  function installInto(name, args) {
    const dir = path.join(work, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `torchgraft-${name}`, version: '1.0.0', private: true }, null, 2));
    const what = `npm install <tarball> ${args.join(' ')}`;
    const r = run('npm', ['install', tarball, '--no-audit', '--no-fund', '--foreground-scripts', ...NET, ...args], { cwd: dir, timeout: INSTALL_S * 1000, killSignal: 'SIGKILL' });
    assert.ok(!r.signal && !r.error, `${what} did not finish within ${INSTALL_S} s (killed): is the npm registry slow or unreachable?\n${r.stdout}\n${r.stderr}`);
    ok(r, what);
    const out = r.stdout + r.stderr;
    t.diagnostic(`${name}: our install script ${/torchgraft: using /.test(out) ? 'ran (and kept the prebuilt binary)' : 'did not run'}; ${out.trim().split('\n').filter((l) => /install-scripts/.test(l)).slice(0, 2).join(' | ')}`);
    return { dir, out };
  }
  const { dir: app } = installInto('app', []);
  const { dir: noScripts, out: noScriptsOut } = installInto('no-scripts', ['--ignore-scripts']);
  const installed = path.join(app, 'node_modules', 'torchgraft');

  await t.test('the install compiled nothing: the prebuilt binary is what loads', () => {
    for (const dir of [installed, path.join(noScripts, 'node_modules', 'torchgraft')]) {
      assert.ok(!fs.existsSync(path.join(dir, 'build', 'Release', 'torchgraft.node')), 'no local build in the installed package');
      assert.ok(fs.existsSync(path.join(dir, 'prebuilds', tuple, variant, 'torchgraft.napi.glibc.node')));
    }
    assert.doesNotMatch(noScriptsOut, /torchgraft: using /);
  });

  const mapped = `require('fs').readFileSync('/proc/self/maps', 'utf8').split('\\n').find((l) => l.endsWith('.node') && l.includes('torchgraft')).split(' ').pop()`;

  await t.test("require('torchgraft') works without LD_LIBRARY_PATH and loads the prebuilt binary, install script run or not", () => {
    for (const dir of [app, noScripts]) {
      const r = ok(run(process.execPath, ['-e', `
        const tg = require('torchgraft');
        const y = tg.tensor([[1, 2], [3, 4]], { dtype: 'float32' }).matmul(tg.ones([2, 1])).toArray();
        console.log(JSON.stringify({ y, torch: tg.buildInfo().torchVersion, file: ${mapped} }));`], { cwd: dir }), `require in ${dir}`);
      const out = JSON.parse(r.stdout.trim());
      assert.deepStrictEqual(out.y, [[3], [7]]);
      assert.strictEqual(fs.realpathSync(out.file), fs.realpathSync(path.join(dir, 'node_modules', 'torchgraft', 'prebuilds', tuple, variant, 'torchgraft.napi.glibc.node')));
    }
  });

  await t.test("import * as tg from 'torchgraft' sees every named export", () => {
    const r = ok(run(process.execPath, ['--input-type=module', '-e', `
      import * as tg from 'torchgraft';
      import def from 'torchgraft';
      const t = tg.zeros([2, 3]);
      console.log(JSON.stringify({ shape: t.shape, same: tg.zeros === def.zeros, names: Object.keys(tg).filter((k) => k !== 'default').length, cjs: Object.keys(def).length }));`], { cwd: app }), 'import');
    const out = JSON.parse(r.stdout.trim());
    assert.deepStrictEqual(out.shape, [2, 3]);
    assert.ok(out.same);
    assert.strictEqual(out.names, out.cjs, 'the ESM entry re-exports every CommonJS export');
  });

  await t.test('the types resolve with moduleResolution node16 (ESM and CommonJS) and bundler', () => {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const body = `
const t: tg.Tensor = tg.zeros([2, 3]);
const shape: number[] = t.shape;
const e: typeof tg.TorchError = tg.TorchError;
// @ts-expect-error: a string is not a shape, so the types are really there (not any)
tg.zeros('2x3');
export { shape, e };
`;
    fs.writeFileSync(path.join(app, 'esm.mts'), `import * as tg from 'torchgraft';\n${body}`);
    fs.writeFileSync(path.join(app, 'cjs.cts'), `import tg = require('torchgraft');\n${body}`);
    fs.writeFileSync(path.join(app, 'bundled.ts'), `import * as tg from 'torchgraft';\n${body}`);
    const base = {
      strict: true, noEmit: true, skipLibCheck: false, target: 'ES2022', lib: ['ES2022', 'esnext.disposable'],
      typeRoots: [path.join(root, 'node_modules', '@types')], types: ['node'],
    };
    const configs = {
      'tsconfig.node16.json': { compilerOptions: { ...base, module: 'node16', moduleResolution: 'node16' }, files: ['esm.mts', 'cjs.cts'] },
      'tsconfig.bundler.json': { compilerOptions: { ...base, module: 'esnext', moduleResolution: 'bundler' }, files: ['bundled.ts'] },
    };
    for (const [name, cfg] of Object.entries(configs)) {
      fs.writeFileSync(path.join(app, name), JSON.stringify(cfg, null, 2));
      ok(run(process.execPath, [tsc, '-p', name], { cwd: app }), `tsc -p ${name}`);
    }
  });

  await t.test('npx torchgraft runs the installed command line', () => {
    const r = ok(run('npx', ['--no-install', 'torchgraft', 'help'], { cwd: app }), 'npx torchgraft help');
    assert.match(r.stdout, /build\s+compile the native addon from source/);
  });

  await t.test('npx torchgraft build compiles from the installed package with cmake-js, and that build then loads',
    { skip: !process.env.TORCHGRAFT_TEST_SOURCE_BUILD && 'a full compile; set TORCHGRAFT_TEST_SOURCE_BUILD=1' }, () => {
      ok(run('npx', ['--no-install', 'torchgraft', 'build'], { cwd: app, stdio: ['ignore', 'inherit', 'inherit'] }), 'npx torchgraft build');
      const local = path.join(installed, 'build', 'Release', 'torchgraft.node');
      assert.ok(fs.existsSync(local));
      const r = ok(run(process.execPath, ['-e', `const tg = require('torchgraft'); tg.ones([2]).sum().item(); console.log(${mapped})`], { cwd: app }), 'require after build');
      assert.strictEqual(fs.realpathSync(r.stdout.trim()), fs.realpathSync(local));
    });
});
