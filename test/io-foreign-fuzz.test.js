'use strict';
// A short seeded run of scripts/fuzz-io.js over the Keras, ONNX and TF.js fixtures: every mutant (bit flips, byte
// writes, truncations, splices) either loads or is a TorchError with a code, the process lives and no tensor leaks.
// TORCHGRAFT_FUZZ_SEED and TORCHGRAFT_FUZZ_ITERATIONS (per file) make it longer; `node scripts/fuzz-io.js` runs thousands.
const test = require('node:test');
const assert = require('node:assert');
const { tg, fixture, tmpDir } = require('./helpers/foreign');
const { fuzz } = require('../scripts/fuzz-io.js');

const seed = Number(process.env.TORCHGRAFT_FUZZ_SEED || 2026);
const scale = Number(process.env.TORCHGRAFT_FUZZ_ITERATIONS || 0);

// HDF5 mutants cost about 50 ms each (the whole library opens the file), the others about 2 ms.
const runs = [
  [['keras2_resnet8_cifar10.h5', 'keras2_dscnn_wakeword.h5'], 40],
  [['burn_mnist_cnn.onnx', 'burn_linear_gemm_matmul.onnx'], 100],
  [['tfjs_abalone_dense/model.json', 'tfjs_embedding_gru/model.json'], 150],
];

for (const [files, iterations] of runs) {
  test(`seeded mutants of ${files.join(' and ')} load or throw a coded TorchError`, async (t) => {
    const before = tg.memory().tensors;
    const counts = await fuzz(tg, files.map(fixture), { seed, iterations: scale || iterations, dir: tmpDir(t) });
    assert.strictEqual(counts.loaded + counts.rejected, (scale || iterations) * files.length);
    assert.ok(counts.rejected > 0, JSON.stringify(counts));
    assert.ok(tg.memory().tensors <= before, `live tensors went from ${before} to ${tg.memory().tensors}`);
  });
}
