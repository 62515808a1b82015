#!/usr/bin/env node
// Mutation fuzzer for tg.io.load: flips bits, overwrites bytes with JSON punctuation or pickle opcodes, truncates,
// deletes and inserts, mostly inside a file's headers (safetensors JSON, .npy header, a zip's first entries and its
// central directory, all of an HDF5 file), and checks every outcome is a clean load or a TorchError.
// Usage: node scripts/fuzz-io.js [--seed N] [--iterations N] FILE...   (default: test/fixtures/foreign, every format)
// A JSON manifest (TF.js model.json) is mutated in a copy of its folder, so its shards are found beside it.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// The same CRC-32 the tests' zip writer uses, so mutants of stored zip members keep valid checksums.
const { crc32 } = require('../test/helpers/zipwriter');

// mulberry32, seeded, so a failing iteration is reproducible from (seed, iteration): the structure-aware fuzzers' own.
const { rng } = require('./fuzz/rng');

// Bytes that mean something to the parsers: JSON punctuation and digits, pickle opcodes, zip size saturation.
const ALPHABET = Buffer.concat([Buffer.from('{}[]",:0123456789-e.'), Buffer.from('()tRQqhjcXKJ}]ue.b\x93\x94\x80\x81\x85\x89\x8a\x8c\xff\x00', 'latin1')]);

/**
 * One mutant of buf. `hot` is where most mutations aim: the length of a header at the start, or a list of
 * [start, end) byte ranges (a zip's first entries and its central directory).
 */
function mutate(buf, rand, hot = Math.min(buf.length, 4096)) {
  const pick = (n) => Math.floor(rand() * n);
  const ranges = Array.isArray(hot) ? hot : [[0, hot]];
  const at = (len) => {
    if (rand() >= 0.8) return pick(Math.max(1, len));
    const [s, e] = ranges[pick(ranges.length)];
    return Math.min(Math.max(0, len - 1), s + pick(Math.max(1, Math.min(e, len) - s)));
  };
  let out = Buffer.from(buf);
  const kind = pick(5);
  if (kind === 0) {
    for (let k = 1 + pick(4); k > 0; k--) out[at(out.length)] ^= 1 << pick(8);
  } else if (kind === 1) {
    for (let k = 1 + pick(4); k > 0; k--) out[at(out.length)] = ALPHABET[pick(ALPHABET.length)];
  } else if (kind === 2) {
    out = out.subarray(0, pick(out.length));
  } else if (kind === 3) {
    const p = at(out.length);
    out = Buffer.concat([out.subarray(0, p), out.subarray(p + 1 + pick(8))]);
  } else {
    const p = at(out.length);
    out = Buffer.concat([out.subarray(0, p), Buffer.from([pick(256), pick(256)]), out.subarray(p)]);
  }
  return out;
}

/** The stored entries of a zip (name, data range, CRC positions), or [] when buf is not a readable zip. */
function storedEntries(buf) {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > buf.length) return [];
  const out = [];
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = buf.readUInt16LE(eocd + 10); i > 0 && p + 46 <= buf.length && buf.readUInt32LE(p) === 0x02014b50; i--) {
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const size = buf.readUInt32LE(p + 20);
    if (buf.readUInt16LE(p + 10) === 0 && local + 30 <= buf.length) {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      if (start + size <= buf.length) out.push({ name: buf.toString('utf8', p + 46, p + 46 + nameLen), start, end: start + size, central: p, local });
    }
    p += 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return out;
}

/**
 * A mutant whose damage sits inside one stored zip member (a pickle or .npy member most often) with the member's
 * CRC-32 repaired, so the member's own parser sees it instead of the CRC check.
 */
function mutateZipMember(buf, rand, entries) {
  const pick = (n) => Math.floor(rand() * n);
  const parsed = entries.filter((e) => /(\.pkl|\.npy|byteorder)$/.test(e.name) && e.end > e.start);
  const e = (parsed.length && rand() < 0.8 ? parsed : entries)[pick((parsed.length && rand() < 0.8 ? parsed : entries).length)];
  const out = Buffer.from(buf);
  if (!e || e.end === e.start) return out;
  for (let k = 1 + pick(4); k > 0; k--) {
    const at = e.start + pick(e.end - e.start);
    out[at] = rand() < 0.5 ? out[at] ^ (1 << pick(8)) : ALPHABET[pick(ALPHABET.length)];
  }
  const crc = crc32(out.subarray(e.start, e.end)) >>> 0;
  out.writeUInt32LE(crc, e.central + 16);
  out.writeUInt32LE(crc, e.local + 14);
  return out;
}

