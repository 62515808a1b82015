'use strict';
// worker.terminate() while a worker is inside any kind of torchgraft call never takes the process down
// (Electron and servers terminate workers); each kind runs in a child process so an abort fails the test.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const CHILD = path.join(__dirname, 'fixtures', 'terminate-child.js');
const ROUNDS = Number(process.env.TORCHGRAFT_TERMINATE_ROUNDS || 12);

for (const kind of ['op', 'backward', 'data', 'save', 'load', 'pt', 'h5', 'script', 'fit', 'fitwait']) {
  test(`terminating workers during ${kind} calls (${ROUNDS} times) leaves the process alive`, () => {
    const r = spawnSync(process.execPath, [CHILD, kind, String(ROUNDS), String(kind.length)], { encoding: 'utf8', timeout: 120_000 });
    // The head of stderr says what aborted (FATAL ERROR, a failed V8 check); the tail, where.
    const said = r.stderr.length > 3000 ? `${r.stderr.slice(0, 2000)}\n...\n${r.stderr.slice(-1000)}` : r.stderr;
    assert.strictEqual(r.signal, null, `child died of ${r.signal}: ${said}`);
    assert.strictEqual(r.status, 0, `child exited ${r.status}: ${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, new RegExp(`survived ${ROUNDS} terminations`));
    assert.doesNotMatch(r.stderr, /terminate called|FATAL ERROR|Aborted/);
  });
}
