'use strict';
// The zoo after faults: a writer killed with SIGKILL while holding index.lock does not stall the next one (the lock
// names its owner; a dead owner's lock is taken over at once, by one waiter only), and its working files go away.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const tg = require('..');
const { withLock } = require('../dist/zoo/lock');

const ROOT = path.resolve(__dirname, '..');
const LOCK_JS = path.join(ROOT, 'dist', 'zoo', 'lock.js');
const made = [];
const tmpDir = () => made[made.push(fs.mkdtempSync(path.join(os.tmpdir(), 'tg-zoolock-'))) - 1];
test.after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs `script` in a child; resolves once it printed `ready`, with the child and a promise of its exit.
async function startChild(script) {
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  let out = '';
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    child.on('exit', () => reject(new Error(`the child exited before it was ready: ${out}`)));
  });
  return { child, exited };
}

// A child that takes `lock` and holds it forever.
const holder = (lock) => startChild(`
  require(${JSON.stringify(LOCK_JS)}).withLock(${JSON.stringify(lock)}, () => { console.log('ready'); return new Promise(() => {}); });
  setInterval(() => {}, 1000);`);

test('a lock names its owner: pid, host and time', async () => {
  const lock = path.join(tmpDir(), 'index.lock');
  const { child, exited } = await holder(lock);
  try {
    const owner = JSON.parse(fs.readFileSync(lock, 'utf8'));
    assert.strictEqual(owner.pid, child.pid);
    assert.strictEqual(owner.host, os.hostname());
    assert.ok(Math.abs(Date.parse(owner.time) - Date.now()) < 60_000, owner.time);
    // A live owner is waited for, and the timeout says who holds the lock.
    await assert.rejects(withLock(lock, async () => assert.fail('entered a held lock'), 300), (e) =>
      e instanceof tg.TorchError && e.code === 'ERR_ZOO_LOCKED' && e.message.includes(`process ${child.pid} on ${os.hostname()}`));
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
});

test('a zoo writer killed with SIGKILL while holding index.lock: the next add takes the lock over at once', async () => {
  const dir = tmpDir();
  const zoo = await tg.zoo.open(dir);
  const lock = path.join(dir, 'index.lock');
  const { child, exited } = await holder(lock);
  child.kill('SIGKILL');
  assert.strictEqual((await exited).signal, 'SIGKILL');
  assert.ok(fs.existsSync(lock), 'the killed writer left its lock');
  const t0 = Date.now();
  await zoo.add(new tg.nn.Linear(2, 2), { name: 'after-kill' });
  const ms = Date.now() - t0;
  assert.ok(ms < 2000, `add waited ${ms} ms for a dead owner's lock`);
  assert.ok(!fs.existsSync(lock));
  assert.deepStrictEqual(JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')).entries.map((e) => e.name), ['after-kill']);
  assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['entries', 'index.json', 'tmp']);
});

test("a dead owner's lock is taken over by one waiter only: waiters in 4 processes never overlap", async () => {
  const dir = tmpDir();
  const lock = path.join(dir, 'index.lock');
  const inside = path.join(dir, 'inside');
  for (let round = 0; round < 3; round++) {
    const { child, exited } = await holder(lock);
    child.kill('SIGKILL');
    await exited;
    // Each waiter marks the critical section with an exclusive file: a second waiter inside fails to create it.
    const waiter = `
      const fs = require('node:fs');
      const { withLock } = require(${JSON.stringify(LOCK_JS)});
      console.log('ready');
      (async () => {
        for (let i = 0; i < 5; i++) await withLock(${JSON.stringify(lock)}, async () => {
          fs.writeFileSync(${JSON.stringify(inside)}, String(process.pid), { flag: 'wx' });
          await new Promise((r) => setTimeout(r, 5));
          fs.rmSync(${JSON.stringify(inside)});
        }, 20000);
      })().catch((e) => { console.error(e); process.exit(1); });`;
    const waiters = await Promise.all([0, 1, 2, 3].map(() => startChild(waiter)));
    const results = await Promise.all(waiters.map((w) => w.exited));
    assert.deepStrictEqual(results.map((r) => r.code), [0, 0, 0, 0], 'two waiters were inside the lock at once');
    assert.deepStrictEqual(fs.readdirSync(dir), []);
  }
});

test("a zoo writer killed mid-add leaves a working folder; the next add removes it, and never a live writer's", async () => {
  const dir = tmpDir();
  const zoo = await tg.zoo.open(dir);
  const work = path.join(dir, 'tmp');
  const { child, exited } = await startChild(`
    const tg = require(${JSON.stringify(ROOT)});
    const net = new tg.nn.Linear(2048, 2048);
    (async () => { const zoo = await tg.zoo.open(${JSON.stringify(dir)}); console.log('ready'); for (;;) await zoo.add(net, { name: 'big' }); })();`);
  try {
    const deadline = Date.now() + 60_000;
    while (!fs.existsSync(work) || fs.readdirSync(work).length === 0) {
      assert.ok(Date.now() < deadline, 'the child never started an add');
      await sleep(2);
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
  const left = fs.readdirSync(work);
  assert.strictEqual(left.length, 1, `left: ${left}`);
  const tag = /^([0-9a-f]{8})-/.exec(left[0])[1];
  const live = spawn('sleep', ['60']);
  try {
    const liveDir = `${tag}-${live.pid}-0123456789ab`;
    fs.mkdirSync(path.join(work, liveDir));
    await zoo.add(new tg.nn.Linear(2, 2), { name: 'small' });
    assert.deepStrictEqual(fs.readdirSync(work), [liveDir]);
  } finally {
    live.kill('SIGKILL');
  }
});