/** Where a file's structure is: a zip's first 4 KiB and central directory, an .npy header, a safetensors header. */
function hotRegions(whole) {
  if (whole.length >= 22 && whole.readUInt32LE(0) === 0x04034b50) {
    const eocd = whole.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const cd = eocd >= 0 ? whole.readUInt32LE(eocd + 16) : whole.length;
    return [[0, Math.min(whole.length, 4096)], [Math.min(cd, whole.length - 1), whole.length]];
  }
  if (whole.length >= 10 && whole.readUInt32LE(0) === 0x4d554e93) return Math.min(whole.length, 12 + whole.readUInt16LE(8));
  // HDF5 keeps its metadata all over the file, so all of it is hot.
  if (whole.subarray(0, 4).toString('latin1') === '\x89HDF') return whole.length;
  // A safetensors file starts with its header length; anything else gets its first 4 KiB.
  const n = whole.length >= 8 ? Number(whole.readBigUInt64LE(0)) : 0;
  return n > 0 && n < whole.length ? 8 + n : Math.min(whole.length, 4096);
}

/**
 * Loads `iterations` mutants of each file; returns counts. Throws on the first outcome that is neither a load
 * nor a TorchError with a code (the message names the file, seed and iteration).
 */
async function fuzz(tg, files, { seed = 1, iterations = 1000, dir = os.tmpdir(), log = () => {} } = {}) {
  const counts = { loaded: 0, rejected: 0, codes: {} };
  for (const file of files) {
    const whole = fs.readFileSync(file);
    const hot = hotRegions(whole);
    const members = storedEntries(whole);
    const rand = rng(seed);
    const folder = fs.mkdtempSync(path.join(dir, `fuzz-${process.pid}-`));
    const mutant = path.join(folder, path.basename(file));
    if (file.endsWith('.json'))
      for (const e of fs.readdirSync(path.dirname(file), { withFileTypes: true }))
        if (e.isFile() && e.name !== path.basename(file)) fs.copyFileSync(path.join(path.dirname(file), e.name), path.join(folder, e.name));
    try {
      for (let i = 0; i < iterations; i++) {
        // Half the mutants of a zip with stored members keep valid CRCs, to reach the member parsers (pickle, .npy).
        fs.writeFileSync(mutant, members.length && rand() < 0.5 ? mutateZipMember(whole, rand, members) : mutate(whole, rand, hot));
        try {
          tg.dispose(await tg.io.load(mutant));
          counts.loaded++;
        } catch (e) {
          if (!(e instanceof tg.TorchError) || !e.code)
            throw new Error(`fuzz: ${file} seed ${seed} iteration ${i}: not a TorchError with a code: ${e && e.stack}`, { cause: e });
          counts.rejected++;
          counts.codes[e.code] = (counts.codes[e.code] || 0) + 1;
        }
      }
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
    log(`${path.basename(file)}: ${iterations} mutants`);
  }
  return counts;
}

/** The shared fixtures fuzzed by default, one or two per format. */
const FIXTURES = [
  'burn_mnist_cnn.safetensors',
  'burn_multi_layer.safetensors',
  'keras2_resnet8_cifar10.h5',
  'keras2_dscnn_wakeword.h5',
  'burn_mnist_cnn.onnx',
  'burn_linear_gemm_matmul.onnx',
  'tfjs_abalone_dense/model.json',
  'tfjs_embedding_gru/model.json',
  'burn_mnist_cnn_state_dict.pt',
  'burn_complex_nested_state_dict.pt',
  'whisper_mel_filters.npz',
  'npy_art_mnist_cnn/W_CONV2D_NO_MPOOL_MNIST.npy',
];

module.exports = { rng, mutate, mutateZipMember, storedEntries, fuzz, hotRegions, FIXTURES };

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name, fallback) => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(args[i + 1]);
    args.splice(i, 2);
    return v;
  };
  const seed = opt('--seed', 1);
  const iterations = opt('--iterations', 5000);
  // The repository's copy of the foreign fixtures (test/fixtures/foreign), or TORCHGRAFT_FOREIGN_FIXTURES.
  const foreign = process.env.TORCHGRAFT_FOREIGN_FIXTURES || path.resolve(__dirname, '..', 'test', 'fixtures', 'foreign');
  const files = args.length
    ? args
    : FIXTURES.map((f) => path.join(foreign, f)).filter((f) => fs.existsSync(f));
  if (!files.length) {
    console.error('fuzz-io: no files given and no fixtures found in test/fixtures/foreign');
    process.exit(2);
  }
  const tg = require('..');
  fuzz(tg, files, { seed, iterations, log: (m) => console.error(m) }).then(
    (c) => console.log(JSON.stringify(c)),
    (e) => {
      console.error(e.message);
      process.exit(1);
    },
  );
}
