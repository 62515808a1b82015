'use strict';
// `torchgraft zoo list|show|add|remove`, and the demo storing its pretrained 0-4 network in the zoo.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const tg = require('..');

const cli = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });

test('zoo add imports a weights file, list and show print it, remove deletes it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-zoo-cli-'));
  const file = path.join(dir, 'w.safetensors');
  await tg.io.save({ 'fc.weight': tg.ones([2, 3]) }, file);
  const zdir = path.join(dir, 'zoo');
  const add = run('zoo', 'add', file, '--name', 'net', '--task', 'classification', '--tag', 'x', '--dir', zdir);
  assert.strictEqual(add.status, 0, add.stderr);
  assert.match(add.stdout, /added net@1 \(1 tensors, 6 values/);
  assert.match(run('zoo', 'list', '--dir', zdir).stdout, /^net@1\tclassification\t6 params\tx/m);
  const show = run('zoo', 'show', 'net', '--dir', zdir);
  assert.match(show.stdout, /"sourceFormat": "safetensors"/);
  assert.match(show.stdout, /fc\.weight: float32 \[2, 3\]/);
  assert.strictEqual(run('zoo', 'remove', 'net@1', '--dir', zdir).status, 0);
  assert.match(run('zoo', 'list', '--dir', zdir).stdout, /empty/);
  const missing = run('zoo', 'show', 'net', '--dir', zdir);
  assert.strictEqual(missing.status, 1);
  assert.match(missing.stderr, /^torchgraft zoo: .*no entry 'net'/);
  // command-line mistakes: exit 2, one line naming the mistake, the synopsis
  for (const [args, message] of [
    [['zoo', 'add', file, '--dir', zdir], /add needs --name/],
    [['zoo', 'list', '--name', 'x', '--dir', zdir], /--name applies to add only/],
    [['zoo', 'show', '--dir', zdir], /show needs a NAME/],
    [['zoo', 'fetch', 'net'], /unknown subcommand 'fetch'/],
    [['zoo', 'list', '--dri', zdir], /unknown option '--dri'/],
    [['zoo', 'add', file, '--name'], /option '--name <value>' argument missing/],
  ]) {
    const r = run(...args);
    assert.strictEqual(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.split('\n')[0], message);
    assert.match(r.stderr, /\nusage: torchgraft zoo /);
  }
  const tags = run('zoo', 'add', file, '--name', 'tagged', '--tag', 'a', '--tag=b', '--dir', zdir);
  assert.strictEqual(tags.status, 0, tags.stderr);
  assert.match(run('zoo', 'list', '--dir', zdir).stdout, /^tagged@1\t-\t6 params\ta,b$/m, 'repeated --tag flags all count');
});

test('demo --zoo stores the pretrained 0-4 network in the zoo and the transfer runs load it from there', () => {
  const zdir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-zoo-demo-'));
  const r = run('demo', '--quick', '--zoo', zdir, '--out', zdir);
  assert.strictEqual(r.status, 0, r.stderr);
  assert.match(r.stdout, /added to the zoo as mnist-0-4@1/);
  const list = run('zoo', 'list', '--dir', zdir);
  assert.match(list.stdout, /^mnist-0-4@1\tclassification/m);
});
