'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const tg = require('..');
const { TinyLinear, TinySGD, separable, capture } = require('./helpers/tiny');

async function train(options) {
  const [x, y] = separable(32, 1);
  const net = new TinyLinear(2, 2);
  await tg.fit(net, [x, y], { epochs: 3, batchSize: 8, optimizer: new TinySGD(net.parameters(), 0.1), loss: 'crossEntropy', metrics: ['accuracy'], validation: [x, y], ...options });
  tg.dispose([x, y]);
  net.dispose();
}

test('verbose 0 prints nothing, to the given stream or to stderr and stdout', async () => {
  const out = capture(true);
  const writes = [];
  const [err, std] = [process.stderr.write, process.stdout.write];
  process.stderr.write = (s, ...rest) => (writes.push(String(s)), err.call(process.stderr, s, ...rest));
  process.stdout.write = (s, ...rest) => (writes.push(String(s)), std.call(process.stdout, s, ...rest));
  try {
    await train({ verbose: 0, output: out });
    await train({ verbose: 0 });
  } finally {
    process.stderr.write = err;
    process.stdout.write = std;
  }
  assert.strictEqual(out.text(), '');
  assert.deepStrictEqual(writes.filter((w) => /Epoch/.test(w)), []);
});

test('off a terminal: one line per epoch with batches, time, loss, metrics and validation', async () => {
  const out = capture(false);
  await train({ output: out });
  const lines = out.text().split('\n');
  assert.strictEqual(lines.pop(), '', 'ends with a newline');
  assert.strictEqual(lines.length, 3);
  lines.forEach((l, i) => {
    assert.match(l, new RegExp(`^Epoch ${i + 1}/3 - 4 batches - [0-9.]+s - loss [0-9.]+ - accuracy [0-9.]+ - val_loss [0-9.]+ - val_accuracy [0-9.]+$`));
  });
  assert.ok(!out.text().includes('\r'), 'no carriage returns off a terminal');
});

test('on a terminal: a bar redrawn in place with batches and ETA, one finished line per epoch', async () => {
  const out = capture(true);
  await train({ output: out, epochs: 2 });
  const text = out.text();
  assert.match(text, /\rEpoch 1\/2 \[=+\] 4\/4 ETA [0-9.]+s - loss [0-9.]+ - accuracy [0-9.]+\x1b\[K/);
  assert.match(text, /\rEpoch 2\/2 - 4 batches - [0-9.]+s - loss .* - val_accuracy [0-9.]+\x1b\[K\n$/);
  assert.strictEqual(text.split('\n').length - 1, 2, 'one newline per epoch');
  const bars = out.chunks.filter((c) => !c.endsWith('\n'));
  assert.ok(bars.length >= 2);
  for (const bar of bars) assert.ok(bar.replace(/\x1b\[K|\r/g, '').length < 100, 'redrawn bars fit the terminal width');
});

test('progress goes to stderr by default, never to stdout', () => {
  const script = `
    const tg = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    const { TinyLinear, TinySGD, separable } = require(${JSON.stringify(path.join(__dirname, 'helpers', 'tiny.js'))});
    const [x, y] = separable(16, 1); const net = new TinyLinear(2, 2);
    tg.fit(net, [x, y], { epochs: 2, batchSize: 8, optimizer: new TinySGD(net.parameters(), 0.1), loss: 'crossEntropy' })
      .then(() => process.stdout.write('done'));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: process.env });
  assert.strictEqual(r.status, 0, r.stderr);
  assert.strictEqual(r.stdout, 'done');
  assert.deepStrictEqual(r.stderr.trim().split('\n').map((l) => l.replace(/ - [0-9.]+s - .*/, '')), ['Epoch 1/2 - 2 batches', 'Epoch 2/2 - 2 batches']);
});
