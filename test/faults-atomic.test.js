'use strict';
// Atomic writes after faults: a writer killed with SIGKILL leaves a temporary that the next save of the same target
// removes (only a dead writer's, only our name pattern); a re-save keeps the file's mode and writes through links.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const tg = require('..');

const ROOT = path.resolve(__dirname, '..');
const made = [];
const tmpDir = () => made[made.push(fs.mkdtempSync(path.join(os.tmpdir(), 'tg-faults-'))) - 1];
test.after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
const temps = (dir) => fs.readdirSync(dir).filter((n) => n.includes('.tmp-')).sort();
const mode = (f) => fs.statSync(f).mode & 0o7777;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A pid that no process holds any more: a child that has exited.
function deadPid() {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

// Starts a child that saves a big tensor to `target` over and over; kills it with SIGKILL while a temporary exists.
async function killMidSave(target) {
  const script = `
    const tg = require(${JSON.stringify(ROOT)});
    const t = tg.ones([32 * 1024 * 1024]); // 128 MiB: long enough a save to be caught in the middle
    (async () => { for (;;) await tg.io.save({ w: t }, ${JSON.stringify(target)}); })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', (code, signal) => r(signal)));
  const before = new Set(temps(path.dirname(target)));
  try {
    const deadline = Date.now() + 60_000;
    while (temps(path.dirname(target)).every((n) => before.has(n))) {
      assert.ok(Date.now() < deadline, 'the child never started a save');
      await sleep(2);
    }
  } finally {
    child.kill('SIGKILL');
  }
  assert.strictEqual(await exited, 'SIGKILL');
}

test('a save killed with SIGKILL leaves a temporary; the next save of the same target removes it', async () => {
  const dir = tmpDir();
  const target = path.join(dir, 'model.safetensors');
  for (let i = 0; i < 3; i++) {
    await killMidSave(target);
    // Each killed child leaves its temporary (it may have been killed before sweeping its predecessor's).
    const left = temps(dir);
    assert.ok(left.length >= 1, 'expected the killed save\'s temporary, found none');
    for (const n of left) assert.match(n, /^model\.safetensors\.tmp-[0-9a-f]{8}-\d+-[0-9a-f]{16}/);
  }
  await tg.io.save({ w: tg.zeros([4]) }, target);
  assert.deepStrictEqual(temps(dir), [], `left behind: ${temps(dir).join(', ')}`);
  assert.deepStrictEqual(fs.readdirSync(dir), ['model.safetensors']);
  const back = await tg.io.load(target);
  assert.deepStrictEqual(back.w.shape, [4]);
  back.w.dispose();
});

test("the sweep removes only a dead writer's temporaries of that target, never a live writer's or another name", async () => {
  const dir = tmpDir();
  const target = path.join(dir, 'model.safetensors');
  await killMidSave(target);
  const [killed] = temps(dir);
  const tag = /\.tmp-([0-9a-f]{8})-\d+-/.exec(killed)[1];
  const live = spawn('sleep', ['60']);
  try {
    const hex = 'abcdef0123456789';
    const keep = [
      `model.safetensors.tmp-${tag}-${live.pid}-${hex}`, // a live writer of this host
      `model.safetensors.tmp-00000000-${deadPid()}-${hex}`, // another host: its pid means nothing here
      `other.safetensors.tmp-${tag}-${deadPid()}-${hex}`, // another target
      `model.safetensors.tmp-${tag}-${deadPid()}-${hex}x`, // not exactly our pattern
      'model.safetensors.tmp',
    ];
    const dead = `model.safetensors.tmp-${tag}-${deadPid()}-${hex}`;
    for (const n of [...keep, dead]) fs.writeFileSync(path.join(dir, n), 'x');
    await tg.io.save({ w: tg.zeros([2]) }, target);
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), [...keep, 'model.safetensors'].sort());
  } finally {
    live.kill('SIGKILL');
  }
});

test('re-saving keeps the mode of the file it replaces (io.save, checkpoints, TorchScript, zoo index, feature cache)', async () => {
  const dir = tmpDir();
  const net = new tg.nn.Sequential({ fc: new tg.nn.Linear(3, 2) });
  const writers = {
    'a.safetensors': (f) => tg.io.save(net.stateDict(), f),
    'run.ckpt': (f) => tg.io.saveCheckpoint(f, { model: net, epoch: 1 }),
    'script.pt': async (f) => {
      const m = await tg.io.loadTorchScript(path.join(__dirname, 'fixtures', 'foreign', 'torchsharp_mlp_1000_100_10_torchscript.pt'));
      await m.save(f);
    },
  };
  for (const [name, write] of Object.entries(writers)) {
    const f = path.join(dir, name);
    await write(f);
    assert.strictEqual(mode(f), 0o666 & ~process.umask(), `${name}: a new file gets the usual mode`);
    for (const m of [0o600, 0o640]) {
      fs.chmodSync(f, m);
      await write(f);
      assert.strictEqual(mode(f).toString(8), m.toString(8), `${name}: mode after a re-save`);
    }
  }
  assert.deepStrictEqual(temps(dir), []);

  const zooDir = tmpDir();
  const zoo = await tg.zoo.open(zooDir);
  await zoo.add(net, { name: 'm' });
  fs.chmodSync(path.join(zooDir, 'index.json'), 0o600);
  await zoo.add(net, { name: 'm' });
  assert.strictEqual(mode(path.join(zooDir, 'index.json')), 0o600);

  const cacheDir = tmpDir();
  fs.writeFileSync(path.join(cacheDir, 'features.tgcache'), 'not a cache');
  fs.chmodSync(path.join(cacheDir, 'features.tgcache'), 0o600);
  tg.manualSeed(1);
  const ds = new tg.data.TensorDataset(tg.randn([8, 3]), tg.randint(0, 2, [8]));
  const cache = await tg.transfer.cacheFeatures(new tg.nn.Sequential({ fc: new tg.nn.Linear(3, 2), out: new tg.nn.Linear(2, 2) }).freeze(/^fc\./), ds, { store: 'disk', dir: cacheDir, verbose: 0 });
  cache.dispose();
  assert.strictEqual(mode(path.join(cacheDir, 'features.tgcache')), 0o600);
  assert.deepStrictEqual(fs.readdirSync(cacheDir), ['features.tgcache']);
});

test('saving to a symbolic link writes through it: the link stays, its target gets the data, the temporary goes beside the target', async () => {
  const real = tmpDir();
  const links = tmpDir();
  const target = path.join(real, 'weights.safetensors');
  await tg.io.save({ w: tg.zeros([2]) }, target);
  fs.chmodSync(target, 0o600);
  fs.symlinkSync(path.relative(links, target), path.join(links, 'model.safetensors'));
  fs.symlinkSync('model.safetensors', path.join(links, 'chain.safetensors')); // a link to a link
  await tg.io.save({ w: tg.ones([3]) }, path.join(links, 'chain.safetensors'));
  for (const l of ['model.safetensors', 'chain.safetensors']) assert.ok(fs.lstatSync(path.join(links, l)).isSymbolicLink(), `${l} is still a link`);
  assert.deepStrictEqual(fs.readdirSync(links).sort(), ['chain.safetensors', 'model.safetensors']);
  assert.deepStrictEqual(fs.readdirSync(real), ['weights.safetensors']);
  assert.strictEqual(mode(target), 0o600);
  const back = await tg.io.load(target);
  assert.deepStrictEqual(back.w.shape, [3]);
  back.w.dispose();

  // A dangling link: the file it names is created, the link kept.
  fs.symlinkSync(path.join(real, 'new.safetensors'), path.join(links, 'dangling.safetensors'));
  await tg.io.saveCheckpoint(path.join(links, 'dangling.safetensors'), { model: new tg.nn.Linear(2, 2) });
  assert.ok(fs.lstatSync(path.join(links, 'dangling.safetensors')).isSymbolicLink());
  assert.ok(fs.statSync(path.join(real, 'new.safetensors')).isFile());

  // A loop of links is a coded error, not a hang.
  fs.symlinkSync('loop-b', path.join(links, 'loop-a'));
  fs.symlinkSync('loop-a', path.join(links, 'loop-b'));
  await assert.rejects(tg.io.save({ w: tg.zeros([1]) }, path.join(links, 'loop-a')), (e) => e instanceof tg.TorchError && e.code === 'ERR_IO');
});
