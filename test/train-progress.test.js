'use strict';
// fit's progress output as units: durations and numbers formatted at their boundaries, the bar's shape, its ETA and
// redraw rate (a clock the test moves), lines cut to the terminal's width, and what each verbosity writes.
const test = require('node:test');
const assert = require('node:assert');
const { formatDuration, formatLogs, Progress } = require('../dist/train/progress');

/** A stream that keeps what is written. */
function stream(isTTY, columns) {
  const writes = [];
  return { writes, isTTY, columns, write: (s) => writes.push(s) };
}

/** Runs fn with performance.now() reading the returned clock's `ms`. */
function withClock(fn) {
  const original = performance.now;
  const clock = { ms: 0 };
  performance.now = () => clock.ms;
  try {
    return fn(clock);
  } finally {
    performance.now = original;
  }
}

test('formatDuration: hundredths under 10 s, whole seconds under a minute, then minutes and seconds, then hours and minutes', () => {
  const cases = [
    [0, '0.00s'], [0.424, '0.42s'], [9.994, '9.99s'], [10, '10s'], [12.5, '13s'], [59.4, '59s'],
    [60, '1m00s'], [64, '1m04s'], [125.6, '2m06s'], [3599, '59m59s'],
    [3600, '1h00m'], [3725, '1h02m'], [7199, '1h59m'], [90061, '25h01m'],
    [-1, '?'], [NaN, '?'], [Infinity, '?'],
  ];
  assert.deepStrictEqual(cases.map(([s]) => formatDuration(s)), cases.map(([, want]) => want));
});

test('formatLogs: every log but epoch and time, four decimals, or three significant exponent digits when far from 1', () => {
  assert.strictEqual(formatLogs({ epoch: 3, loss: 0.5, time: 2, accuracy: 1 }), 'loss 0.5000 - accuracy 1.0000');
  assert.strictEqual(formatLogs({ a: 0, b: 0.001, c: 0.0005, d: 9999.5, e: 20000, f: -20000, g: -0.0005 }),
    'a 0.0000 - b 0.0010 - c 5.000e-4 - d 9999.5000 - e 2.000e+4 - f -2.000e+4 - g -5.000e-4');
  assert.strictEqual(formatLogs({ loss: NaN, x: Infinity, y: -Infinity }), 'loss NaN - x Infinity - y -Infinity');
  assert.strictEqual(formatLogs({ a: 10000, b: 9999.99994 }), 'a 1.000e+4 - b 9999.9999');
  assert.strictEqual(formatLogs({ epoch: 1, time: 1 }), '');
});

test('Progress on a terminal: a 30-wide bar redrawn in place, its ETA, at most every 100 ms except the last batch', () => {
  withClock((clock) => {
    const out = stream(true, 200);
    const p = new Progress(out, 1, 5);
    let reads = 0;
    const read = () => (reads++, { loss: 0.25 });
    p.epochBegin(1, 4);
    clock.ms = 2000;
    p.batch(1, read);
    clock.ms = 2050;
    p.batch(2, read); // 50 ms later: not redrawn, the means are not read
    clock.ms = 2099;
    p.batch(3, read);
    clock.ms = 2100;
    p.batch(3, read);
    clock.ms = 2150;
    p.batch(4, read); // the last batch is always drawn
    assert.strictEqual(reads, 3);
    assert.deepStrictEqual(out.writes, [
      `\rEpoch 2/5 [${'='.repeat(7)}>${' '.repeat(22)}] 1/4 ETA 6.00s - loss 0.2500\x1b[K`,
      `\rEpoch 2/5 [${'='.repeat(22)}>${' '.repeat(7)}] 3/4 ETA 0.70s - loss 0.2500\x1b[K`,
      `\rEpoch 2/5 [${'='.repeat(30)}] 4/4 ETA 0.00s - loss 0.2500\x1b[K`,
    ]);
    p.epochEnd(4, { loss: 0.25, time: 2.15 });
    assert.strictEqual(out.writes[3], '\rEpoch 2/5 - 4 batches - 2.15s - loss 0.2500\x1b[K\n');
    p.close();
    assert.strictEqual(out.writes.length, 4, 'the epoch line closed the bar: nothing more to finish');
  });
});

