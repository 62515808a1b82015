// Golden-test helper for image transforms: whether Python has torchvision (skip reason when not), its version, and
// the largest absolute difference between a torchgraft tensor and a Python result.
'use strict';
const { execFileSync } = require('node:child_process');
const { PYTHON } = require('./torch');

let probed;
function probe() {
  if (probed === undefined) {
    try {
      probed = execFileSync(PYTHON, ['-c', 'import torch, torchvision; print(torchvision.__version__)'], { stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim();
    } catch {
      probed = null;
    }
  }
  return probed;
}

/** torchvision's version in Python ('0.14.1'), or null without it. */
function torchvisionVersion() {
  return probe();
}

/** The `skip` option of node:test: false with torchvision, else the reason. */
function torchvisionSkip() {
  return probe() ? false : `Python torchvision (${PYTHON}) is not available`;
}

/** max |actual - expected| over all elements; Infinity for a shape mismatch. */
function maxAbsDiff(actual, expected) {
  if (JSON.stringify(actual.shape) !== JSON.stringify(expected.shape)) return Infinity;
  const a = actual.detach().to({ device: 'cpu', dtype: 'float64' });
  const got = a.dataSync();
  a.dispose();
  let m = 0;
  for (let i = 0; i < got.length; i++) m = Math.max(m, Math.abs(got[i] - Number(expected.data[i])));
  return m;
}

module.exports = { torchvisionVersion, torchvisionSkip, maxAbsDiff };
