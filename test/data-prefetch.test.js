// Read-ahead for streams: tg.data's prefetch queue and a DataLoader's prefetch option over an IterableDataset
// (order, the bound, pulling while the consumer works, errors in place, early stops closing the source and disposing
// what was read ahead, fit with the same weights, an abort ending the stream, bad option values).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { prefetch } = require('../dist/data/prefetch.js');
const { settleTensors } = require('./helpers/settle.js');

const { DataLoader } = tg.data;
const turn = () => new Promise((r) => setImmediate(r));
const turns = async (k) => {
  for (let i = 0; i < k; i++) await turn();
};

// A source of the numbers 0..n-1 that counts next() and return() calls and, at each next(), how far it runs ahead of
// what the consumer has taken (stats.taken, which the consumer raises); each item comes a turn later, as I/O would.
function counted(n, stats) {
  Object.assign(stats, { pulled: 0, returned: 0, maxLead: 0, taken: 0 });
  return {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        async next() {
          // the pulled item's index minus the items the consumer took: the item being handed over is not yet counted
          stats.maxLead = Math.max(stats.maxLead, i - stats.taken);
          stats.pulled++;
          await turn();
          return i < n ? { value: i++, done: false } : { value: undefined, done: true };
        },
        async return() {
          stats.returned++;
          return { value: undefined, done: true };
        },
      };
    },
  };
}

// A batched stream of `n` batches [x, y] made fresh on every pass (y = the batch's index), counting what it yields.
function batches(n, stats = {}) {
  Object.assign(stats, { pulled: 0, closed: 0, made: [] });
  return tg.data.fromAsyncIterable(
    async function* () {
      try {
        for (let i = 0; i < n; i++) {
          stats.pulled++;
          await turn();
          const b = [tg.tensor([[i, 1 - i], [2 * i, i / 2]], { dtype: 'float32' }), tg.tensor([i % 2, (i + 1) % 2])];
          stats.made.push(b);
          yield b;
        }
      } finally {
        stats.closed++;
      }
    },
    { batched: true, length: n },
  );
}

// A deferred promise the test settles.
function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

// A source whose i-th next() returns the i-th deferred: the test decides when each item arrives.
function controlled() {
  const pending = [];
  const src = {
    calls: 0,
    returned: 0,
    item(i) {
      while (pending.length <= i) pending.push(deferred());
      return pending[i];
    },
    [Symbol.asyncIterator]() {
      return {
        next: () => src.item(src.calls++).promise,
        return: async () => {
          src.returned++;
          return { value: undefined, done: true };
        },
      };
    },
  };
  return src;
}

test('prefetch: items come in the source order, whatever the bound and the consumer\'s pace', async () => {
  for (const ahead of [1, 2, 3, 7, 50]) {
    const stats = {};
    const got = [];
    for await (const v of prefetch(counted(20, stats), ahead)) {
      got.push(v);
      stats.taken++;
      if (v % 3 === 0) await turns(2);
    }
    assert.deepStrictEqual(got, Array.from({ length: 20 }, (_, i) => i), `ahead ${ahead}`);
    assert.strictEqual(stats.returned, 0, 'a source read to its end is not closed again');
  }
  const sync = [];
  for await (const v of prefetch(['a', 'b', 'c'], 2)) sync.push(v);
  assert.deepStrictEqual(sync, ['a', 'b', 'c'], 'a sync iterable too');
});

test('prefetch: never more than `ahead` items pulled beyond what the consumer took, and the bound is reached', async () => {
  for (const ahead of [1, 2, 3]) {
    const stats = {};
    for await (const v of prefetch(counted(12, stats), ahead)) {
      stats.taken++;
      assert.ok(stats.pulled - stats.taken <= ahead, `ahead ${ahead}, item ${v}: ${stats.pulled} pulled, ${stats.taken} taken`);
      await turns(4); // the consumer is slow: the source could run far ahead if nothing bounded it
      assert.ok(stats.pulled - stats.taken <= ahead, `ahead ${ahead}, item ${v} after waiting: ${stats.pulled} pulled, ${stats.taken} taken`);
    }
    assert.strictEqual(stats.maxLead, ahead, `ahead ${ahead}: the pulls run exactly that far ahead`);
    assert.strictEqual(stats.pulled, 13, 'each item once, and the end');
  }
});