test('Progress: no batch done shows an empty bar and an unknown ETA; an empty epoch a full bar; an unknown total counts', () => {
  withClock((clock) => {
    const out = stream(true, 200);
    const p = new Progress(out, 1, 1);
    p.epochBegin(0, 10);
    clock.ms = 500;
    p.batch(0, () => ({}));
    p.epochBegin(0, 0);
    clock.ms = 1000;
    p.batch(0, () => ({}));
    p.epochBegin(0, undefined);
    clock.ms = 1500;
    p.batch(7, () => ({ loss: 1 }));
    assert.deepStrictEqual(out.writes, [
      `\rEpoch 1/1 [${' '.repeat(30)}] 0/10 ETA ? - \x1b[K`,
      `\rEpoch 1/1 [${'='.repeat(30)}] 0/0 ETA ? - \x1b[K`,
      '\rEpoch 1/1 7 batches 0.50s loss 1.0000\x1b[K',
    ]);
    p.close();
    assert.strictEqual(out.writes[3], '\n', 'a bar left open is finished by close');
    p.close();
    assert.strictEqual(out.writes.length, 4, 'once');
  });
});

test('Progress: a line as wide as the terminal is cut one short of it; a terminal of 0 columns counts as 120', () => {
  withClock((clock) => {
    for (const [columns, width] of [[40, 39], [0, 119], [undefined, 119]]) {
      const out = stream(true, columns);
      const p = new Progress(out, 1, 1);
      p.epochBegin(0, 2);
      clock.ms += 1000;
      p.batch(1, () => ({ averylongmetricname: 1, anotherlongmetricname: 2, yetanotherlongmetricname: 3 }));
      const line = out.writes[0];
      assert.ok(line.startsWith('\rEpoch 1/1 ['));
      assert.strictEqual(line.length, 1 + width + 3, `${columns} columns`);
      assert.ok(line.endsWith('\x1b[K'));
    }
    // a line exactly as wide as the terminal is cut too (the cursor would wrap after its last column)
    const exact = stream(true, '\rEpoch 1/1 3 batches 1.00s \x1b[K'.length - 4);
    const q = new Progress(exact, 1, 1);
    q.epochBegin(0, undefined);
    clock.ms += 1000;
    q.batch(3, () => ({}));
    assert.strictEqual(exact.writes[0], '\rEpoch 1/1 3 batches 1.00s\x1b[K');
    const fits = stream(true, 80);
    const p = new Progress(fits, 1, 1);
    p.epochBegin(0, undefined);
    clock.ms += 1000;
    p.batch(1, () => ({}));
    assert.strictEqual(fits.writes[0], '\rEpoch 1/1 1 batches 1.00s \x1b[K', 'a short line is written whole');
  });
});

test('Progress: verbosity 2, or 1 off a terminal, writes one line per epoch and no bar; 0 writes nothing', () => {
  for (const [verbose, isTTY] of [[2, true], [1, false], [2, false]]) {
    const out = stream(isTTY, 80);
    const p = new Progress(out, verbose, 3);
    p.epochBegin(2, 5);
    p.batch(5, () => assert.fail('the means are read only to draw a bar'));
    p.epochEnd(5, { epoch: 2, loss: 0.125, time: 75 });
    p.close();
    assert.deepStrictEqual(out.writes, ['Epoch 3/3 - 5 batches - 1m15s - loss 0.1250\n'], `verbose ${verbose}, isTTY ${isTTY}`);
  }
  const out = stream(true, 80);
  const p = new Progress(out, 0, 3);
  p.epochBegin(0, 5);
  p.batch(5, () => assert.fail('silent'));
  p.epochEnd(5, { loss: 1, time: 1 });
  p.close();
  assert.deepStrictEqual(out.writes, []);
});
