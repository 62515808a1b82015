'use strict';
// tg.distributed on c10d's Gloo group: collectives across processes on the loopback address, DDP equal to training in one
// process on the same global batches, a killed rank, a Python rank in the same group, and bad input.
const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const tg = require('..');
const { runRanks, runProcess, freePort, RANK_SCRIPT } = require('./helpers/dist');
const { hasPyTorch, runTorch } = require('./helpers/torch');

// CI installs libgloo-dev, so there the addon must have the group; a machine without Gloo's headers (a pip LibTorch on
// the GPU machine, say) skips the rest with the reason, and init says what is missing.
const glooHeaders = fs.existsSync('/usr/include/gloo/algorithm.h');
const noGloo = !tg.distributed.isAvailable() && 'this addon was built without Gloo (no libgloo-dev headers)';

test('a build where Gloo\'s headers are installed has the Gloo process group', { skip: !glooHeaders && 'no /usr/include/gloo on this machine' }, () => {
  assert.strictEqual(tg.distributed.isAvailable(), true);
});

test('without Gloo, init says what is missing', { skip: !noGloo && 'this build has Gloo' }, async () => {
  await assert.rejects(tg.distributed.init({ worldSize: 1 }), (e) => e.code === 'ERR_DISTRIBUTED' && /libgloo-dev/.test(e.message));
});

for (const world of [2, 4]) {
  test(`${world} ranks: allReduce (sum, avg, max), broadcast, allGather, reduceScatter and barrier agree on every rank`, { skip: noGloo }, async () => {
    const ranks = await runRanks('collectives', world);
    const sum = (f) => Array.from({ length: world }, (_, r) => f(r)).reduce((a, b) => a + b, 0);
    ranks.forEach(({ code, result, stderr }, rank) => {
      assert.strictEqual(code, 0, `rank ${rank}: ${JSON.stringify(result)} ${stderr}`);
      assert.deepStrictEqual(result.sum, [sum((r) => r + 1), sum((r) => 10 * (r + 1))]);
      assert.strictEqual(result.avg, sum((r) => r + 1) / world);
      assert.strictEqual(result.max, (world - 1) * 3 - 1);
      assert.deepStrictEqual(result.broadcast, [42, 7]);
      assert.deepStrictEqual(result.gather, Array.from({ length: world }, (_, r) => [r, r * r]));
      assert.deepStrictEqual(result.scatter, [sum((r) => rank * 100 + r), world]);
      assert.strictEqual(result.rank, rank);
      assert.strictEqual(result.world, world);
    });
  });

  test(`DDP on ${world} ranks gives the weights of one process on the same global batches; frozen layers stay bitwise`, { skip: noGloo }, async () => {
    const [reference, ...ranks] = await Promise.all([
      runProcess(process.execPath, [RANK_SCRIPT, 'reference'], {}),
      ...(await runRanks('ddp', world)),
    ].map((p) => Promise.resolve(p)));
    assert.strictEqual(reference.code, 0, reference.stderr);
    const ref = reference.result;
    ranks.forEach(({ code, result, stderr }, rank) => {
      assert.strictEqual(code, 0, `rank ${rank}: ${JSON.stringify(result)} ${stderr}`);
      assert.deepStrictEqual(result.keys, ['module.0.weight', 'module.0.bias']);
      assert.strictEqual(result.frozenMoved, false);
      // buckets of 0.0002 MiB (210 bytes), last layer first: [4.bias, 4.weight, 2.bias] [2.weight], each all-reduced
      // from inside backward
      assert.deepStrictEqual(result.syncs, Array(5).fill({ buckets: 2, overlapped: 2 }));
      for (const name of Object.keys(ref)) {
        const want = ref[name];
        const got = result[name];
        if (name.startsWith('0.')) assert.deepStrictEqual(got, want, `${name} (frozen) on rank ${rank}`);
        const scale = Math.max(1e-6, ...want.map(Math.abs));
        const err = Math.max(...got.map((v, i) => Math.abs(v - want[i]))) / scale;
        assert.ok(err < 1e-6, `${name} on rank ${rank}: relative error ${err}`);
      }
      // every rank holds the same weights, bit for bit
      assert.deepStrictEqual(result, { ...ranks[0].result, frozenMoved: result.frozenMoved });
    });
  });
}

