'use strict';
// Every JavaScript/TypeScript block of README.md runs as written: TypeScript is compiled with the project's typescript
// (ES2022 modules, so top-level await and `using` work on Node 20), `torchgraft` resolves to this checkout, and each
// block runs in a child process in its own temporary folder, after the fixtures its marker names.
//
// Markers, in an HTML comment on the line before a block:
//   <!-- readme-test: fixture=pretrained,keras -->   files the block reads (test/fixtures/readme/fixtures.js)
//   <!-- readme-test: continues -->                  runs after the previous runnable block, in the same program
//   <!-- readme-test: timeout=120 -->                seconds (default 120)
//   <!-- readme-test: launch=2 -->                   runs under `torchgraft run --nproc-per-node 2` (skipped without Gloo)
//   <!-- readme-test: skip reason="..." -->          not run; the reason shows in the test name
const { test, describe, it } = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFile } = require('node:child_process');
const ts = require('typescript');
const tg = require('..');
const { readmeBlocks, parseMarker } = require('./helpers/readme-blocks');
const { prepare, unavailable } = require('./fixtures/readme/fixtures');

const root = path.resolve(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const blocks = readmeBlocks(readme);

/** The block's program: the blocks it continues, then its own code. */
function programOf(index) {
  const parts = [];
  for (let i = index; i >= 0; i--) {
    if (!blocks[i].runnable) continue;
    parts.unshift(blocks[i]);
    if (!blocks[i].marker.continues) break;
  }
  if (blocks[index].marker.continues && parts.length < 2) throw new Error(`README line ${blocks[index].line}: 'continues' with no runnable block before it`);
  return parts;
}

// the README states the import once; a block that does not import torchgraft itself gets it
function withImport(code) {
  return /from 'torchgraft'/.test(code) ? code : `import * as tg from 'torchgraft';\n${code}`;
}

function compile(code) {
  const out = ts.transpileModule(code, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, strict: true },
    reportDiagnostics: true,
  });
  if (out.diagnostics?.length) throw new Error(ts.formatDiagnostics(out.diagnostics, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => '\n' }));
  return out.outputText;
}

function run(file, cwd, timeoutMs, launch) {
  return new Promise((resolve) => {
    const env = { ...process.env, HOME: cwd, TORCHGRAFT_ZOO: path.join(cwd, 'zoo'), NODE_OPTIONS: '', OMP_NUM_THREADS: '1' };  // two blocks run at once on 2 cores: spinning OpenMP threads would starve each other
    const args = launch ? [path.join(root, 'dist', 'cli', 'main.js'), 'run', '--nproc-per-node', String(launch), file] : [file];
    execFile(process.execPath, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? error.signal) : 0, killed: error?.killed ?? false, stdout, stderr });
    });
  });
}

test('the README has runnable blocks and every marker sits before one', () => {
  assert.ok(blocks.filter((b) => b.runnable).length >= 10);
  const markers = [...readme.matchAll(/^<!--\s*readme-test:/gm)].length;
  const marked = blocks.filter((b) => b.marker.skip || b.marker.continues || b.marker.fixtures.length || b.marker.timeout || b.marker.launch).length;
  assert.strictEqual(marked, markers, 'a readme-test marker is not directly before a code block');
});

test('markers parse, and a misspelt one is an error rather than ignored', () => {
  assert.deepStrictEqual(parseMarker(' fixture=a,b continues timeout=90 launch=2 ', 1), { fixtures: ['a', 'b'], skip: false, reason: undefined, continues: true, timeout: 90, launch: 2 });
  assert.strictEqual(parseMarker('skip reason="needs a GPU"', 1).reason, 'needs a GPU');
  assert.throws(() => parseMarker('fixtures=a', 3), /line 3: unknown readme-test key 'fixtures'/);
  assert.throws(() => parseMarker('skip', 3), /needs reason/);
  assert.throws(() => parseMarker('timeout=ten', 3), /positive integer/);
  const md = 'x\n<!-- readme-test: continues -->\n```ts\nconst a = 1;\n```\n```sh\nls\n```\n';
  const b = readmeBlocks(md);
  assert.deepStrictEqual(b.map((x) => [x.lang, x.line, x.runnable, x.marker.continues, x.code]), [['ts', 3, true, true, 'const a = 1;\n'], ['sh', 6, false, false, 'ls\n']]);
});

test('the TypeScript blocks type-check under --strict (ES2022, nodenext)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-readme-types-'));
  try {
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(root, path.join(dir, 'node_modules', 'torchgraft'), 'dir');
    const files = [];
    blocks.forEach((b, i) => {
      if (!['ts', 'typescript'].includes(b.lang) || b.marker.skip) return;
      const file = path.join(dir, `block-${b.line}.mts`);
      fs.writeFileSync(file, withImport(programOf(i).map((p) => p.code).join('\n')));
      files.push(file);
    });
    const options = {
      strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'], types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')], skipLibCheck: true,
    };
    const program = ts.createProgram(files, options);
    const diags = ts.getPreEmitDiagnostics(program);
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => dir, getNewLine: () => '\n' };
    assert.strictEqual(diags.length, 0, ts.formatDiagnostics(diags, host));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe('README blocks', { concurrency: 2 }, () => {
  blocks.forEach((block, index) => {
    const where = `line ${block.line} (${block.heading})`;
    if (!block.runnable) {
      it(`${block.lang || 'plain'} block at ${where}`, { skip: `${block.lang || 'plain'} block: shell/config text, not run` }, () => {});
      return;
    }
    const { skip, reason, launch } = block.marker;
    const noGloo = launch && !tg.distributed.isAvailable() && 'this addon was built without Gloo (no libgloo-dev headers)';
    const noFixture = unavailable(programOf(index).flatMap((p) => p.marker.fixtures));
    it(`${block.lang} block at ${where}`, { skip: (skip && reason) || noGloo || noFixture }, async () => {
      const parts = programOf(index);
      const fixtures = [...new Set(parts.flatMap((p) => p.marker.fixtures))];
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-readme-'));
      try {
        fs.mkdirSync(path.join(dir, 'node_modules'));
        fs.symlinkSync(root, path.join(dir, 'node_modules', 'torchgraft'), 'dir');
        await prepare(fixtures, dir);
        const source = withImport(parts.map((p) => p.code).join('\n'));
        const js = ['ts', 'typescript'].includes(block.lang) || parts.some((p) => p.lang.startsWith('t')) ? compile(source) : source;
        fs.writeFileSync(path.join(dir, 'block.mjs'), js);
        const seconds = block.marker.timeout ?? 120;
        const r = await run(path.join(dir, 'block.mjs'), dir, seconds * 1000, block.marker.launch);
        assert.ok(!r.killed, `README ${where} ran past its ${seconds} s budget\n${r.stdout}\n${r.stderr}`);
        assert.strictEqual(r.code, 0, `README ${where} failed:\n--- program ---\n${source}--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
