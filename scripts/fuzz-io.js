#!/usr/bin/env node
// Mutation fuzzer for tg.io.load: flips bits, overwrites bytes with JSON punctuation, truncates, deletes and inserts,
// mostly inside a file's first bytes (where headers are), and checks every outcome is a clean load or a TorchError.
// Usage: node scripts/fuzz-io.js [--seed N] [--iterations N] FILE...   (default: the shared fixtures of every format)
// A JSON manifest (TF.js model.json) is mutated in a copy of its folder, so its shards are found beside it.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** mulberry32: a small seeded PRNG, so a failing iteration is reproducible from (seed, iteration). */
function rng(seed) {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One mutant of buf; `hot` is the length of the region most mutations aim at (a header). */
function mutate(buf, rand, hot = Math.min(buf.length, 4096)) {
  const pick = (n) => Math.floor(rand() * n);
  const at = (len) => (rand() < 0.8 ? pick(Math.max(1, Math.min(hot, len))) : pick(Math.max(1, len)));
  let out = Buffer.from(buf);
  const kind = pick(5);
  if (kind === 0) {
    for (let k = 1 + pick(4); k > 0; k--) out[at(out.length)] ^= 1 << pick(8);
  } else if (kind === 1) {
    for (let k = 1 + pick(4); k > 0; k--) out[at(out.length)] = '{}[]",:0123456789-e.'.charCodeAt(pick(20));
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

/**
 * Loads `iterations` mutants of each file; returns counts. Throws on the first outcome that is neither a load
 * nor a TorchError with a code (the message names the file, seed and iteration).
 */
async function fuzz(tg, files, { seed = 1, iterations = 1000, dir = os.tmpdir(), log = () => {} } = {}) {
  const counts = { loaded: 0, rejected: 0, codes: {} };
  for (const file of files) {
    const whole = fs.readFileSync(file);
    // The hot region is the header when the file starts with a safetensors length; HDF5 keeps its metadata all
    // over the file, so all of it is hot; else the first 4 KiB.
    const n = whole.length >= 8 ? Number(whole.readBigUInt64LE(0)) : 0;
    const hdf5 = whole.subarray(0, 4).toString('latin1') === '\x89HDF';
    const hot = hdf5 ? whole.length : n > 0 && n < whole.length ? 8 + n : Math.min(whole.length, 4096);
    const rand = rng(seed);
    const folder = fs.mkdtempSync(path.join(dir, `fuzz-${process.pid}-`));
    const mutant = path.join(folder, path.basename(file));
    if (file.endsWith('.json'))
      for (const e of fs.readdirSync(path.dirname(file), { withFileTypes: true }))
        if (e.isFile() && e.name !== path.basename(file)) fs.copyFileSync(path.join(path.dirname(file), e.name), path.join(folder, e.name));
    try {
      for (let i = 0; i < iterations; i++) {
        fs.writeFileSync(mutant, mutate(whole, rand, hot));
        try {
          tg.dispose(await tg.io.load(mutant));
          counts.loaded++;
        } catch (e) {
          if (!(e instanceof tg.TorchError) || !e.code)
            throw new Error(`fuzz: ${file} seed ${seed} iteration ${i}: not a TorchError with a code: ${e && e.stack}`);
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
];

module.exports = { rng, mutate, fuzz, FIXTURES };

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
  // The shared fixtures: TORCHGRAFT_FOREIGN_FIXTURES, else beside the checkout (/work/main) or above a worktree.
  const foreign =
    process.env.TORCHGRAFT_FOREIGN_FIXTURES ||
    ['../shared', '../../shared', '../../../shared'].map((d) => path.resolve(__dirname, d, 'fixtures/foreign')).find((d) => fs.existsSync(d)) ||
    '';
  const files = args.length
    ? args
    : FIXTURES.map((f) => path.join(foreign, f)).filter((f) => fs.existsSync(f));
  if (!files.length) {
    console.error('fuzz-io: no files given and no shared fixtures found');
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
