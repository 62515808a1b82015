// Shared by the foreign-format tests: where the fixtures are, reference values from foreign_ref.py, comparisons.
'use strict';
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const tg = require('../..');

const PYTHON = process.env.TORCHGRAFT_PYTHON || '/usr/bin/python3';
const REF = path.join(__dirname, 'foreign_ref.py');
// The repository's own copy of the foreign fixtures (a user's clone has them too); TORCHGRAFT_FOREIGN_FIXTURES overrides.
const FOREIGN = process.env.TORCHGRAFT_FOREIGN_FIXTURES || path.resolve(__dirname, '../fixtures/foreign');
if (!fs.existsSync(FOREIGN)) throw new Error(`foreign fixtures not found at ${FOREIGN}: the checkout is incomplete`);

const fixture = (name) => path.join(FOREIGN, name);

/** Whether PYTHON imports every module in `modules` (a comma-separated list, as in an import statement). */
function pythonHas(modules) {
  try {
    execFileSync(PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const noNumpy = pythonHas('numpy') ? false : `${PYTHON} with numpy is not available`;
const noH5py = pythonHas('numpy, h5py') ? false : `${PYTHON} with h5py (python3-h5py) is not available`;

/** foreign_ref.py's JSON for `kind` and its arguments. */
function ref(kind, ...args) {
  return JSON.parse(execFileSync(PYTHON, [REF, kind, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 }));
}

/** A fresh temporary folder, removed when the test file ends. */
function tmpDir(t, prefix = 'tg-foreign-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Element-wise closeness of two number arrays: |a - b| <= atol + rtol * |b|. */
function assertClose(actual, expected, { rtol = 1e-5, atol = 1e-6, what = 'values' } = {}) {
  assert.strictEqual(actual.length, expected.length, `${what}: length ${actual.length} vs ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = Number(actual[i]);
    const e = Number(expected[i]);
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) assert.fail(`${what}[${i}]: ${a} vs ${e}`);
  }
}

/** Sum and sum of absolute values in float64, for comparing against reference summaries. */
function sums(t) {
  const v = t.to('float64').dataSync();
  let s = 0;
  let a = 0;
  for (const x of v) (s += x), (a += Math.abs(x));
  return { sum: s, abs: a };
}

/** Awaits `promise` and checks it rejects with a TorchError whose code and message match (the message names `file`). */
async function rejectsWith(promise, code, file, pattern) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof tg.TorchError, `expected a TorchError, got ${e && e.stack}`);
    if (code) assert.strictEqual(e.code, code, e.message);
    if (file) assert.ok(e.message.includes(file), `message does not name ${file}: ${e.message}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  });
}

module.exports = { tg, FOREIGN, fixture, pythonHas, noNumpy, noH5py, ref, tmpDir, assertClose, sums, rejectsWith, PYTHON };
