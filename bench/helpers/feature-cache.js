'use strict';
// What the feature-cache benchmarks share: options, timed tg.fit epochs, and the floor (the head alone trained with a
// bare loop on features already in memory, on the same shuffled batches).

/** The value after `name` in argv, as a number when `def` is one; `def` when absent. */
function option(args, name, def) {
  if (!args.includes(name)) return def;
  const raw = args[args.indexOf(name) + 1];
  if (typeof def !== 'number') return raw;
  const v = Number(raw);
  return Number.isFinite(v) && v > 0 ? v : def;
}

/** Seconds per epoch of tg.fit with SGD(momentum 0.9) on the trainable parameters, `cache` optional. */
async function fitEpochTimes(tg, net, ds, { epochs, batch, seed, cache }) {
  const optimizer = new tg.optim.SGD(net.trainableParameters(), { lr: 0.01, momentum: 0.9 });
  const h = await tg.fit(net, ds, { epochs, batchSize: batch, seed, optimizer, loss: 'crossEntropy', cache, verbose: 0 });
  return h.epochs.map((e) => e.time);
}

/** The floor: best epoch of the head alone on in-memory features, the batches tg.fit's `seed` gives. */
function floorEpoch(tg, head, feats, labels, { epochs, batch, seed }) {
  const n = feats.shape[0];
  const optimizer = new tg.optim.SGD(head.parameters(), { lr: 0.01, momentum: 0.9 });
  let best = Infinity;
  for (let e = 0; e < epochs; e++) {
    const order = new tg.data.Generator(seed, e).permutation(n);
    const t0 = performance.now();
    for (let s = 0; s < n; s += batch) {
      tg.tidy(() => {
        const idx = tg.tensor(Int32Array.from(order.slice(s, s + batch)), { dtype: 'int64' });
        const x = feats.indexSelect(0, idx);
        const y = labels.indexSelect(0, idx);
        optimizer.zeroGrad();
        const loss = tg.nn.functional.crossEntropy(head.forward(x), y);
        loss.backward();
        optimizer.step();
      });
    }
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

/** Runs a benchmark's async main, exiting 1 with the error on failure. */
function main(fn) {
  fn().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

module.exports = { option, fitEpochTimes, floorEpoch, main };
