#!/usr/bin/env node
// Hand-made native mutants (issue 20): each one patches a copy of native/, rebuilds that copy's addon in its own build
// folder, and runs the tests that should catch the bug against it (TORCHGRAFT_BINARY), recording killed or survived.
//   node scripts/native-mutants.js [--only ID,ID] [--dir tmp/native-mutants] [--json FILE]
// The copy lives in tmp/native-mutants/src (its build in src/build), never in build/Release, so tests running from the
// worktree's own addon are undisturbed. The first build compiles everything (ccache helps: CCACHE_BASEDIR defaults to
// the folder above the repository, so a copy at the same depth reuses the main build's objects); each mutant then
// recompiles one unit and relinks. dist/ must be built (npm run build:ts): the tests load dist/ with the mutant addon.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/**
 * The mutants: `file` under native/, `find` (must occur exactly once) replaced by `replace`, and the test files that
 * should fail with it. `why` says what bug it stands for.
 */
const MUTANTS = [
  {
    id: 'stale-grad-hiding',
    file: 'optimizer.cc',
    why: 'the stale-gradient hiding removed: a parameter frozen after backward() moves on the next step',
    find: 'if (p.grad().defined() && !p.requires_grad()) {',
    replace: 'if (false && p.grad().defined() && !p.requires_grad()) {',
    tests: ['test/optim-frozen.test.js', 'test/transfer-freeze-optim.test.js'],
  },
  {
    id: 'clip-norm-unclamped',
    file: 'clip_grad.cc',
    why: "clipGradNorm_'s coefficient not clamped to 1: gradients under maxNorm are scaled up",
    find: 'at::Tensor clamped = coef.clamp_max(1.0);',
    replace: 'at::Tensor clamped = coef;',
    tests: ['test/optim-clip.test.js', 'test/optim-golden.test.js'],
  },
  {
    id: 'clip-norm-first-grad-only',
    file: 'clip_grad.cc',
    why: "a missed parameter: the total norm takes only the first parameter's gradient",
    find: 'for (auto& g : grads) norms.push_back(NormAll(g.detach(), normType).to(device));',
    replace: 'for (auto& g : std::vector<at::Tensor>(grads.begin(), grads.begin() + 1)) norms.push_back(NormAll(g.detach(), normType).to(device));',
    tests: ['test/optim-clip.test.js', 'test/optim-golden.test.js'],
  },
  {
    id: 'clip-value-one-sided',
    file: 'clip_grad.cc',
    why: 'clipGradValue_ clamps only from below (the upper bound, +clipValue, dropped)',
    find: 'g.detach().clamp_(-clipValue, clipValue);',
    replace: 'g.detach().clamp_min_(-clipValue);',
    tests: ['test/optim-clip.test.js', 'test/optim-golden.test.js'],
  },
  {
    id: 'cache-crc-skipped',
    file: 'cache_read.cc',
    why: "readBlocks never checks a span's CRC-32C: a damaged cache file trains on damaged rows",
    find: 'if (s.crc >= 0) {',
    replace: 'if (false && s.crc >= 0) {',
    tests: ['test/native-read-blocks.test.js', 'test/transfer-feature-cache-disk.test.js'],
  },
  {
    id: 'forward-async-grad-on',
    file: 'script_module.cc',
    why: 'ScriptModule.forwardAsync runs with grad mode on (the NoGradGuard dropped in the worker)',
    find: 'at::NoGradGuard noGrad;\n      out_ = method_(std::move(stack_));',
    replace: 'out_ = method_(std::move(stack_));',
    tests: ['test/jit-forward-async.test.js'],
  },
  {
    id: 'safetensors-bounds',
    file: 'safetensors.cc',
    why: "the safetensors header's end-of-file bound removed: a tensor may end past the file's data buffer",
    find: 'if (e.end > dataBytes)',
    replace: 'if (false && e.end > dataBytes)',
    tests: ['test/io-safetensors.test.js', 'test/io-foreign-fuzz.test.js'],
  },
  {
    id: 'save-overwrites',
    file: 'file_io.cc',
    why: 'the native writer opens its file with O_TRUNC instead of O_EXCL: it writes over an existing file in place',
    find: 'O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC',
    replace: 'O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC',
    tests: ['test/io-atomic-save.test.js', 'test/faults-atomic.test.js', 'test/io-safetensors.test.js', 'test/native-save-exclusive.test.js'],
  },
];

function parseArgs(argv) {
  const opts = { only: null, dir: path.join(root, 'tmp', 'native-mutants'), json: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') opts.only = new Set(argv[++i].split(','));
    else if (argv[i] === '--dir') opts.dir = path.resolve(argv[++i]);
    else if (argv[i] === '--json') opts.json = path.resolve(argv[++i]);
    else throw new RangeError(`native-mutants: unknown argument ${argv[i]}`);
  }
  return opts;
}

/** Writes dst only when its content differs, so that the copy's unchanged units keep their mtimes (no rebuild). */
function syncFile(src, dst) {
  const data = fs.readFileSync(src);
  if (fs.existsSync(dst) && fs.readFileSync(dst).equals(data)) return;
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.writeFileSync(dst, data);
}

