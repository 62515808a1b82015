// Helpers for module golden tests: turn runTorch outputs into torchgraft tensors and state dicts.
'use strict';
const tg = require('../..');

/** A runTorch output entry as a torchgraft tensor (float32 unless it came back as integers). */
function fromPy(entry, dtype) {
  if (entry.data instanceof BigInt64Array) return tg.tensor(entry.data, { shape: entry.shape, dtype: dtype ?? 'int64' });
  return tg.tensor(entry.data, { shape: entry.shape, dtype: dtype ?? 'float32' });
}

/** Every output named `${prefix}name` as a state dict { name: tensor }, in Python's order. */
function stateDictFromPy(out, prefix) {
  const sd = {};
  for (const [k, v] of Object.entries(out)) if (k.startsWith(prefix)) sd[k.slice(prefix.length)] = fromPy(v);
  return sd;
}

/** A module's state dict as runTorch inputs named `${prefix}name`. */
function stateDictToPy(module, prefix, into = {}) {
  for (const [k, v] of Object.entries(module.stateDict())) into[prefix + k] = v.clone();
  return into;
}

/** Fills every floating parameter and buffer with random values (variances positive) so golden tests are not trivial. */
function randomize(module) {
  tg.noGrad(() => {
    for (const [, p] of module.namedParameters()) p.uniform_(-1, 1);
    for (const [n, b] of module.namedBuffers()) {
      if (b.dtype === 'int64') continue;
      if (n.endsWith('running_var')) b.uniform_(0.5, 1.5);
      else b.uniform_(-0.5, 0.5);
    }
  });
  return module;
}

module.exports = { fromPy, stateDictFromPy, stateDictToPy, randomize };
