'use strict';
// The addon is context-aware: it loads and computes in several worker_threads at once, each with its own state.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const tg = require('..');

const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const tg = require(workerData.pkg);
const n = workerData.n;
// each worker does its own small training-like computation and reports its numbers and tensor count
const results = [];
for (let i = 0; i < 200; i++) {
  results.push(tg.tidy(() => {
    const x = tg.arange(0, n * 4, 1, { dtype: 'float32' }).reshape([n, 4]).add(workerData.id);
    const w = tg.ones([4, 2], { requiresGrad: true });
    const loss = x.matmul(w).sum();
    loss.backward();
    return loss.item() + w.grad.sum().item();
  }));
}
const noGradInside = tg.noGrad(() => tg.isGradEnabled());
parentPort.postMessage({ id: workerData.id, first: results[0], same: results.every((r) => r === results[0]), tensors: tg.memory().tensors, noGradInside, grad: tg.isGradEnabled() });
`;

function runWorker(id, n) {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER_CODE, { eval: true, workerData: { id, n, pkg: path.resolve(__dirname, '..') } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker ${id} exited with ${code}`)));
  });
}

test('the addon loads and computes in four worker threads at once', async () => {
  const main = tg.ones([3]);
  const results = await Promise.all([0, 1, 2, 3].map((id) => runWorker(id, 5 + id)));
  for (const r of results) {
    const n = 5 + r.id;
    // loss = sum(x @ ones(4, 2)) = 2 sum(x), and the entries of dloss/dw also add up to 2 sum(x)
    const sumX = ((4 * n - 1) * 4 * n) / 2 + r.id * 4 * n;
    assert.strictEqual(r.first, 2 * sumX + 2 * sumX, `worker ${r.id} computed the right numbers`);
    assert.strictEqual(r.same, true);
    assert.strictEqual(r.tensors, 0, `worker ${r.id} leaked no tensors`);
    assert.strictEqual(r.noGradInside, false);
    assert.strictEqual(r.grad, true);
  }
  // the main thread's state is its own and still works
  assert.deepStrictEqual(main.add(1).toArray(), [2, 2, 2]);
  main.dispose();
});

test('a worker that exits with live tensors does not disturb the main thread', async () => {
  const code = `
    const tg = require(${JSON.stringify(path.resolve(__dirname, '..'))});
    globalThis.keepAlive = Array.from({ length: 50 }, () => tg.randn([64, 64]));
    require('node:worker_threads').parentPort.postMessage(tg.memory().tensors);
  `;
  const counts = await Promise.all(
    [0, 1].map(
      () =>
        new Promise((resolve, reject) => {
          const w = new Worker(code, { eval: true });
          let count;
          w.once('message', (m) => (count = m));
          w.once('error', reject);
          w.once('exit', (c) => (c === 0 ? resolve(count) : reject(new Error(`exit ${c}`))));
        }),
    ),
  );
  assert.deepStrictEqual(counts, [50, 50]);
  const before = tg.memory().tensors;
  tg.tidy(() => assert.strictEqual(tg.randn([10]).add(1).numel, 10));
  assert.strictEqual(tg.memory().tensors, before);
});
