'use strict';
// examples/finetune-image-folder.ts compiles against the published types and runs (shortened with --quick): a folder
// written with sharp, ImageFolder with transforms in workers, a mobilenet_v2 state dict loaded strictly, fineTune.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..');

test('the image-folder fine-tuning example compiles and runs end to end (--quick)', () => {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'examples')], { cwd: root, stdio: 'pipe' });
  const out = execFileSync(process.execPath, [path.join(root, 'examples', 'dist', 'finetune-image-folder.js'), '--quick'], { cwd: root, encoding: 'utf8', timeout: 240000 });
  assert.match(out, /image folder: 1150 PNG files/);
  assert.match(out, /decoded and transformed in workers: 500 \+ 150 \+ 500 images, classes digit_5 digit_6 digit_7 digit_8 digit_9/);
  // mobilenet_v2's state dict has 314 tensors: the strict load took every one
  assert.match(out, /loaded 314 tensors strictly; fine-tuned 3 epochs/);
  const acc = Number(/test accuracy on digits 5-9: ([\d.]+)%/.exec(out)?.[1]);
  assert.ok(acc >= 0 && acc <= 100, out);
});
