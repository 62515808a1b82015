'use strict';
// docs/errors.md is the one list of error codes: every code the sources use is there, and nothing there is unused.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

function files(dir, exts, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) files(p, exts, out);
    else if (exts.some((x) => e.name.endsWith(x))) out.push(p);
  }
  return out;
}

// Codes appear in the sources as string literals: { code: 'ERR_X' }, fail(..., 'ERR_X'), ThrowTorchError(..., "ERR_X").
function usedCodes() {
  const used = new Map();
  for (const f of [...files(path.join(ROOT, 'lib'), ['.ts']), ...files(path.join(ROOT, 'native'), ['.cc', '.h'])]) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/['"`](ERR_[A-Z0-9_]*[A-Z0-9])['"`]/g)) {
      if (!used.has(m[1])) used.set(m[1], path.relative(ROOT, f));
    }
  }
  return used;
}

function documentedCodes() {
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = [...text.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \| (\w+) \|/gm)];
  return new Map(rows.map((m) => [m[1], m[2]]));
}

test('every error code used in lib/ and native/ is in docs/errors.md', () => {
  const documented = documentedCodes();
  const missing = [...usedCodes()].filter(([c]) => !documented.has(c)).map(([c, f]) => `${c} (${f})`);
  assert.deepStrictEqual(missing, [], 'add a row (code, class, meaning, typical cause) to docs/errors.md');
});

test('every code in docs/errors.md is used, once, as a TorchError', () => {
  const used = usedCodes();
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = [...text.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
  assert.deepStrictEqual(rows.filter((c, i) => rows.indexOf(c) !== i), [], 'listed twice');
  assert.deepStrictEqual(rows.filter((c) => !used.has(c)), [], 'listed but used nowhere: remove the row');
  for (const [code, cls] of documentedCodes()) assert.strictEqual(cls, 'TorchError', `${code}: codes belong to TorchError`);
  assert.ok(rows.length >= 60, `only ${rows.length} codes found: did the table format change?`);
});

test('tg.ERROR_CODES is the same list as docs/errors.md, with the same meanings', () => {
  const tg = require('..');
  const text = fs.readFileSync(path.join(ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = [...text.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \| \w+ \| (.*?) \|/gm)].map((m) => [m[1], m[2].replace(/`/g, '')]);
  assert.deepStrictEqual(Object.entries(tg.ERROR_CODES), rows, 'lib/error-codes.ts and docs/errors.md disagree');
  assert.ok(Object.isFrozen(tg.ERROR_CODES));
});
