'use strict';
// Load reports and strict-load errors for large models: counts first, the first 10 keys, "... N more", a hint
// that fits (names to map, shapes to skip), and every key still in the fields.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { nn } = tg;

// 30 Linear layers: 60 keys.
const net = () => new nn.Sequential(Array.from({ length: 30 }, () => new nn.Linear(2, 2)));
// The same tensors under Keras-style names.
const kerasNames = () => Object.fromEntries(Array.from({ length: 30 }, (_, i) => [
  [`dense_${i}/kernel:0`, tg.zeros([2, 2])], [`dense_${i}/bias:0`, tg.zeros([2])],
]).flat());

test('a strict load with foreign names throws a short message with counts, 10 keys, "... N more" and the mapping hint', () => {
  assert.throws(() => net().loadStateDict(kerasNames()), (e) => {
    assert.strictEqual(e.code, 'ERR_STATE_DICT');
    assert.ok(e.message.length < 1500, `message of ${e.message.length} characters`);
    assert.match(e.message, /missing keys \(60\): 0\.weight, 0\.bias, .*4\.bias, \.\.\. 50 more/);
    assert.match(e.message, /unexpected keys \(60\): dense_0\/kernel:0, .*\.\.\. 50 more/);
    assert.match(e.message, /no name matches.*'dense_0\/kernel:0' vs '0\.weight'.*tg\.io\.proposeMapping.*tg\.io\.mapKeys/);
    assert.ok(!/strict: false/.test(e.message), 'strict: false would load nothing here');
    assert.strictEqual(e.missing.length, 60);
    assert.strictEqual(e.unexpected.length, 60);
    return true;
  });
});

test('String(report) of a large non-strict load: counts, problems first, 10 rows, "... N more", the hint; table() has all', () => {
  const report = net().loadStateDict(kerasNames(), { strict: false });
  const lines = String(report).split('\n');
  assert.strictEqual(lines[0], 'LoadReport: 0 loaded, 60 missing, 60 unexpected, 0 mismatched, 0 skipped');
  assert.match(lines[1], /^Key\s+Status\s+Detail$/);
  assert.deepStrictEqual(lines.slice(2, 12).map((l) => l.split(/\s+/)[1]), Array(10).fill('missing'));
  assert.match(lines[12], /^\.\.\. 110 more \(report\.loaded, \.missing/);
  assert.match(lines[13], /^hint: no name matches.*proposeMapping/);
  assert.strictEqual(lines.length, 14);
  assert.strictEqual(report.missing.length, 60);
  assert.strictEqual(report.unexpected.length, 60);
  assert.strictEqual(report.table().split('\n').length, 2 + 120 + 1);
  // renamed onto the model's names, everything loads: no hint, and the summary still stops at 10 rows
  const ok = net().loadStateDict(tg.io.mapKeys(kerasNames(), [[/^dense_(\d+)\/kernel:0$/, '$1.weight'], [/^dense_(\d+)\/bias:0$/, '$1.bias']]));
  const okLines = String(ok).split('\n');
  assert.strictEqual(okLines[0], 'LoadReport: 60 loaded, 0 missing, 0 unexpected, 0 mismatched, 0 skipped');
  assert.strictEqual(okLines.length, 13);
  assert.ok(!/hint/.test(String(ok)));
});

test('a strict load where some names match offers strict: false with the count it would load', () => {
  const sd = { ...kerasNames(), '0.weight': tg.zeros([2, 2]), '0.bias': tg.zeros([2]) };
  assert.throws(() => net().loadStateDict(sd), (e) => /some names differ/.test(e.message) && /\{ strict: false \} loads the 2 keys that match/.test(e.message));
});

test('a strict load whose shapes differ says so briefly and points at skipMismatched, not at renaming', () => {
  const wide = Object.fromEntries(net().namedParameters().map(([n, p]) => [n, tg.zeros(p.shape.map((d) => d + 1))]));
  assert.throws(() => net().loadStateDict(wide), (e) => {
    assert.ok(e.message.length < 1500, `message of ${e.message.length} characters`);
    assert.match(e.message, /shape mismatches \(60\): 0\.weight expected \[2, 2\], found \[3, 3\]; .*; \.\.\. 50 more/);
    assert.match(e.message, /skipMismatched: true \} skips shape mismatches \(e\.mismatched lists all 60\)/);
    assert.ok(!/proposeMapping/.test(e.message));
    assert.strictEqual(e.mismatched.length, 60);
    return true;
  });
  const report = net().loadStateDict(wide, { skipMismatched: true });
  assert.match(String(report), /^LoadReport: 0 loaded, 0 missing, 0 unexpected, 60 mismatched, 0 skipped\n/);
  assert.match(String(report), /\n\.\.\. 50 more/);
  assert.strictEqual(report.mismatched.length, 60);
});
