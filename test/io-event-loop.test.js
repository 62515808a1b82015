'use strict';
// Big foreign files load without holding the event loop: TF.js dequantisation, .npy byte swaps and Fortran
// reordering run in the decode thread, and tensors are filled in slices. The lag bound is relative to the load's
// own duration (a loaded CI machine slows both); values are checked against numpy.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { tg, tmpDir, noNumpy, PYTHON } = require('./helpers/foreign');
const { loadWithLag } = require('./helpers/event-loop');

/** numpy's float64 sum and first/last elements of each array a Python expression builds from `shard`. */
function numpyStats(script) {
  return JSON.parse(execFileSync(PYTHON, ['-c', `import json, numpy as np\n${script}`], { encoding: 'utf8' }));
}

const stats = (t) => {
  const flat = t.flatten();
  const out = { sum: flat.to('float64').sum().item(), first: flat.narrow(0, 0, 1).item(), last: flat.narrow(0, flat.shape[0] - 1, 1).item() };
  flat.dispose();
  return out;
};

test('a ~48 MB quantized TF.js model loads with event-loop gaps under a quarter of its load time, values as numpy dequantizes them', { skip: noNumpy }, async (t) => {
  const dir = tmpDir(t, 'tg-lag-');
  // uint8 weights (32 MB) and uint16 weights (16 MB), filled with a pattern numpy reads back from the same shards
  const n8 = 8 << 20;
  const n16 = 4 << 20;
  const q8 = Buffer.alloc(4 * n8);
  for (let i = 0; i < q8.length; i++) q8[i] = (i * 7) & 0xff;
  const q16 = Buffer.from(Uint16Array.from({ length: 2 * n16 }, (_, i) => (i * 13) & 0xffff).buffer);
  fs.writeFileSync(path.join(dir, 'q8.bin'), q8);
  fs.writeFileSync(path.join(dir, 'q16.bin'), q16);
  const w8 = (name) => ({ name, shape: [n8 / 1024, 1024], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.0125, min: -1.5 } });
  const w16 = (name) => ({ name, shape: [n16], dtype: 'float32', quantization: { dtype: 'uint16', scale: 1e-4, min: -3 } });
  const manifest = [
    { paths: ['q8.bin'], weights: ['a', 'b', 'c', 'd'].map(w8) },
    { paths: ['q16.bin'], weights: ['e', 'f'].map(w16) },
  ];
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', weightsManifest: manifest }));
  const expected = numpyStats(`
d = ${JSON.stringify(dir)}
q8 = np.fromfile(d + '/q8.bin', np.uint8).reshape(4, -1)
q16 = np.fromfile(d + '/q16.bin', '<u2').reshape(2, -1)
out = {}
for k, q in zip('abcd', q8): v = (q * np.float32(0.0125) + np.float32(-1.5)).astype(np.float32); out[k] = [float(v.astype(np.float64).sum()), float(v[0]), float(v[-1])]
for k, q in zip('ef', q16): v = (q.astype(np.float64) * 1e-4 - 3).astype(np.float32); out[k] = [float(v.astype(np.float64).sum()), float(v[0]), float(v[-1])]
print(json.dumps(out))`);
  const { out, maxGapMs, loadMs } = await loadWithLag(tg, path.join(dir, 'model.json'));
  try {
    t.diagnostic(`load ${loadMs.toFixed(0)} ms, longest event-loop gap ${maxGapMs.toFixed(0)} ms`);
    assert.ok(maxGapMs < 0.25 * loadMs, `the event loop stalled for ${maxGapMs.toFixed(0)} ms of a ${loadMs.toFixed(0)} ms load`);
    for (const [k, [sum, first, last]] of Object.entries(expected)) {
      const s = stats(out[k]);
      assert.ok(Math.abs(s.sum - sum) <= 1e-6 * Math.abs(sum) + 1e-3, `${k}: sum ${s.sum} vs numpy ${sum}`);
      assert.ok(Math.abs(s.first - first) <= 1e-6 && Math.abs(s.last - last) <= 1e-6, `${k}: ends ${s.first}, ${s.last} vs numpy ${first}, ${last}`);
    }
  } finally {
    tg.dispose(out);
  }
});

test('a big-endian, Fortran-order .npy above the off-thread size loads in C order as numpy reads it', { skip: noNumpy }, async (t) => {
  const dir = tmpDir(t, 'tg-lag-');
  const file = path.join(dir, 'f.npy');
  const expected = numpyStats(`
a = np.asfortranarray((np.arange(3 * 1024 * 700, dtype=np.float64) % 977).reshape(3, 1024, 700).astype('>f4'))
np.save(${JSON.stringify(file)}, a)
c = np.ascontiguousarray(a).ravel()
print(json.dumps([float(c.astype(np.float64).sum()), float(c[1]), float(c[700]), float(c[-2]), list(a.shape)]))`);
  const { out } = await loadWithLag(tg, file);
  try {
    const x = out.f;
    assert.deepStrictEqual(x.shape, expected[4]);
    const flat = x.flatten();
    assert.strictEqual(flat.to('float64').sum().item(), expected[0]);
    assert.deepStrictEqual([1, 700, flat.shape[0] - 2].map((i) => flat.narrow(0, i, 1).item()), expected.slice(1, 4));
    flat.dispose();
  } finally {
    tg.dispose(out);
  }
});

test('the decode thread never keeps the process alive', async (t) => {
  const dir = tmpDir(t, 'tg-lag-');
  const n = 6 << 20; // above the off-thread size
  fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.alloc(n, 3));
  fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ format: 'graph-model', weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'w', shape: [n], dtype: 'float32', quantization: { dtype: 'uint8', scale: 2, min: 1 } }] }] }));
  const script = `const tg = require(${JSON.stringify(path.resolve(__dirname, '..'))}); tg.io.load(${JSON.stringify(path.join(dir, 'model.json'))}).then((o) => console.log(o.w.narrow(0, 0, 1).item()))`;
  const t0 = Date.now();
  assert.strictEqual(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60000 }).trim(), '7');
  t.diagnostic(`child exited after ${Date.now() - t0} ms`);
});
