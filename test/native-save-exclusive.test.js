'use strict';
// The native safetensors writer creates its file exclusively (O_EXCL): atomicWrite hands it a fresh temporary name, and
// a file or symlink already lying there (planted, or another writer's) must be refused, never written through or
// truncated. The hand-made native mutant "save-overwrites" (scripts/native-mutants.js) survived every test before this.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { binding } = require('../dist/native');

test('the native writer refuses a path that exists, and leaves what is there intact', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-excl-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const existing = path.join(dir, 'taken.tmp');
  fs.writeFileSync(existing, 'precious');
  await assert.rejects(binding.safetensorsSave([['w', tg.ones([2])]], existing), (e) => /exist/i.test(e.message));
  assert.strictEqual(fs.readFileSync(existing, 'utf8'), 'precious');
  // a symlink planted at the temporary's name is not followed
  const victim = path.join(dir, 'victim');
  fs.writeFileSync(victim, 'victim');
  const link = path.join(dir, 'link.tmp');
  fs.symlinkSync(victim, link);
  await assert.rejects(binding.safetensorsSave([['w', tg.ones([2])]], link));
  assert.strictEqual(fs.readFileSync(victim, 'utf8'), 'victim');
  // a fresh name is written
  const fresh = path.join(dir, 'fresh.tmp');
  await binding.safetensorsSave([['w', tg.ones([2])]], fresh);
  assert.ok(fs.statSync(fresh).size > 8);
});
