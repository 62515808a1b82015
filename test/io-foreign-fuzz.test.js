'use strict';
// A short seeded run of every structure-aware fuzz target (scripts/fuzz/): mutants of real files, changed in their
// structure (pickle opcodes, zip records, safetensors and .npy headers, protobuf fields, TF.js manifests, HDF5
// object headers) and in their bytes, each loaded in a child process with a deadline. Every load must end loaded or
// with a coded error: no uncoded error, no crash, no hang, no leaked tensor.
// TORCHGRAFT_FUZZ_SEED and TORCHGRAFT_FUZZ_SECONDS (per target) change the run; `node scripts/fuzz-campaign.js` is the long one.
const test = require('node:test');
const assert = require('node:assert');
const { tmpDir } = require('./helpers/foreign');
const { Pool } = require('../scripts/fuzz/pool');
const { TARGETS, runTarget } = require('../scripts/fuzz/campaign');

const seed = Number(process.env.TORCHGRAFT_FUZZ_SEED || 2026);
const seconds = Number(process.env.TORCHGRAFT_FUZZ_SECONDS || 4.5);

// Past the HDF5 reader's own watchdog (6 s + 1 s per 4 MB): a read it stops is a coded ERR_HDF5_TIMEOUT, and only a
// load that outlives that is a hang (e.g. --format hdf5 --seed 2026 --replay 671 spins in h5wasm until the watchdog).
const pool = new Pool({ size: 2, timeoutMs: 15_000 });
test.before(() => pool.warm());
test.after(() => pool.close());

for (const { name } of TARGETS) {
  test(`fuzz ${name}: seeded structural mutants load or fail with a coded error, never crash or hang`, async (t) => {
    const row = await runTarget(name, { pool, seed, mutants: 1e9, deadline: Date.now() + seconds * 1000, scratch: tmpDir(t, 'tg-fuzz-') });
    const show = (d) => `${d.outcome} at --format ${d.format} --seed ${d.seed} --replay ${d.iteration}: ${d.error ?? ''} ${d.message ?? ''}`;
    t.diagnostic(`${row.mutants} mutants: ${row.loaded} loaded, ${row.coded} coded errors; max RSS ${(pool.maxRssKb / 1024).toFixed(0)} MB`);
    assert.ok(row.mutants >= 20, `only ${row.mutants} mutants ran`);
    assert.ok(row.coded > 0, 'no mutant was refused: the mutators do not reach the parser');
    assert.deepStrictEqual(row.defects.map(show), []);
    assert.strictEqual(row.uncoded + row.crash + row.hang, 0);
    assert.strictEqual(row.leaked, 0, 'a load left live tensors behind');
  });
}
