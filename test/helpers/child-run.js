// Runs a snippet in a child Node process, so that a hang, a runaway allocation or a segfault fails one test instead
// of stopping the test runner. The snippet sees `tg` (the library) and `report(value)` (JSON sent back to the test).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Runs `body` (an async function body) in a fresh node process.
 * @returns {{status, signal, timedOut, stderr, result, ms}} result is what the snippet passed to report().
 */
function runChild(body, { timeoutMs = 30000, maxOldSpaceMb = 1024, env = {} } = {}) {
  const script = `
const tg = require(${JSON.stringify(ROOT)});
let reported;
const report = (v) => { reported = v; };
(async () => { ${body} })().then(
  () => process.stdout.write('\\n@@RESULT@@' + JSON.stringify(reported === undefined ? null : reported)),
  (e) => process.stdout.write('\\n@@RESULT@@' + JSON.stringify({ thrown: { name: e && e.name, code: e && e.code, message: String(e && e.message) } })),
);`;
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [`--max-old-space-size=${maxOldSpaceMb}`, '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 16 << 20,
    env: { ...process.env, ...env },
  });
  const ms = Date.now() - t0;
  const at = (r.stdout || '').lastIndexOf('@@RESULT@@');
  const result = at >= 0 ? JSON.parse(r.stdout.slice(at + '@@RESULT@@'.length)) : undefined;
  return { status: r.status, signal: r.signal, timedOut: !!(r.error && r.error.code === 'ETIMEDOUT'), stderr: r.stderr, result, ms };
}

module.exports = { runChild };