test('prefetch: the source is pulled while the consumer still holds the last item (no timing: deferreds)', async () => {
  const src = controlled();
  const it = prefetch(src, 2)[Symbol.asyncIterator]();
  const first = it.next();
  assert.strictEqual(src.calls, 1);
  src.item(0).resolve({ value: 'a', done: false });
  assert.deepStrictEqual(await first, { value: 'a', done: false });
  assert.strictEqual(src.calls, 2, 'item 1 was asked for before the consumer asked');
  src.item(1).resolve({ value: 'b', done: false });
  await turns(2);
  assert.strictEqual(src.calls, 3, 'and item 2, up to the bound of 2');
  src.item(2).resolve({ value: 'c', done: false });
  await turns(2);
  assert.strictEqual(src.calls, 3, 'but not item 3: two are waiting');
  assert.deepStrictEqual(await it.next(), { value: 'b', done: false });
  assert.strictEqual(src.calls, 4, 'a slot freed: item 3 asked for at once');
  const stop = it.return();
  src.item(3).resolve({ value: 'd', done: false });
  await stop;
  assert.strictEqual(src.returned, 1);
});

test('DataLoader over a stream: read-ahead only with the prefetch option, then pulled while the consumer holds a batch', async () => {
  const run = async (options) => {
    const src = controlled();
    const ds = new (class extends tg.data.IterableDataset {
      batched = true;
      [Symbol.asyncIterator]() {
        return src[Symbol.asyncIterator]();
      }
    })();
    const loader = new DataLoader(ds, options);
    const it = loader[Symbol.asyncIterator]();
    const first = it.next();
    await turn();
    src.item(0).resolve({ value: [tg.tensor([1])], done: false });
    const b = (await first).value;
    tg.dispose(b);
    await turns(2);
    const calls = src.calls;
    const stop = it.return();
    src.item(1).resolve({ value: undefined, done: true });
    await stop;
    return { calls, prefetch: loader.prefetch };
  };
  assert.deepStrictEqual(await run({}), { calls: 1, prefetch: 0 }, 'default: a stream is read when asked');
  assert.deepStrictEqual(await run({ prefetch: 1 }), { calls: 2, prefetch: 1 }, 'prefetch 1: the next batch is on its way');
  const ds = new tg.data.TensorDataset(tg.zeros([2, 1]));
  assert.strictEqual(new DataLoader(ds).prefetch, 2, 'datasets with workers keep their default');
  ds.tensors.forEach((t) => t.dispose());
});

test('DataLoader over a stream of examples: the same batches with and without prefetch, pass after pass', async () => {
  const stream = tg.data.fromAsyncIterable(async function* () {
    for (let i = 0; i < 11; i++) {
      await turn();
      yield [tg.tensor([i, -i], { dtype: 'float32' }), i];
    }
  });
  await settleTensors();
  const before = tg.memory().tensors;
  const read = async (options) => {
    const out = [];
    for await (const [x, y] of new DataLoader(stream, { batchSize: 3, ...options })) {
      out.push([x.toArray(), y.toArray()]);
      tg.dispose([x, y]);
    }
    return out;
  };
  const plain = await read({});
  assert.strictEqual(plain.length, 4);
  for (const prefetchN of [1, 2, 5]) {
    assert.deepStrictEqual(await read({ prefetch: prefetchN }), plain, `prefetch ${prefetchN}`);
    assert.deepStrictEqual(await read({ prefetch: prefetchN, dropLast: true }), plain.slice(0, 3), `prefetch ${prefetchN}, dropLast`);
  }
  assert.strictEqual(tg.memory().tensors, before);
});

test('prefetch: an error of the source at item k reaches the consumer after the k-1 good items, even when read ahead', async () => {
  const boom = new Error('disk read failed');
  let pulled = 0;
  const source = async function* () {
    for (let i = 0; i < 4; i++) {
      pulled++;
      await turn();
      yield i;
    }
    pulled++;
    throw boom;
  };
  const got = [];
  await assert.rejects(async () => {
    for await (const v of prefetch(source(), 8)) {
      if (v === 0) {
        await turns(12);
        assert.strictEqual(pulled, 5, 'the failing pull already happened while the consumer held item 0');
      }
      got.push(v);
    }
  }, (e) => e === boom);
  assert.deepStrictEqual(got, [0, 1, 2, 3], 'every good item first, in order');

  const parse = new Error('bad line 7');
  const stream = tg.data.fromAsyncIterable(async function* () {
    for (let i = 0; i < 7; i++) yield [tg.tensor([i], { dtype: 'float32' }), i];
    throw parse;
  });
  const ys = [];
  await assert.rejects(async () => {
    for await (const [x, y] of new DataLoader(stream, { batchSize: 2, prefetch: 3 })) {
      ys.push(...y.toArray());
      tg.dispose([x, y]);
    }
  }, (e) => e === parse);
  assert.deepStrictEqual(ys, [0, 1, 2, 3, 4, 5], 'the whole batches before the error; its partial batch is dropped');
});