test('DDP: gradients accumulated over two backwards before one sync, and a layer unfrozen mid-run, as one process', { skip: noGloo }, async () => {
  const [reference, ...ranks] = await Promise.all([runProcess(process.execPath, [RANK_SCRIPT, 'reference-unfreeze'], {}), ...(await runRanks('ddp-accumulate-unfreeze', 2))]);
  assert.strictEqual(reference.code, 0, reference.stderr);
  ranks.forEach(({ code, result, stderr }, rank) => {
    assert.strictEqual(code, 0, `rank ${rank}: ${JSON.stringify(result)} ${stderr}`);
    for (const [name, want] of Object.entries(reference.result)) {
      const scale = Math.max(1e-6, ...want.map(Math.abs));
      const err = Math.max(...result[name].map((v, i) => Math.abs(v - want[i]))) / scale;
      assert.ok(err < 1e-6, `${name} on rank ${rank}: relative error ${err}`);
    }
    // the unfrozen layer joins the buckets: [4.bias, 4.weight, 2.bias] [2.weight], then also [0.bias] [0.weight]
    assert.deepStrictEqual(result.syncs.map((s) => s.buckets), [2, 2, 4, 4, 4]);
  });
  assert.deepStrictEqual(ranks[1].result, ranks[0].result);
});

test('a feature cache built across 2 ranks (each computing half) trains under fit({ distributed: true }) as the uncached run', { skip: noGloo }, async () => {
  const plain = await Promise.all(await runRanks('fit', 2));
  const cached = await Promise.all(await runRanks('fit-cache', 2));
  cached.forEach(({ code, result, stderr }, rank) => {
    assert.strictEqual(code, 0, `rank ${rank}: ${JSON.stringify(result)} ${stderr}`);
    assert.strictEqual(result.builtRows, 16, 'each rank ran the frozen part over its half');
    assert.strictEqual(result.length, 32);
    assert.ok(result.featureError < 1e-6, `cached features differ from the frozen part's output by ${result.featureError}`);
    const want = plain[rank].result;
    for (const name of Object.keys(want).filter((k) => k !== 'logs' && k !== 'engine')) {
      const scale = Math.max(1e-6, ...want[name].map(Math.abs));
      const err = Math.max(...result[name].map((v, i) => Math.abs(v - want[name][i]))) / scale;
      assert.ok(err < 1e-5, `${name} on rank ${rank}: relative error ${err}`);
    }
    result.logs.forEach((l, e) => assert.ok(Math.abs(l.loss - want.logs[e].loss) < 1e-5, `epoch ${e} loss ${l.loss} vs ${want.logs[e].loss}`));
  });
});

test('a feature cache built across 3 ranks (32 rows: shares of 11, 11 and 10, padded for the gather) holds exactly the frozen part\'s outputs', { skip: noGloo }, async () => {
  const ranks = await Promise.all(await runRanks('fit-cache', 3));
  ranks.forEach(({ code, result, stderr }, rank) => {
    assert.strictEqual(code, 0, `rank ${rank}: ${JSON.stringify(result)} ${stderr}`);
    assert.strictEqual(result.builtRows, [11, 11, 10][rank]);
    assert.strictEqual(result.length, 32);
    assert.strictEqual(result.storedRows, 32, 'the padding row is trimmed');
    assert.ok(result.featureError < 1e-6, `rank ${rank}: cached features differ from the frozen part's output by ${result.featureError}`);
  });
});

