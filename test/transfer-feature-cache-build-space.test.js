'use strict';
// A disk cache build on a disk that fills up: ERR_NO_SPACE naming the file, nothing under the cache's name, the
// partial file kept, and the build resumes once there is room; another write error is ERR_IO with its cause.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const tg = require('..');
const { model, data } = require('./helpers/feature-cache-build');

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fcspace-'));
const NAME = 'features.tgcache';
const N = 4000; // 96 float32 features a row: 1.5 MB of features, three times the small disk below
const opts = (dir) => ({ store: 'disk', dir, upTo: 'flat', batchSize: 32, blockRows: 64, verbose: 0 });

/** Mounts a tmpfs of `size` on a new folder; the reason when this machine does not allow it. */
function smallDisk(size) {
  const dir = tmpDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (e) {
    return { reason: `cannot mount a tmpfs here (${String(e.stderr || e.message).trim()}): the test needs root, as on CI` };
  }
}

test('a full disk is ERR_NO_SPACE naming the file; the partial file stays and the build resumes once space is freed', async (t) => {
  const disk = smallDisk('512k');
  if (!disk.dir) {
    t.skip(disk.reason);
    return;
  }
  const { dir } = disk;
  try {
    const file = path.join(dir, NAME);
    await assert.rejects(tg.transfer.cacheFeatures(model(), data(N), opts(dir)), (e) =>
      e.name === 'TorchError' && e.code === 'ERR_NO_SPACE' && e.message.includes(file) && e.message.includes(`${file}.partial`) &&
      /resumes/.test(e.message) && e.cause?.code === 'ENOSPC');
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), [`${NAME}.journal`, `${NAME}.partial`], 'nothing under the cache name');
    const blocks = fs.readFileSync(path.join(dir, `${NAME}.journal`), 'utf8').split('\n').filter(Boolean).length - 1;
    assert.ok(blocks >= 1, `${blocks} whole blocks before the disk filled`);

    // more room on the same disk: the next build goes on from there
    execFileSync('mount', ['-o', 'remount,size=8m', dir]);
    const c = await tg.transfer.cacheFeatures(model(), data(N), opts(dir));
    assert.strictEqual(c.resumedRows, blocks * 64);
    assert.strictEqual(c.builtRows, N - blocks * 64);
    c.dispose();
    assert.deepStrictEqual(fs.readdirSync(dir), [NAME]);

    const roomy = tmpDir();
    (await tg.transfer.cacheFeatures(model(), data(N), opts(roomy))).dispose();
    assert.ok(fs.readFileSync(file).equals(fs.readFileSync(path.join(roomy, NAME))), 'the same bytes as a build that never ran out of space');
  } finally {
    execFileSync('umount', [dir]);
  }
});

test('a write error of another kind is ERR_IO with the system error as its cause', async () => {
  const dir = tmpDir();
  // a folder where the partial file goes: the system refuses to open it for writing
  fs.mkdirSync(path.join(dir, `${NAME}.partial`));
  await assert.rejects(tg.transfer.cacheFeatures(model(), data(100), opts(dir)), (e) =>
    e.name === 'TorchError' && e.code === 'ERR_IO' && e.message.includes(path.join(dir, NAME)) && e.cause?.code === 'EISDIR');
  assert.ok(!fs.existsSync(path.join(dir, NAME)));
});