test('an early stop closes the source and disposes the batches read ahead (break, throw, a pull in flight)', async () => {
  await settleTensors();
  const before = tg.memory().tensors;
  const stats = {};
  for await (const b of new DataLoader(batches(10, stats), { prefetch: 3 })) {
    await turns(8); // let the read-ahead fill
    assert.strictEqual(stats.pulled, 4, 'one taken, three ahead');
    tg.dispose(b);
    break;
  }
  assert.strictEqual(stats.closed, 1, "the stream's finally ran");
  assert.strictEqual(stats.made.length, 4);
  assert.ok(stats.made.slice(1).flat().every((t) => t.isDisposed), 'the three batches read ahead are disposed');
  assert.strictEqual(tg.memory().tensors, before);

  await assert.rejects(async () => {
    for await (const b of new DataLoader(batches(10, stats), { prefetch: 2 })) {
      tg.dispose(b);
      await turns(6);
      throw new RangeError('the step failed');
    }
  }, RangeError);
  assert.strictEqual(stats.closed, 1);
  assert.strictEqual(stats.made.length, 3);
  assert.strictEqual(tg.memory().tensors, before, 'a throw in the loop releases them too');

  const src = controlled();
  const it = prefetch(src, 2)[Symbol.asyncIterator]();
  const first = it.next();
  src.item(0).resolve({ value: [tg.ones([2])], done: false });
  tg.dispose((await first).value);
  assert.strictEqual(src.calls, 2, 'item 1 in flight');
  const stop = it.return();
  await turns(2);
  assert.strictEqual(src.returned, 0, 'return() waits for the pull in flight (a source is never asked two things at once)');
  const late = tg.ones([3]);
  src.item(1).resolve({ value: [late], done: false });
  await stop;
  assert.strictEqual(src.returned, 1);
  assert.strictEqual(src.calls, 2, 'nothing pulled after the stop');
  assert.ok(late.isDisposed, 'the item that arrived after the stop is disposed');
  assert.strictEqual(tg.memory().tensors, before);
});

test('fit on a stream: the same weights bitwise with prefetch as without, and the stream really read ahead', async () => {
  const train = async (options) => {
    tg.manualSeed(5);
    const net = new tg.nn.Sequential([new tg.nn.Linear(2, 8), new tg.nn.Tanh(), new tg.nn.Linear(8, 2)]);
    const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1, momentum: 0.9 });
    let ended = 0;
    let maxLead = 0;
    const stream = tg.data.fromAsyncIterable(
      async function* () {
        for (let i = 0; i < 12; i++) {
          maxLead = Math.max(maxLead, i - ended);
          await turn();
          yield [tg.tensor([[i / 7, 1 - i / 5], [Math.sin(i), Math.cos(i)], [i % 3, -1]], { dtype: 'float32' }), tg.tensor([i % 2, (i >> 1) % 2, 1])];
        }
      },
      { batched: true, length: 12 },
    );
    const onBatchEnd = () => void ended++;
    await tg.fit(net, new DataLoader(stream, options), { verbose: 0, epochs: 3, optimizer: opt, loss: 'crossEntropy', engine: 'js', callbacks: [{ onBatchEnd, onEpochBegin: () => void (ended = 0) }] });
    const weights = net.parameters().map((p) => p.toArray());
    opt.dispose?.();
    net.dispose();
    return { weights, maxLead };
  };
  await settleTensors();
  const before = tg.memory().tensors;
  const plain = await train({});
  assert.strictEqual(plain.maxLead, 0, 'without prefetch each batch is read when fit asks');
  for (const n of [1, 3]) {
    const ahead = await train({ prefetch: n });
    // how far depends on when fit lets the event loop turn; at least one batch, at most the bound
    assert.ok(ahead.maxLead >= 1 && ahead.maxLead <= n, `prefetch ${n}: batches read ahead of training (${ahead.maxLead})`);
    assert.deepStrictEqual(ahead.weights, plain.weights, `prefetch ${n}: the same weights`);
  }
  await settleTensors();
  assert.strictEqual(tg.memory().tensors, before);
});

