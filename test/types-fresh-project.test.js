'use strict';
// The published declarations compile in a fresh strict project that has no @types/node (tsc --strict --module
// nodenext --target es2022 with lib es2022 + esnext.disposable), as an ESM and a CommonJS consumer; and the stated lib
// is really needed: without esnext.disposable, Symbol.dispose is what fails. The project lives in the system temporary
// folder with a copy of the package's .d.ts files, so TypeScript cannot find /work's node_modules/@types by walking up.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });

/** A consumer project: node_modules/torchgraft holds package.json and every dist/**.d.ts, copied (not linked). */
function freshProject(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-types-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pkg = path.join(dir, 'node_modules', 'torchgraft');
  fs.mkdirSync(pkg, { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
  fs.cpSync(path.join(root, 'dist'), path.join(pkg, 'dist'), { recursive: true, filter: (src) => fs.statSync(src).isDirectory() || src.endsWith('.d.ts') });
  // the typical workflows of test/types/api.ts, written against the package name instead of ../../dist
  const api = fs.readFileSync(path.join(root, 'test', 'types', 'api.ts'), 'utf8').replace("from '../../dist'", "from 'torchgraft'");
  assert.match(api, /from 'torchgraft'/);
  fs.writeFileSync(path.join(dir, 'api.mts'), api);
  fs.writeFileSync(path.join(dir, 'cjs.cts'), [
    "import tg = require('torchgraft');",
    'export function transfer(pretrained: tg.nn.Module): tg.nn.LoadReport {',
    '  const net = new tg.nn.Sequential({ hidden1: new tg.nn.Linear(4, 3), act1: new tg.nn.ELU(), outputs: new tg.nn.Linear(3, 2) });',
    "  const report = net.loadStateDict(pretrained.stateDict(), { include: /^hidden1\\./, skipMismatched: true });",
    "  net.freeze(/^hidden1\\./);",
    "  const opt = new tg.optim.SGD(net.parameters(/^outputs\\./), { lr: 0.01, momentum: 0.9 });",
    '  { using x = tg.randn([8, 4]); net.forward(x).sum().backward(); }',
    '  opt.step();',
    '  return report;',
    '}',
    "export const loaded: Promise<Record<string, tg.Tensor>> = tg.io.load('w.safetensors');",
    '',
  ].join('\n'));
  return dir;
}

function compile(dir, lib) {
  const config = { compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', lib, noEmit: true, skipLibCheck: false }, files: ['api.mts', 'cjs.cts'] };
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(config, null, 2));
  return spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8', timeout: 120000 });
}

test('the published types compile with --strict --module nodenext --target es2022, no @types/node anywhere', (t) => {
  const dir = freshProject(t);
  assert.ok(!dir.startsWith(root), 'the project is outside the repository');
  for (let d = dir; d !== path.dirname(d); d = path.dirname(d)) {
    assert.ok(!fs.existsSync(path.join(d, 'node_modules', '@types', 'node')), `no @types/node reachable from ${d}`);
  }
  const r = compile(dir, ['es2022', 'esnext.disposable']);
  assert.strictEqual(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
  // Node's names must really be unknown here, or the check above proves nothing
  fs.writeFileSync(path.join(dir, 'cjs.cts'), "export const b: Buffer = new Uint8Array(1);\n");
  const probe = compile(dir, ['es2022', 'esnext.disposable']);
  assert.notStrictEqual(probe.status, 0);
  assert.match(probe.stdout, /Cannot find name 'Buffer'/);
});

test('lib esnext.disposable is the one extra the types need (Symbol.dispose on Tensor, Module, Optimizer; `using`)', (t) => {
  const dir = freshProject(t);
  const r = compile(dir, ['es2022']);
  assert.notStrictEqual(r.status, 0);
  const errors = r.stdout.split('\n').filter((l) => /error TS/.test(l));
  assert.ok(errors.length > 0, r.stdout);
  // the declarations' Symbol.dispose, and the program's own `using` (global type Disposable)
  for (const e of errors) assert.match(e, /Property 'dispose' does not exist on type 'SymbolConstructor'|Cannot find global type '(Async)?Disposable'/);
  assert.ok(errors.some((e) => /node_modules\/torchgraft\/dist\/tensor\.d\.ts.*'dispose'/.test(e)), r.stdout);
});
