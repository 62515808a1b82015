'use strict';
// `torchgraft demo`: one header and one summary line per variant off a terminal, the table, the curves plot, no temporary left.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const cli = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
const VARIANTS = ['(a) from scratch', '(b) reused, frozen', '(c) reused, frozen, cached', '(d) top layer dropped', '(e) top two unfrozen', '(f) all fine-tuned'];

// The demo in a fresh working folder with its own TMPDIR, so that what it leaves behind is visible.
function demo(...args) {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-demo-cwd-'));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-demo-tmp-'));
  const r = spawnSync(process.execPath, [cli, 'demo', '--quick', ...args], { cwd, encoding: 'utf8', env: { ...process.env, TMPDIR: tmp } });
  return { ...r, cwd, tmp, lines: r.stdout.split('\n').filter((l) => l !== '') };
}

test('demo off a terminal: a header and one summary line per variant, the table, the plot path; nothing left in TMPDIR', async () => {
  const r = demo();
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stderr, '', 'no progress bar off a terminal');
  assert.ok(!r.lines.some((l) => /^\s*Epoch /.test(l)), 'no per-epoch lines without --verbose');
  for (const v of VARIANTS) {
    const i = r.lines.findIndex((l) => l.startsWith(`${v}: `));
    assert.ok(i >= 0, `header for ${v}`);
    assert.match(r.lines[i + 1], /^ {2}\d+ epochs( \(early stop\))? - best val_loss \d\.\d{4} at epoch \d+ \(val_accuracy \d+\.\d%\) - test accuracy \d+\.\d% - \d+\.\d\d s$/);
    assert.ok(r.lines.some((l) => l.startsWith(v) && /%\s+\d+\.\d\d s\s+\d+\s+\d+\.\d\dx$/.test(l)), `table row for ${v}`);
  }
  // pretraining (2) + six variants (12) + table title, header, rule and six rows (9) + plot + finished
  assert.strictEqual(r.lines.length, 25, r.stdout);
  const plot = path.join(r.cwd, 'torchgraft-demo-curves.svg');
  assert.ok(r.lines.includes(`training curves of the six variants: ${plot}`), r.stdout);
  const svg = fs.readFileSync(plot, 'utf8');
  for (const v of VARIANTS) assert.ok(svg.includes(v.replace(/&/g, '&amp;')), `legend names ${v}`);
  assert.deepStrictEqual([...svg.matchAll(/data-metric="([^"]+)"/g)].map((m) => m[1]), ['loss', 'accuracy']);
  assert.strictEqual((svg.match(/data-split="validation"/g) || []).length, 12, 'loss and accuracy panels, six runs each');
  assert.deepStrictEqual(fs.readdirSync(r.tmp), [], 'the temporary folder is removed');
});

test('demo --verbose prints the per-epoch lines under each variant; --keep keeps the temporary folder; --plot names the file', () => {
  const r = demo('--verbose', '--keep', '--plot', 'curves.html');
  assert.strictEqual(r.status, 0, r.stderr);
  const epochLines = r.lines.filter((l) => /^ {4}Epoch \d+\/\d+ - /.test(l));
  assert.ok(epochLines.length >= 6 * 4, `${epochLines.length} epoch lines`);
  const a = r.lines.findIndex((l) => l.startsWith('(a) from scratch: '));
  assert.match(r.lines[a + 1], /^ {4}Epoch 1\//, 'epoch lines follow their header');
  const kept = fs.readdirSync(r.tmp);
  assert.strictEqual(kept.length, 1);
  assert.ok(fs.existsSync(path.join(r.tmp, kept[0], 'mnist_0_to_4.safetensors')));
  assert.ok(r.stdout.includes(path.join(kept[0], 'mnist_0_to_4.safetensors')), 'the kept path is printed');
  assert.match(fs.readFileSync(path.join(r.cwd, 'curves.html'), 'utf8'), /^<!doctype html>/);
  fs.rmSync(r.tmp, { recursive: true, force: true });
});

test('demo draws one progress bar per variant on a terminal (stderr a TTY), cleared before the summary line', async () => {
  const { VariantBar } = require('../dist/demo/variant-progress');
  const chunks = [];
  const bar = new VariantBar({ isTTY: true, columns: 80, write: (c) => chunks.push(c) });
  bar.onTrainBegin({ endEpoch: 4 });
  bar.onEpochEnd(0, { epoch: 0, val_loss: 0.5, val_accuracy: 0.8 });
  bar.onEpochEnd(3, { epoch: 3, val_loss: 0.25, val_accuracy: 0.9 });
  bar.clear();
  assert.deepStrictEqual(chunks, [
    '\r  [====>               ] 1/4 val_loss 0.5000 val_accuracy 80.0%\x1b[K',
    '\r  [===================>] 4/4 val_loss 0.2500 val_accuracy 90.0%\x1b[K',
    '\r\x1b[K',
  ]);
  const quiet = [];
  const off = new VariantBar({ isTTY: false, write: (c) => quiet.push(c) });
  off.onTrainBegin({ endEpoch: 4 });
  off.onEpochEnd(0, { epoch: 0, val_loss: 0.5 });
  off.clear();
  assert.deepStrictEqual(quiet, []);
});

test('demo on a terminal (a pseudo-terminal from util-linux script): a bar per variant, replaced by its summary line', (t) => {
  if (!fs.existsSync('/usr/bin/script')) return t.skip('util-linux script is not installed');
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-demo-tty-'));
  const r = spawnSync('/usr/bin/script', ['-qec', `${process.execPath} ${cli} demo --quick`, '/dev/null'], { cwd, encoding: 'utf8' });
  assert.strictEqual(r.status, 0, r.stdout);
  const text = r.stdout.replace(/\r\n/g, '\n');
  for (const v of VARIANTS) {
    const block = text.slice(text.indexOf(`${v}: `)).split('\n').slice(1, 2)[0];
    assert.match(block, /^\r {2}\[[=> ]{20}\] 1\/\d+ val_loss \d\.\d{4} val_accuracy \d+\.\d%\x1b\[K/, `a bar under ${v}`);
    assert.match(block, /\r\x1b\[K {2}\d+ epochs.* - test accuracy \d+\.\d% - \d+\.\d\d s$/, `the bar cleared, then the summary of ${v}`);
  }
});