test("fit's abort signal ends a prefetched stream at once: closed, nothing pulled after, the batches ahead disposed", async () => {
  await settleTensors();
  const before = tg.memory().tensors;
  const N = 2;
  const stats = {};
  const ac = new AbortController();
  let trained = 0;
  const net = new tg.nn.Linear(2, 2);
  const opt = new tg.optim.SGD(net.parameters(), { lr: 0.1 });
  const onBatchEnd = (batch) => {
    trained = batch + 1;
    if (batch === 2) ac.abort();
  };
  const h = await tg.fit(net, new DataLoader(batches(50, stats), { prefetch: N }), { verbose: 0, epochs: 2, optimizer: opt, loss: 'crossEntropy', signal: ac.signal, callbacks: [{ onBatchEnd }] });
  assert.deepStrictEqual(h.stopped, { epoch: 0, reason: 'aborted' });
  assert.strictEqual(trained, 3);
  assert.strictEqual(stats.closed, 1, 'the stream was closed before fit resolved');
  assert.ok(stats.pulled > trained, `read ahead (${stats.pulled} pulled, ${trained} trained)`);
  assert.ok(stats.pulled <= trained + N, `no more than the bound ahead (${stats.pulled} pulled, ${trained} trained)`);
  const pulled = stats.pulled;
  await turns(6);
  assert.strictEqual(stats.pulled, pulled, 'nothing pulled after fit ended');
  assert.ok(stats.made.slice(trained).flat().every((t) => t.isDisposed), 'batches read ahead and never trained on are disposed');
  net.dispose();
  await settleTensors();
  assert.strictEqual(tg.memory().tensors, before);
});

test('prefetch: a release option for what was read ahead; a source breaking the iterator protocol is a TypeError in place', async () => {
  const stats = {};
  const released = [];
  for await (const v of prefetch(counted(10, stats), 3, { release: (x) => released.push(x) })) {
    await turns(6);
    assert.strictEqual(v, 0);
    break;
  }
  assert.deepStrictEqual(released, [1, 2, 3], 'the items read ahead, in order');
  assert.strictEqual(stats.returned, 1);

  const failing = new RangeError('cannot release');
  await assert.rejects(async () => {
    for await (const v of prefetch(counted(10, stats), 2, { release: () => { throw failing; } })) {
      await turns(4);
      assert.strictEqual(v, 0);
      break;
    }
  }, (e) => e === failing);
  assert.strictEqual(stats.returned, 1, 'the source is closed even so');

  let k = 0;
  const broken = { [Symbol.asyncIterator]: () => ({ next: async () => (k++ < 2 ? { value: k, done: false } : 42) }) };
  const got = [];
  await assert.rejects(async () => {
    for await (const v of prefetch(broken, 4)) got.push(v);
  }, (e) => e instanceof TypeError && /source's next\(\) gave number, not an iterator result/.test(e.message));
  assert.deepStrictEqual(got, [1, 2]);
});

test('bad prefetch values are RangeErrors or TypeErrors naming the option', () => {
  const stream = tg.data.fromAsyncIterable(async function* () {});
  for (const v of [0, -1, 1.5, Infinity, NaN]) {
    assert.throws(() => new DataLoader(stream, { prefetch: v }), (e) => e instanceof RangeError && /DataLoader: prefetch must be a positive integer, got/.test(e.message), String(v));
    assert.throws(() => prefetch([], v), (e) => e instanceof RangeError && /prefetch: ahead must be a positive integer/.test(e.message), String(v));
  }
  for (const v of ['x', '2', null, true, {}]) {
    assert.throws(() => new DataLoader(stream, { prefetch: v }), (e) => e instanceof TypeError && /DataLoader: prefetch must be a positive integer/.test(e.message), String(v));
    assert.throws(() => prefetch([], v), (e) => e instanceof TypeError && /ahead must be a positive integer/.test(e.message), String(v));
  }
  assert.throws(() => new DataLoader(stream, { prefetch: 'x' }), /got 'x'/);
  assert.throws(() => prefetch(5, 2), (e) => e instanceof TypeError && /expected an async iterable or an iterable, got number/.test(e.message));
  assert.throws(() => prefetch([], 2, { release: 3 }), (e) => e instanceof TypeError && /release must be a function/.test(e.message));
  assert.throws(() => prefetch([], 2, null), (e) => e instanceof TypeError && /options must be an object/.test(e.message));
});
