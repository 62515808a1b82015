#!/usr/bin/env node
// Event-loop lag of tg.io.load on large synthetic models: a 1 ms interval records the longest gap between its ticks
// while a file loads, beside the total load time. Usage: node scripts/fuzz/event-loop-lag.js [--mb 200] [case ...]
// Cases: tfjs-uint8, tfjs-uint16, tfjs-float16, tfjs-float32, npy, npz, safetensors, onnx (default: all).
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
// The lag probe is the tests' own (test/helpers/event-loop.js), as the fuzzers already use test/helpers/zipwriter.
const { loadWithLag } = require('../../test/helpers/event-loop');

/** Writes a model of about `mb` MB of float32 weights (in 8 tensors) for `kind` into `dir`; returns the path to load. */
function writeModel(kind, dir, mb) {
  const per = Math.floor((mb * 2 ** 20) / 4 / 8); // elements per tensor
  const shape = [per / 256, 256].map(Math.floor);
  const n = shape[0] * shape[1];
  const f32 = () => Buffer.from(Float32Array.from({ length: n }, (_, i) => (i % 1000) / 1000).buffer);
  const names = Array.from({ length: 8 }, (_, i) => `layer${i}.weight`);
  if (kind.startsWith('tfjs')) {
    const q = kind.slice(5);
    const size = { uint8: 1, uint16: 2, float16: 2, float32: 4 }[q];
    const shard = Buffer.alloc(n * size * 8, 0x3c);
    const weights = names.map((name) => ({ name, shape, dtype: 'float32', ...(q === 'float32' ? {} : { quantization: q === 'float16' ? { dtype: q } : { dtype: q, scale: 0.01, min: -1 } }) }));
    fs.writeFileSync(path.join(dir, 'weights.bin'), shard);
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', weightsManifest: [{ paths: ['weights.bin'], weights }] }));
    return path.join(dir, 'model.json');
  }
  if (kind === 'npy' || kind === 'npz') {
    const npy = (s) => {
      let h = `{'descr': '<f4', 'fortran_order': False, 'shape': (${s.join(', ')}), }`;
      h = h.padEnd(Math.ceil((h.length + 11) / 64) * 64 - 11, ' ') + '\n';
      const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
      pre.writeUInt16LE(h.length, 8);
      return Buffer.concat([pre, Buffer.from(h, 'latin1')]);
    };
    if (kind === 'npy') {
      const fd = fs.openSync(path.join(dir, 'w.npy'), 'w');
      fs.writeSync(fd, npy([shape[0] * 8, shape[1]]));
      for (let i = 0; i < 8; i++) fs.writeSync(fd, f32());
      fs.closeSync(fd);
      return path.join(dir, 'w.npy');
    }
    const { writeZip } = require('./zip');
    fs.writeFileSync(path.join(dir, 'w.npz'), writeZip(names.map((name) => ({ name: `${name}.npy`, data: Buffer.concat([npy(shape), f32()]) }))).buf);
    return path.join(dir, 'w.npz');
  }
  if (kind === 'safetensors') {
    const header = {};
    names.forEach((name, i) => (header[name] = { dtype: 'F32', shape, data_offsets: [i * n * 4, (i + 1) * n * 4] }));
    let h = JSON.stringify(header);
    h = h.padEnd(Math.ceil(h.length / 8) * 8, ' ');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(h.length));
    const fd = fs.openSync(path.join(dir, 'w.safetensors'), 'w');
    fs.writeSync(fd, Buffer.concat([len, Buffer.from(h)]));
    for (let i = 0; i < 8; i++) fs.writeSync(fd, f32());
    fs.closeSync(fd);
    return path.join(dir, 'w.safetensors');
  }
  if (kind === 'onnx') {
    const { encode } = require('./targets/onnx');
    const tensor = (name) => encode([...shape.map((d) => ({ field: 1, wire: 0, value: BigInt(d) })), { field: 2, wire: 0, value: 1n }, { field: 8, wire: 2, value: Buffer.from(name) }, { field: 9, wire: 2, value: f32() }]);
    const graph = encode(names.map((name) => ({ field: 5, wire: 2, value: tensor(name) })));
    fs.writeFileSync(path.join(dir, 'w.onnx'), encode([{ field: 1, wire: 0, value: 8n }, { field: 2, wire: 2, value: Buffer.from('lag') }, { field: 7, wire: 2, value: graph }]));
    return path.join(dir, 'w.onnx');
  }
  throw new RangeError(`unknown case ${kind}`);
}

/** Loads `file` while a 1 ms interval measures the event loop: { maxGapMs, loadMs }. */
async function measure(tg, file) {
  const { out, maxGapMs, loadMs } = await loadWithLag(tg, file, { warmupMs: 20 });
  tg.dispose(out);
  return { maxGapMs: Math.round(maxGapMs), loadMs: Math.round(loadMs) };
}

module.exports = { writeModel, measure };

if (require.main === module) {
  const args = process.argv.slice(2);
  const mbAt = args.indexOf('--mb');
  const mb = mbAt >= 0 ? Number(args.splice(mbAt, 2)[1]) : 200;
  if (args[0] === '--one') {
    // One case in this process: print its JSON line.
    const tg = require('../..');
    measure(tg, args[1]).then((r) => console.log(JSON.stringify(r)));
  } else {
    const cases = args.length ? args : ['tfjs-uint8', 'tfjs-uint16', 'tfjs-float16', 'tfjs-float32', 'npy', 'npz', 'safetensors', 'onnx'];
    console.log(`| case (${mb} MB of float32) | max event-loop gap ms | load ms |\n|---|---:|---:|`);
    for (const c of cases) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-lag-'));
      try {
        const file = writeModel(c, dir, mb);
        // A fresh process per case, so one case's garbage does not land in another's gaps.
        const r = JSON.parse(execFileSync(process.execPath, [__filename, '--one', file], { encoding: 'utf8' }));
        console.log(`| ${c} | ${r.maxGapMs} | ${r.loadMs} |`);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  }
}
