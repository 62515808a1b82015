'use strict';
// The command line as a whole: --version, --help on every command, `help COMMAND`, usage errors (exit 2, one line and
// the synopsis), and `build`: --dry-run names the cmake-js command, a build prints its phases with elapsed time (a
// stand-in cmake-js prints what Ninja would: nothing is compiled).
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const CLI = path.join(root, 'dist', 'cli', 'main.js');
const cli = (args, env = {}) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120000, env: { ...process.env, ...env } });
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;

test('--version and -v print the package version', () => {
  for (const flag of ['--version', '-v']) {
    const r = cli([flag]);
    assert.strictEqual(r.status, 0, r.stderr);
    assert.strictEqual(r.stdout, `${version}\n`);
  }
});

test('--help, -h and help list every command; each command has its own --help, also through `help COMMAND`', () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = cli(args);
    assert.strictEqual(r.status, 0, r.stderr);
    for (const c of ['demo', 'inspect', 'zoo', 'run', 'build', 'info', 'help']) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
    assert.match(r.stdout, /-v, --version/);
  }
  for (const c of ['demo', 'inspect', 'zoo', 'run', 'build', 'info']) {
    for (const args of [[c, '--help'], [c, '-h'], ['help', c]]) {
      const r = cli(args);
      assert.strictEqual(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^usage: torchgraft ${c}`), args.join(' '));
    }
  }
});

test('an unknown command or flag, or no command, exits 2 with one line, the synopsis and a --help hint', () => {
  const cases = [
    [['frobnicate'], /^torchgraft: unknown command 'frobnicate'$/],
    [['--frobnicate'], /^torchgraft: unknown option '--frobnicate'$/],
    [['help', 'frobnicate'], /^torchgraft: unknown command 'frobnicate'$/],
    [['info', 'extra'], /^torchgraft info: unexpected argument 'extra'$/],
    [['build', '--fast'], /^torchgraft build: unknown option '--fast'$/],
    [['run', '--nproc', '2', 'x.js'], /^torchgraft run: unknown option '--nproc'$/],
    [['run', '--nproc-per-node', '0', 'x.js'], /^torchgraft run: --nproc-per-node must be an integer from 1 to 1024, got '0'$/],
    [['run'], /^torchgraft run: no script given$/],
    [['inspect', '--json'], /^torchgraft inspect: no PATH given$/],
    [['demo', '--bogus'], /^torchgraft demo: unknown option '--bogus'$/],
    [['demo', '--seed', 'x'], /^torchgraft demo: --seed must be an integer and --per-digit an integer in 1..800$/],
    [['demo', 'extra'], /^torchgraft demo: unexpected argument 'extra'$/],
  ];
  for (const [args, first] of cases) {
    const r = cli(args);
    assert.strictEqual(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0], first);
    assert.match(lines[1], /^usage: torchgraft /);
    assert.match(lines[lines.length - 1], /^Run 'torchgraft( \w+)? --help' for more\.$/);
    assert.strictEqual(r.stdout, '');
  }
  const none = cli([]);
  assert.strictEqual(none.status, 2);
  assert.match(none.stderr, /^usage: torchgraft <command>/);
});

test('build --dry-run names the LibTorch and the cmake-js command from node_modules, and builds nothing', () => {
  const r = cli(['build', '--dry-run']);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stderr, /torchgraft: building against LibTorch \d+\.\d+/);
  assert.match(r.stdout, /^torchgraft build: would run \(cmake-js from node_modules\):\n {2}\S+node \S+cmake-js\/bin\/cmake-js compile --directory \S+ --CDCMAKE_BUILD_TYPE=Release\n$/);
  const named = cli(['build', '--dry-run'], { TORCHGRAFT_CMAKE_JS: '/nonexistent/cmake-js' });
  assert.strictEqual(named.status, 1);
  assert.match(named.stderr, /TORCHGRAFT_CMAKE_JS='\/nonexistent\/cmake-js' does not exist/);
});

/** A stand-in cmake-js: prints what cmake and Ninja print, slowly, then exits with FAKE_EXIT. */
function fakeCmakeJs(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fake-cmake-js-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'cmake-js');
  fs.writeFileSync(file, `
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  console.log('info TOOL Using Ninja generator');
  console.log('-- The CXX compiler identification is GNU 12.2.0');
  await sleep(700);
  console.log('-- Configuring done');
  for (let i = 1; i <= 3; i++) {
    console.log('[' + i + '/4] Building CXX object CMakeFiles/torchgraft.dir/native/f' + i + '.cc.o');
    console.error('native/f' + i + '.cc: warning: something');
    await sleep(400);
  }
  console.log('[4/4] Linking CXX shared library Release/torchgraft.node');
  if (process.env.FAKE_EXIT !== '0') console.error('ld: error: undefined symbol: at::foo');
  process.exit(Number(process.env.FAKE_EXIT));
})();
`);
  return file;
}

test('build prints its phases with elapsed time, cmake\'s output goes to build/build.log, a failure shows its tail', (t) => {
  const fake = fakeCmakeJs(t);
  const log = path.join(root, 'build', 'build.log');
  const env = { TORCHGRAFT_CMAKE_JS: fake, TORCHGRAFT_BUILD_HEARTBEAT_MS: '250', FAKE_EXIT: '0' };
  const ok = cli(['build'], env);
  assert.strictEqual(ok.status, 0, ok.stderr);
  const lines = ok.stderr.split('\n');
  const at = (re) => lines.findIndex((l) => re.test(l));
  const phases = [/^torchgraft build: configuring with cmake \(0 s\)$/, /^torchgraft build: compiling \(\d+ s\)$/, /^torchgraft build: linking \(\d+ s\)$/, /^torchgraft build: done in \d+ s \(log: .*build\.log\)$/];
  const where = phases.map(at);
  assert.ok(where.every((i) => i >= 0) && where.every((i, k) => k === 0 || i > where[k - 1]), ok.stderr);
  assert.ok(at(/^torchgraft build: (still configuring|compiling: \d\/4 steps) \(\d+ s\)$/) >= 0, `a line while it is quiet:\n${ok.stderr}`);
  assert.doesNotMatch(ok.stderr, /warning: something/, 'compiler output goes to the log');
  assert.match(fs.readFileSync(log, 'utf8'), /native\/f2\.cc: warning: something/);

  const bad = cli(['build'], { ...env, FAKE_EXIT: '3' });
  assert.strictEqual(bad.status, 3);
  assert.match(bad.stderr, /ld: error: undefined symbol: at::foo\ntorchgraft build: failed after \d+ s: exit code 3; the whole log is .*build\.log/);
  assert.match(bad.stderr, /the native build failed\. It needs cmake \(>= 3\.18\), a C\+\+17 compiler and LibTorch/);
});
