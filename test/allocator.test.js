'use strict';
// glibc's malloc thresholds (native/allocator.cc): a training step reuses its buffers from the heap instead of taking
// pages back from the kernel one fault at a time (opt-in: TORCHGRAFT_MALLOC_TUNING=1); the user's own settings win.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const pkg = JSON.stringify(path.resolve(__dirname, '..'));
const glibc = process.platform === 'linux' && !!process.report?.getReport().header.glibcVersionRuntime;

// minor page faults per MLP training step (784-300-100-10, batch 512, Adam), after warm-up
const STEP_FAULTS = `
  const tg = require(${pkg});
  tg.setNumThreads(1);
  tg.manualSeed(0);
  const net = new tg.nn.Sequential([new tg.nn.Linear(784, 300), new tg.nn.ReLU(), new tg.nn.Linear(300, 100), new tg.nn.ReLU(), new tg.nn.Linear(100, 10)]);
  const x = tg.keep(tg.randn([512, 784])), y = tg.keep(tg.randint(0, 10, [512]));
  const opt = new tg.optim.Adam(net.parameters(), { lr: 1e-3 });
  const step = () => tg.tidy(() => { opt.zeroGrad(); tg.nn.functional.crossEntropy(net.forward(x), y).backward(); opt.step(); });
  for (let i = 0; i < 10; i++) step();
  const f0 = process.resourceUsage().minorPageFault;
  for (let i = 0; i < 40; i++) step();
  console.log(JSON.stringify({ faults: (process.resourceUsage().minorPageFault - f0) / 40, tuned: tg.buildInfo().mallocTuned }));`;

function run(env) {
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, ['-e', STEP_FAULTS], { env: childEnv, encoding: 'utf8', timeout: 120_000 });
  assert.strictEqual(r.status, 0, r.stderr.slice(-2000));
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

test('with the tuning (TORCHGRAFT_MALLOC_TUNING=1), a training step takes (almost) no page faults; without it, hundreds', { skip: !glibc && 'glibc only' }, () => {
  const tuned = run({ TORCHGRAFT_MALLOC_TUNING: '1' });
  const off = run({ TORCHGRAFT_MALLOC_TUNING: undefined });
  assert.strictEqual(tuned.tuned, true);
  assert.strictEqual(off.tuned, false);
  assert.ok(tuned.faults < 30, `${tuned.faults} faults per step with the tuning`);
  assert.ok(off.faults > 4 * Math.max(tuned.faults, 10), `${off.faults} faults per step without it (vs ${tuned.faults}): the test can tell them apart`);
});

test("glibc's own malloc settings in the environment win over the tuning", { skip: !glibc && 'glibc only' }, () => {
  for (const env of [{ MALLOC_TRIM_THRESHOLD_: '131072' }, { MALLOC_MMAP_THRESHOLD_: '131072' }, { GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=131072' }]) {
    const r = spawnSync(process.execPath, ['-e', `console.log(require(${pkg}).buildInfo().mallocTuned)`], { env: { ...process.env, TORCHGRAFT_MALLOC_TUNING: '1', ...env }, encoding: 'utf8' });
    assert.strictEqual(r.stdout.trim(), 'false', JSON.stringify(env));
  }
});
