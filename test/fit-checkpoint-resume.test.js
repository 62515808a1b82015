'use strict';
// fit({ resumeFrom }) across processes: a run killed after any epoch, or stopped by SIGTERM/SIGINT mid-epoch, and
// resumed by the same script ends with the same weights (bit for bit) and the same History as a run never stopped;
// shuffling, Dropout, BatchNorm, Adam and a StepLR all carry state. A second signal ends the process at once.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const CHILD = path.join(__dirname, 'fixtures', 'fit-checkpoint-child.js');
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fitresume-'));
test.after(() => fs.rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** Runs the child; `onEpoch(e, child)` sees each "EPOCH e" line. Resolves with exit code, signal, epochs seen, timing. */
function run(dir, out, opts, onEpoch) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, out, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let stderr = '';
    const epochs = [];
    child.stdout.on('data', (d) => {
      text += d;
      const lines = text.split('\n');
      text = lines.pop();
      for (const l of lines) {
        const m = /^EPOCH (\d+)$/.exec(l);
        if (m) {
          epochs.push(Number(m[1]));
          onEpoch?.(Number(m[1]), child);
        }
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, epochs, stderr, exitedAt: Date.now() });
    });
  });
}

function paths() {
  const n = counter++;
  return { dir: path.join(root, `ck-${n}`), out: path.join(root, `out-${n}.json`) };
}
const read = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
const latest = (dir) => read(path.join(dir, 'latest.json'));

// One uninterrupted run per engine, shared by the tests.
const reference = {};
async function uninterrupted(engine) {
  if (!reference[engine]) {
    const p = paths();
    const r = await run(p.dir, p.out, { epochs: 5, engine });
    assert.strictEqual(r.code, 0, r.stderr);
    reference[engine] = read(p.out);
  }
  return reference[engine];
}

function assertSameRun(got, want) {
  assert.deepStrictEqual(Object.keys(got.weights), Object.keys(want.weights));
  for (const k of Object.keys(want.weights)) assert.strictEqual(got.weights[k], want.weights[k], `${k} differs`);
  assert.deepStrictEqual(got.epochs, want.epochs, 'history (without times)');
  assert.strictEqual(got.lr, want.lr, 'the scheduler');
  assert.strictEqual(got.stopped, null);
}

for (const engine of ['js', 'native']) {
  test(`${engine} engine: killed (SIGKILL) after epoch 2, and again after epoch 3, then resumed: the same weights and History`, async () => {
    const want = await uninterrupted(engine);
    const { dir, out } = paths();
    const first = await run(dir, out, { epochs: 5, engine, kill: 2 });
    assert.strictEqual(first.signal, 'SIGKILL');
    assert.deepStrictEqual(first.epochs, [0, 1, 2]);
    assert.deepStrictEqual(latest(dir), { version: 1, file: 'epoch-0001.ckpt', epoch: 1 }); // epoch 2 died before its checkpoint
    const second = await run(dir, out, { epochs: 5, engine, kill: 3 });
    assert.strictEqual(second.signal, 'SIGKILL');
    assert.deepStrictEqual(second.epochs, [2, 3]);
    const third = await run(dir, out, { epochs: 5, engine });
    assert.strictEqual(third.code, 0, third.stderr);
    assert.deepStrictEqual(third.epochs, [3, 4]);
    assertSameRun(read(out), want);
    assert.strictEqual(want.engine, engine, 'the reference ran on the engine named');
  });
}

test('a run killed before its first checkpoint starts fresh with ifMissing: startFresh and ends the same', async () => {
  const want = await uninterrupted('js');
  const { dir, out } = paths();
  const first = await run(dir, out, { epochs: 5, kill: 0 });
  assert.strictEqual(first.signal, 'SIGKILL');
  assert.ok(!fs.existsSync(path.join(dir, 'latest.json')));
  const again = await run(dir, out, { epochs: 5 });
  assert.strictEqual(again.code, 0, again.stderr);
  assert.deepStrictEqual(again.epochs, [0, 1, 2, 3, 4]);
  assertSameRun(read(out), want);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  test(`${sig} mid-epoch: the batch finishes, the process ends with ${sig}, latest.json notes the cut epoch, and resuming completes the same run`, async () => {
    const want = await uninterrupted('js');
    const { dir, out } = paths();
    let sentAt = 0;
    const r = await run(dir, out, { epochs: 5, slowMs: 100 }, (e, child) => {
      if (e === 2 && !sentAt) {
        sentAt = Date.now();
        child.kill(sig);
      }
    });
    // Ended by the signal itself (a shell reports 128 + its number), not by a normal exit.
    assert.strictEqual(r.signal, sig, `exit code ${r.code}: ${r.stderr}`);
    assert.ok(r.exitedAt - sentAt < 10000);
    const cut = r.epochs[r.epochs.length - 1];
    assert.ok(cut >= 2);
    const p = latest(dir);
    assert.deepStrictEqual(p, { version: 1, file: `epoch-${String(cut - 1).padStart(4, '0')}.ckpt`, epoch: cut - 1, interrupted: { signal: sig, epoch: cut } });
    assert.ok(!fs.existsSync(path.join(dir, `epoch-${String(cut).padStart(4, '0')}.ckpt`)), 'the cut epoch is not saved as complete');
    const resumed = await run(dir, out, { epochs: 5 });
    assert.strictEqual(resumed.code, 0, resumed.stderr);
    assert.strictEqual(resumed.epochs[0], cut);
    assertSameRun(read(out), want);
    assert.strictEqual(read(out).listeners, 0, 'no SIGTERM listener left after fit');
  });
}

test('a second signal ends the process at once, without waiting for the batch', async () => {
  const { dir, out } = paths();
  let firstAt = 0;
  // Each batch waits 8 s: the first signal alone would end the process only after the batch.
  const r = await run(dir, out, { epochs: 5, slowMs: 8000 }, (e, child) => {
    if (e === 0) {
      setTimeout(() => {
        firstAt = Date.now();
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGTERM'), 200);
      }, 300);
    }
  });
  assert.strictEqual(r.signal, 'SIGTERM', r.stderr);
  assert.ok(r.exitedAt - firstAt < 3000, `ended ${r.exitedAt - firstAt} ms after the first signal`);
});
