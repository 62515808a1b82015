'use strict';
// Block-shuffled orders (lib/data/block-shuffle.ts) and the DataLoader hook that lets a dataset choose its own
// shuffled order: exact coverage, windows drawn from their own blocks only, seeded reproducibility.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { blockShuffledOrder } = require('../dist/data/block-shuffle');

const G = (...s) => new tg.data.Generator(...s);

test('every row appears exactly once, for many lengths, block sizes and buffers (short last block, buffer > blocks)', () => {
  for (const length of [0, 1, 7, 64, 100, 257, 1000])
    for (const blockRows of [1, 3, 16, 64, 2000])
      for (const bufferBlocks of [1, 2, 5, 1000]) {
        const o = blockShuffledOrder(length, blockRows, bufferBlocks, G(length, blockRows, bufferBlocks));
        assert.strictEqual(o.length, length);
        const seen = new Uint8Array(length);
        for (const r of o) {
          assert.ok(Number.isInteger(r) && r >= 0 && r < length, `row ${r}`);
          seen[r]++;
        }
        assert.ok(seen.every((c) => c === 1), `length ${length}, blockRows ${blockRows}, bufferBlocks ${bufferBlocks}`);
      }
});

test("each window's rows come from its own bufferBlocks blocks (the generator's block permutation, in windows)", () => {
  const length = 1000;
  const blockRows = 30; // 34 blocks, the last one 10 rows
  const bufferBlocks = 4;
  const o = blockShuffledOrder(length, blockRows, bufferBlocks, G(9));
  const blocks = G(9).permutation(Math.ceil(length / blockRows)); // the first draws: the blocks' order
  let at = 0;
  for (let w = 0; w < blocks.length; w += bufferBlocks) {
    const want = blocks.slice(w, w + bufferBlocks).flatMap((b) => Array.from({ length: Math.min(length, (b + 1) * blockRows) - b * blockRows }, (_, k) => b * blockRows + k));
    const got = o.slice(at, at + want.length);
    assert.deepStrictEqual([...got].sort((x, y) => x - y), [...want].sort((x, y) => x - y), `window ${w / bufferBlocks}`);
    if (want.length > 2) assert.notDeepStrictEqual(got, want, 'rows are mixed within the window');
    at += want.length;
  }
  assert.strictEqual(at, length);
});

test('the same generator state gives the same order; another seed or epoch another one', () => {
  const a = blockShuffledOrder(500, 16, 3, G(1, 0));
  assert.deepStrictEqual(blockShuffledOrder(500, 16, 3, G(1, 0)), a);
  assert.notDeepStrictEqual(blockShuffledOrder(500, 16, 3, G(1, 1)), a);
  assert.notDeepStrictEqual(blockShuffledOrder(500, 16, 3, G(2, 0)), a);
  // the block order itself changes too, not only the rows within windows
  const firstBlocks = (o) => new Set(o.slice(0, 48).map((r) => Math.floor(r / 16)));
  assert.notDeepStrictEqual(firstBlocks(blockShuffledOrder(500, 16, 3, G(1, 1))), firstBlocks(a));
});

test('bad arguments are clear errors', () => {
  assert.throws(() => blockShuffledOrder(-1, 4, 2, G(1)), RangeError);
  assert.throws(() => blockShuffledOrder(10, 0, 2, G(1)), /blockRows/);
  assert.throws(() => blockShuffledOrder(10, 4, 1.5, G(1)), /bufferBlocks/);
  assert.throws(() => blockShuffledOrder(10, 4, 2, {}), TypeError);
});

test("a shuffling DataLoader takes a dataset's own shuffledOrder from the seeded generator; without shuffle, file order", () => {
  const calls = [];
  const ds = {
    length: 40,
    getItem: (i) => [tg.tensor([i])],
    shuffledOrder(g) {
      calls.push(g);
      return blockShuffledOrder(40, 8, 2, g);
    },
  };
  const loader = new tg.data.DataLoader(ds, { batchSize: 10, shuffle: true, seed: 5 });
  assert.deepStrictEqual(loader.order(3), blockShuffledOrder(40, 8, 2, G(5, 3)));
  assert.ok(calls[0] instanceof tg.data.Generator);
  assert.deepStrictEqual(new tg.data.DataLoader(ds, { batchSize: 10 }).order(0), Array.from({ length: 40 }, (_, i) => i));
  assert.strictEqual(calls.length, 1, 'an unshuffled loader does not ask');
  // a plain dataset keeps the uniform permutation
  const plain = { length: 40, getItem: ds.getItem };
  assert.deepStrictEqual(new tg.data.DataLoader(plain, { shuffle: true, seed: 5 }).order(3), G(5, 3).permutation(40));
});