test('a disk cache shared by 2 ranks: rank 0 builds the file, rank 1 opens it, and both train as uncached', { skip: noGloo }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-dist-cache-'));
  try {
    const plain = await Promise.all(await runRanks('fit', 2));
    const cached = await Promise.all(await runRanks('fit-cache', 2, { TG_CACHE_DIR: dir }));
    assert.deepStrictEqual(fs.readdirSync(dir), ['features.tgcache']);
    cached.forEach(({ code, result, stderr }, rank) => {
      assert.strictEqual(code, 0, `rank ${rank}: ${JSON.stringify(result)} ${stderr}`);
      assert.deepStrictEqual([result.builds, result.builtRows], rank === 0 ? [1, 32] : [0, 0]);
      assert.ok(result.featureError < 1e-6, `rank ${rank}: features differ by ${result.featureError}`);
      const want = plain[rank].result;
      for (const name of Object.keys(want).filter((k) => k !== 'logs' && k !== 'engine')) {
        const scale = Math.max(1e-6, ...want[name].map(Math.abs));
        const err = Math.max(...result[name].map((v, i) => Math.abs(v - want[name][i]))) / scale;
        assert.ok(err < 1e-5, `${name} on rank ${rank}: relative error ${err}`);
      }
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('fit({ distributed: true }): TensorBoard and ModelCheckpoint write on rank 0 only', { skip: noGloo }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-dist-callbacks-'));
  try {
    const ranks = await Promise.all(await runRanks('fit', 2, { TG_CALLBACK_DIR: dir }));
    ranks.forEach(({ code, result, stderr }, rank) => assert.strictEqual(code, 0, `rank ${rank}: ${JSON.stringify(result)} ${stderr}`));
    assert.strictEqual(fs.readdirSync(path.join(dir, 'tb', 'train')).filter((f) => f.includes('tfevents')).length, 1, 'one train event file');
    assert.deepStrictEqual(fs.readdirSync(path.join(dir, 'ckpt')).sort(), ['best.ckpt', 'epoch-0000.ckpt', 'epoch-0001.ckpt', 'latest.json']);
    const scalars = (await tg.train.readEventFile(path.join(dir, 'tb', 'train', fs.readdirSync(path.join(dir, 'tb', 'train'))[0])))
      .flatMap((e) => e.values.filter((v) => v.tag === 'epoch_loss').map((v) => v.value));
    // the logged epoch losses are the ones averaged over both ranks
    assert.deepStrictEqual(scalars, ranks[0].result.logs.map((l) => Math.fround(l.loss)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a rank killed mid-run makes the others fail with ERR_DISTRIBUTED within the timeout, never hang', { skip: noGloo }, async () => {
  const [r0, r1] = await runRanks('die', 2, { TG_TEST_TIMEOUT_MS: '8000' });
  assert.strictEqual(r1.signal, 'SIGKILL');
  assert.strictEqual(r0.code, 0, r0.stderr);
  assert.ok(r0.result.error, 'the surviving rank got an error');
  assert.match(r0.result.code, /^ERR_DISTRIBUTED/);
  assert.match(r0.result.error, /^distributed.allReduce on rank 0 of 2: /);
  assert.match(r0.result.error, /rank 1 has stopped responding \(no heartbeat for 1.5 s\)/);
  assert.ok(r0.result.ms < 15000, `failed after ${r0.result.ms} ms`);
});

test('rank 0 killed: the survivor says the rendezvous store\'s host is unreachable', { skip: noGloo }, async () => {
  const [r0, r1] = await runRanks('die', 2, { TG_TEST_TIMEOUT_MS: '8000', TG_DIE_RANK: '0' });
  assert.strictEqual(r0.signal, 'SIGKILL');
  assert.strictEqual(r1.code, 0, r1.stderr);
  assert.match(r1.result.code, /^ERR_DISTRIBUTED/);
  assert.match(r1.result.error, /^distributed.allReduce on rank 1 of 2: .*rank 0, which hosts the rendezvous store, is unreachable/s);
});

test('a rank that never arrives: init fails with ERR_DISTRIBUTED_TIMEOUT after timeoutMs', { skip: noGloo }, async () => {
  const port = await freePort();
  const started = Date.now();
  await assert.rejects(
    tg.distributed.init({ rank: 0, worldSize: 2, initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 1500 }),
    (e) => /^ERR_DISTRIBUTED/.test(e.code) && e instanceof tg.TorchError,
  );
  assert.ok(Date.now() - started < 20000);
  assert.strictEqual(tg.distributed.isInitialized(), false);
});

test('a Python torch.distributed rank and a torchgraft rank all-reduce in one Gloo group', { skip: noGloo || (!hasPyTorch() && 'needs /usr/bin/python3 with torch') }, async () => {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-dist-py-'));
  const script = path.join(dir, 'rank1.py');
  fs.writeFileSync(script, `
import sys, torch, torch.distributed as dist
dist.init_process_group('gloo', init_method='tcp://127.0.0.1:${port}', rank=1, world_size=2)
t = torch.tensor([10.0, 20.0])
dist.all_reduce(t)
b = torch.zeros(3, dtype=torch.float64)
dist.broadcast(b, 0)
print(t.tolist(), b.tolist())
dist.destroy_process_group()
`);
  // USE_LIBUV=0: Debian's PyTorch 2.6 is built without libuv but its TCPStore asks for it unless told not to
  const py = runProcess('/usr/bin/python3', [script], { GLOO_SOCKET_IFNAME: 'lo', USE_LIBUV: '0' });
  try {
    await tg.distributed.init({ rank: 0, worldSize: 2, initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 30000 });
    const t = tg.tensor([1, 2], { dtype: 'float32' });  // Python's tensor is float32: collectives need the same dtype
    await tg.distributed.allReduce(t);
    assert.deepStrictEqual(Array.from(t.dataSync()), [11, 22]);
    await tg.distributed.broadcast(tg.tensor([1.5, 2.5, 3.5], { dtype: 'float64' }), 0);
  } finally {
    tg.distributed.destroy();
  }
  const r = await py;
  assert.strictEqual(r.code, 0, r.stderr);
  assert.match(r.stdout, /\[11\.0, 22\.0\] \[1\.5, 2\.5, 3\.5\]/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('DistributedSampler gives each rank the indices of torch.utils.data.DistributedSampler, every epoch', { skip: !hasPyTorch() && 'needs /usr/bin/python3 with torch' }, () => {
  const cases = [[10, 3, true, false], [10, 3, true, true], [7, 4, false, false], [12, 4, true, false], [5, 2, true, true]];
  for (const [n, replicas, shuffle, dropLast] of cases) {
    const ds = new tg.data.TensorDataset(tg.arange(n));
    const ref = runTorch(`
from torch.utils.data import DistributedSampler
for r in range(${replicas}):
    s = DistributedSampler(list(range(${n})), num_replicas=${replicas}, rank=r, shuffle=${shuffle ? 'True' : 'False'}, seed=5, drop_last=${dropLast ? 'True' : 'False'})
    for e in range(3):
        s.set_epoch(e)
        OUT[f'r{r}e{e}'] = torch.tensor(list(iter(s)), dtype=torch.int64)`);
    for (let r = 0; r < replicas; r++) {
      const s = new tg.data.DistributedSampler(ds, { numReplicas: replicas, rank: r, shuffle, seed: 5, dropLast });
      for (let e = 0; e < 3; e++) {
        s.setEpoch(e);
        const want = Array.from(ref[`r${r}e${e}`].data, Number);
        assert.deepStrictEqual(s.indices(), want, `n ${n}, ${replicas} replicas, rank ${r}, epoch ${e}`);
        assert.strictEqual(s.length, want.length);
        const [x] = s.getBatch([0, want.length - 1]);
        assert.deepStrictEqual(Array.from(x.dataSync(), Number), [want[0], want[want.length - 1]]);
      }
    }
  }
});

test('bad input: options, ranks, addresses, use before init, twice, non-CPU or non-contiguous tensors', { skip: noGloo }, async () => {
  await assert.rejects(tg.distributed.init({ rank: 2, worldSize: 2 }), RangeError);
  await assert.rejects(tg.distributed.init({ worldSize: 0 }), RangeError);
  await assert.rejects(tg.distributed.init({ initMethod: 'udp://x:1', worldSize: 1 }), /tcp:\/\/host:port/);
  await assert.rejects(tg.distributed.init({ initMethod: 'tcp://127.0.0.1:70000', worldSize: 1 }), RangeError);
  await assert.rejects(tg.distributed.init({ backend: 'nccl', worldSize: 1 }), /backend must be 'gloo'/);
  await assert.rejects(tg.distributed.init({ wordSize: 2 }), /unknown option 'wordSize' \(did you mean 'worldSize'\?\)/);
  await assert.rejects(tg.distributed.allReduce(tg.tensor([1])), (e) => e.code === 'ERR_DISTRIBUTED' && /not initialised/.test(e.message));
  assert.throws(() => new tg.nn.parallel.DistributedDataParallel(new tg.nn.Linear(2, 2)), (e) => e.code === 'ERR_DISTRIBUTED');
  assert.strictEqual(tg.distributed.getRank(), 0);
  assert.strictEqual(tg.distributed.getWorldSize(), 1);
  const port = await freePort();
  await tg.distributed.init({ rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 5000 });
  try {
    await assert.rejects(tg.distributed.init({ worldSize: 1 }), /already initialised/);
    await assert.rejects(tg.distributed.allReduce(tg.randn([3, 4]).t()), /contiguous/);
    await assert.rejects(tg.distributed.allReduce(tg.tensor([1]), { op: 'mean' }), TypeError);
    await assert.rejects(tg.distributed.allReduce('x'), TypeError);
    await assert.rejects(tg.distributed.broadcast(tg.tensor([1]), 3), /root must be a rank/);
    await assert.rejects(tg.distributed.allGather([tg.zeros([2])], tg.zeros([3])), /shape and dtype/);
    await assert.rejects(tg.distributed.allGather([], tg.zeros([3])), /expected 1 output/);
    await assert.rejects(tg.distributed.allReduce(tg.tensor([4]), { op: 'avg' }), /'avg' needs a floating-point tensor, got int64/);
    const one = tg.tensor([4], { dtype: 'float32' });
    await tg.distributed.allReduce(one, { op: 'avg' });
    assert.strictEqual(one.item(), 4);
    const ddp = new tg.nn.parallel.DistributedDataParallel(new tg.nn.Linear(2, 2));
    await ddp.ready;
    await assert.rejects(ddp.syncGradients(), (e) => e.code === 'ERR_DISTRIBUTED' && /got no gradient/.test(e.message));
    assert.throws(() => new tg.nn.parallel.DistributedDataParallel(new tg.nn.Linear(2, 2), { bucketCap: 1 }), /unknown option 'bucketCap' \(did you mean 'bucketCapMb'\?\)/);
    assert.throws(() => new tg.data.DistributedSampler(new tg.data.TensorDataset(tg.arange(4)), { rank: 3, numReplicas: 2 }), RangeError);
  } finally {
    tg.distributed.destroy();
  }
  assert.strictEqual(tg.distributed.isInitialized(), false);
});

const CLI = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
const LAUNCHED = path.join(__dirname, 'fixtures', 'dist-launched.js');

test('torchgraft run starts N ranks with torchrun\'s variables and passes the script its arguments', { skip: noGloo }, async () => {
  const r = await runProcess(process.execPath, [CLI, 'run', '--nproc-per-node', '3', LAUNCHED, 'a', '--b'], {});
  assert.strictEqual(r.code, 0, r.stderr + r.stdout);
  for (let rank = 0; rank < 3; rank++) assert.match(r.stdout, new RegExp(`rank ${rank}/3 local ${rank} sum 3 args a,--b`));
});

test('torchgraft run: a failing rank stops the others and the launcher exits with its code; bad options exit 2', { skip: noGloo }, async () => {
  const started = Date.now();
  const r = await runProcess(process.execPath, [CLI, 'run', '--nproc-per-node=2', LAUNCHED], { FAIL_RANK: '1', TG_TEST_TIMEOUT_MS: '60000' });
  assert.strictEqual(r.code, 3, r.stderr + r.stdout);
  assert.match(r.stderr, /rank 1 exited with code 3; stopping the other ranks/);
  assert.ok(Date.now() - started < 30000, 'rank 0 was stopped, not left waiting for its timeout');
  for (const args of [['run'], ['run', '--nproc-per-node', '0', LAUNCHED], ['run', '--nproc', '2', LAUNCHED], ['run', '--master-port', 'x', LAUNCHED]]) {
    const bad = await runProcess(process.execPath, [CLI, ...args], {});
    assert.strictEqual(bad.code, 2, args.join(' '));
    assert.match(bad.stderr, /torchgraft run: /);
  }
});

for (const world of [2, 4]) {
  test(`fit({ distributed: true }) on ${world} ranks: the weights and epoch losses of one process on the same global batches`, { skip: noGloo }, async () => {
    const [reference, ...ranks] = await Promise.all([
      runProcess(process.execPath, [RANK_SCRIPT, 'fit-reference'], { WORLD_SIZE: String(world) }),
      ...(await runRanks('fit', world)),
    ]);
    assert.strictEqual(reference.code, 0, reference.stderr + reference.stdout);
    const ref = reference.result;
    ranks.forEach(({ code, result, stderr }, rank) => {
      assert.strictEqual(code, 0, `rank ${rank}: ${JSON.stringify(result)} ${stderr}`);
      assert.strictEqual(result.engine, 'js');
      for (const name of Object.keys(ref).filter((k) => k !== 'logs')) {
        const want = ref[name];
        const scale = Math.max(1e-6, ...want.map(Math.abs));
        const err = Math.max(...result[name].map((v, i) => Math.abs(v - want[i]))) / scale;
        assert.ok(err < 1e-5, `${name} on rank ${rank}: relative error ${err}`);
      }
      // the epoch loss is the mean over every rank's examples, the same on every rank
      result.logs.forEach((l, e) => assert.ok(Math.abs(l.loss - ref.logs[e].loss) < 1e-5, `epoch ${e} loss ${l.loss} vs ${ref.logs[e].loss}`));
      assert.deepStrictEqual(result.logs, ranks[0].result.logs);
    });
  });
}

test('fit({ distributed: true }) and a distributed cache before init, with the native engine, or on data it cannot shard: clear errors', { skip: noGloo }, async () => {
  const net = new tg.nn.Linear(2, 2);
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const data = [tg.randn([8, 2]), tg.randint(0, 2, [8])];
  await assert.rejects(tg.fit(net, data, { distributed: true, optimizer: opt, loss: 'crossEntropy', verbose: 0 }), (e) => e.code === 'ERR_DISTRIBUTED');
  const frozen = new tg.nn.Sequential([new tg.nn.Linear(2, 2), new tg.nn.Linear(2, 2)]);
  frozen.freeze('0');
  await assert.rejects(tg.transfer.cacheFeatures(frozen, data, { distributed: true, verbose: 0 }), (e) => e.code === 'ERR_DISTRIBUTED' && /init\(\) first/.test(e.message));
  await assert.rejects(tg.transfer.cacheFeatures(frozen, data, { distributed: 'yes', verbose: 0 }), TypeError);
  const port = await freePort();
  await tg.distributed.init({ rank: 0, worldSize: 1, initMethod: `tcp://127.0.0.1:${port}`, timeoutMs: 5000 });
  try {
    await assert.rejects(tg.fit(net, data, { distributed: true, engine: 'native', optimizer: opt, loss: 'crossEntropy', verbose: 0 }), (e) => e.code === 'ERR_NATIVE_ENGINE');
    await assert.rejects(tg.fit(net, [[data[0], data[1]]], { distributed: true, optimizer: opt, loss: 'crossEntropy', verbose: 0 }), /shards a dataset or tensors/);
    const h = await tg.fit(net, data, { distributed: true, epochs: 1, batchSize: 4, optimizer: opt, loss: 'crossEntropy', verbose: 0 });
    assert.strictEqual(h.length, 1);
    assert.ok(Number.isFinite(h.last().loss));
  } finally {
    tg.distributed.destroy();
  }
});