/** Brings the copy in line with the worktree's sources (native/, CMakeLists.txt, the build scripts). */
function syncCopy(src) {
  for (const f of ['CMakeLists.txt', 'package.json', 'scripts/find-libtorch.js', 'scripts/build-native.js', 'scripts/build-progress.js'])
    syncFile(path.join(root, f), path.join(src, f));
  for (const f of fs.readdirSync(path.join(root, 'native'))) syncFile(path.join(root, 'native', f), path.join(src, 'native', f));
  const nm = path.join(src, 'node_modules');
  if (!fs.existsSync(nm)) fs.symlinkSync(fs.realpathSync(path.join(root, 'node_modules')), nm);
}

/** Builds the copy's addon (nice'd); returns { ok, seconds }. */
function buildCopy(src, log) {
  const started = Date.now();
  const env = { ...process.env, CCACHE_BASEDIR: process.env.CCACHE_BASEDIR || path.dirname(root) };
  const r = spawnSync('nice', ['-n', '10', process.execPath, 'scripts/build-native.js'], { cwd: src, env, encoding: 'utf8' });
  fs.appendFileSync(log, `${r.stdout || ''}${r.stderr || ''}`);
  return { ok: r.status === 0, seconds: (Date.now() - started) / 1000 };
}

/** Runs the test files against the copy's addon; returns { failed, summary }. */
function runTests(binary, tests, log) {
  const env = { ...process.env, TORCHGRAFT_BINARY: binary };
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...tests], { cwd: root, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = `${r.stdout || ''}${r.stderr || ''}`;
  fs.appendFileSync(log, out);
  const count = (k) => Number((out.match(new RegExp(`ℹ ${k} (\\d+)`)) || [])[1] || 0);
  return { failed: r.status !== 0, pass: count('pass'), fail: count('fail'), summary: `${count('pass')} pass, ${count('fail')} fail` };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const src = path.join(opts.dir, 'src');
  const log = path.join(opts.dir, 'native-mutants.log');
  const binary = path.join(src, 'build', 'Release', 'torchgraft.node');
  fs.mkdirSync(opts.dir, { recursive: true });
  fs.writeFileSync(log, '');
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new RangeError('native-mutants: dist/ is missing: run npm run build:ts first');
  const chosen = MUTANTS.filter((m) => !opts.only || opts.only.has(m.id));
  for (const m of chosen) {
    const text = fs.readFileSync(path.join(root, 'native', m.file), 'utf8');
    const n = text.split(m.find).length - 1;
    if (n !== 1) throw new RangeError(`native-mutants: ${m.id}: the text to replace occurs ${n} times in native/${m.file} (want 1)`);
  }

  syncCopy(src);
  const base = buildCopy(src, log);
  if (!base.ok) throw new RangeError(`native-mutants: the unmutated copy did not build (see ${log})`);
  console.log(`unmutated build: ${base.seconds.toFixed(0)} s`);
  // a mutant is only meaningful against tests that pass without it
  const cleanFailed = new Set();
  for (const t of new Set(chosen.flatMap((m) => m.tests))) {
    if (!fs.existsSync(path.join(root, t))) throw new RangeError(`native-mutants: ${t} does not exist`);
    const r = runTests(binary, [t], log);
    console.log(`unmutated ${t}: ${r.summary}`);
    if (r.failed) cleanFailed.add(t);
  }
  const results = [];
  for (const m of chosen) {
    const target = path.join(src, 'native', m.file);
    const original = fs.readFileSync(target, 'utf8');
    fs.writeFileSync(target, original.replace(m.find, m.replace));
    let row;
    try {
      const b = buildCopy(src, log);
      if (!b.ok) row = { id: m.id, status: 'build failed', build_s: b.seconds };
      else {
        const t = runTests(binary, m.tests, log);
        const unusable = m.tests.some((f) => cleanFailed.has(f));
        row = { id: m.id, status: unusable ? 'tests fail unmutated' : t.failed ? 'killed' : 'survived', build_s: b.seconds, mutant: t.summary };
      }
    } finally {
      fs.writeFileSync(target, original);
    }
    row.file = m.file;
    row.why = m.why;
    row.tests = m.tests;
    results.push(row);
    console.log(`${m.id}: ${row.status} (${row.mutant || ''}; build ${row.build_s.toFixed(0)} s)`);
  }
  buildCopy(src, log); // leave the copy's addon unmutated
  console.log('\n| mutant | file | bug | tests | result |\n|---|---|---|---|---|');
  for (const r of results)
    console.log(`| ${r.id} | native/${r.file} | ${r.why} | ${r.tests.map((t) => path.basename(t, '.test.js')).join(', ')} | ${r.status}${r.mutant ? ` (${r.mutant})` : ''} |`);
  if (opts.json) fs.writeFileSync(opts.json, `${JSON.stringify(results, null, 2)}\n`);
}

if (require.main === module) main();
module.exports = { MUTANTS };
