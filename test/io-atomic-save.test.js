'use strict';
// Saves replace files atomically and leave nothing behind: a writer killed mid-save leaves a temporary that the next
// save of the same target removes (a live writer's is kept), a re-saved file keeps its mode, and a symlink is written
// through (the link stays a link). Both native writers (safetensors, TorchScript) share the mechanism.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const tg = require('..');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-atomic-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const temps = (file) => fs.readdirSync(path.dirname(file)).filter((n) => n.startsWith(path.basename(file) + '.tmp-'));

test('a save killed with SIGKILL leaves a temporary that the next save of the same target removes', async () => {
  const file = path.join(dir, 'big.safetensors');
  // A child writes ~256 MB and is killed as soon as its temporary appears.
  const child = spawn(process.execPath, ['-e', `
    const tg = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    const sd = {}; for (let i = 0; i < 16; i++) sd['w' + i] = tg.ones([1 << 22]);
    (async () => { for (;;) await tg.io.save(sd, ${JSON.stringify(file)}); })();`], { stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  while (!temps(file).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const left = temps(file);
  assert.ok(left.length >= 1, 'the killed writer left its temporary');
  // A live writer's temporary (this process's pid... of another live process: our parent's) is not touched.
  const live = path.join(dir, `big.safetensors.tmp-${process.ppid}-0123456789abcdef`);
  fs.writeFileSync(live, 'in progress');
  // Someone else's file with a similar name is not touched either.
  const other = path.join(dir, 'big.safetensors.tmp-notours');
  fs.writeFileSync(other, 'x');
  await tg.io.save({ w: tg.ones([2]) }, file);
  assert.deepStrictEqual(temps(file).sort(), [path.basename(live), path.basename(other)].sort());
  assert.deepStrictEqual([...(await tg.io.load(file)).w.dataSync()], [1, 1]);
});

test('re-saving keeps the file mode (0600 stays 0600), for safetensors and TorchScript', async () => {
  const file = path.join(dir, 'private.safetensors');
  await tg.io.save({ w: tg.ones([2]) }, file);
  fs.chmodSync(file, 0o600);
  await tg.io.save({ w: tg.zeros([2]) }, file);
  assert.strictEqual(fs.statSync(file).mode & 0o777, 0o600);
  const script = path.join(dir, 'private.pt');
  const m = await tg.io.loadTorchScript(path.join(__dirname, 'fixtures', 'foreign', 'torchsharp_mymodule_torchscript.pt'));
  await m.save(script);
  fs.chmodSync(script, 0o640);
  await m.save(script);
  assert.strictEqual(fs.statSync(script).mode & 0o777, 0o640);
});

test('saving to a symlink writes through it: the link stays, its target gets the data', async () => {
  const real = path.join(dir, 'real.safetensors');
  await tg.io.save({ w: tg.ones([3]) }, real);
  const sub = fs.mkdtempSync(path.join(dir, 'links-'));
  const link = path.join(sub, 'link.safetensors');
  fs.symlinkSync(path.relative(sub, real), link);
  const chain = path.join(sub, 'chain.safetensors');
  fs.symlinkSync('link.safetensors', chain);
  await tg.io.save({ w: tg.full([3], 7.5) }, chain);
  assert.ok(fs.lstatSync(link).isSymbolicLink() && fs.lstatSync(chain).isSymbolicLink(), 'links are still links');
  assert.deepStrictEqual([...(await tg.io.load(real)).w.dataSync()], [7.5, 7.5, 7.5]);
  // a dangling link: the file is created where it points
  const dangling = path.join(sub, 'dangling.safetensors');
  fs.symlinkSync('made-by-save.safetensors', dangling);
  await tg.io.save({ w: tg.ones([1]) }, dangling);
  assert.ok(fs.existsSync(path.join(sub, 'made-by-save.safetensors')) && fs.lstatSync(dangling).isSymbolicLink());
  // a loop is a clear error, not a hang
  fs.symlinkSync('loop-b', path.join(sub, 'loop-a'));
  fs.symlinkSync('loop-a', path.join(sub, 'loop-b'));
  await assert.rejects(tg.io.save({ w: tg.ones([1]) }, path.join(sub, 'loop-a')), (e) => e instanceof tg.TorchError && /symbolic links/.test(e.message));
});
