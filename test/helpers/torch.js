// Golden-test helper: runs /usr/bin/python3 PyTorch on the same inputs and brings its tensors back.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('../..');

const PYTHON = process.env.TORCHGRAFT_PYTHON || '/usr/bin/python3';

/** Whether Python PyTorch is available for golden tests. */
function hasPyTorch() {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// Tensors travel as raw little-endian float64/int64 buffers plus a JSON header: exact, no text rounding.
function writeTensors(dir, tensors) {
  const header = {};
  for (const [name, t] of Object.entries(tensors)) {
    const isInt = ['int64', 'int32', 'int16', 'int8', 'uint8'].includes(t.dtype);
    const isBool = t.dtype === 'bool';
    const host = t.detach().to({ device: 'cpu', dtype: isInt ? 'int64' : isBool ? 'uint8' : 'float64' });
    const data = host.dataSync();
    host.dispose();
    fs.writeFileSync(path.join(dir, `${name}.bin`), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    header[name] = { shape: t.shape, dtype: t.dtype, requiresGrad: t.requiresGrad };
  }
  fs.writeFileSync(path.join(dir, 'inputs.json'), JSON.stringify(header));
}

const PRELUDE = `
import json, os, sys, numpy as np, torch
torch.set_printoptions(precision=10)
_dir = sys.argv[1]
_types = {'float32': torch.float32, 'float64': torch.float64, 'float16': torch.float16, 'bfloat16': torch.bfloat16,
          'int64': torch.int64, 'int32': torch.int32, 'int16': torch.int16, 'int8': torch.int8, 'uint8': torch.uint8, 'bool': torch.bool}
_hdr = json.load(open(os.path.join(_dir, 'inputs.json')))
T = {}
for _n, _h in _hdr.items():
    _isint = _h['dtype'] in ('int64', 'int32', 'int16', 'int8', 'uint8')
    _raw = np.fromfile(os.path.join(_dir, _n + '.bin'), dtype=np.int64 if _isint else (np.uint8 if _h['dtype'] == 'bool' else np.float64))
    _t = torch.from_numpy(_raw.copy()).reshape(_h['shape']).to(_types[_h['dtype']])
    if _h['requiresGrad']: _t.requires_grad_(True)
    T[_n] = _t
OUT = {}
def _save():
    meta = {}
    for n, t in OUT.items():
        t = torch.as_tensor(t).detach().cpu()
        isint = not (t.is_floating_point() or t.dtype == torch.bool)
        arr = t.to(torch.int64 if isint else (torch.uint8 if t.dtype == torch.bool else torch.float64)).contiguous().numpy()
        arr.tofile(os.path.join(_dir, 'out_' + n + '.bin'))
        meta[n] = {'shape': list(t.shape), 'int': isint, 'bool': t.dtype == torch.bool}
    json.dump(meta, open(os.path.join(_dir, 'outputs.json'), 'w'))
`;

/**
 * Runs `code` in Python with `T` (a dict of the given tensors as torch tensors) and collects `OUT[name] = tensor`.
 * Returns { name: { shape, data: Float64Array | BigInt64Array } }.
 */
function runTorch(code, tensors = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-golden-'));
  try {
    writeTensors(dir, tensors);
    // Python follows torchgraft's oneDNN switch, so both sides run the same kernels.
    const oneDnn = tg.backends.mkldnn.enabled ? '' : 'torch.backends.mkldnn.enabled = False\n';
    const script = PRELUDE + oneDnn + '\n' + code + '\n_save()\n';
    fs.writeFileSync(path.join(dir, 'run.py'), script);
    execFileSync(PYTHON, [path.join(dir, 'run.py'), dir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, OMP_NUM_THREADS: '1' } });
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'outputs.json'), 'utf8'));
    const out = {};
    for (const [n, m] of Object.entries(meta)) {
      const buf = fs.readFileSync(path.join(dir, `out_${n}.bin`));
      const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
      out[n] = { shape: m.shape, data: m.int ? new BigInt64Array(ab) : m.bool ? new Uint8Array(ab) : new Float64Array(ab) };
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Max relative error between a torchgraft tensor and a Python result, scaled by max(|expected|, 1e-3-ish floor). */
function relError(actual, expected) {
  const a = actual.detach().to({ device: 'cpu', dtype: 'float64' });
  const got = a.dataSync();
  a.dispose();
  if (got.length !== expected.data.length) return Infinity;
  let maxErr = 0;
  let scale = 0;
  for (let i = 0; i < got.length; i++) scale = Math.max(scale, Math.abs(Number(expected.data[i])));
  scale = Math.max(scale, 1e-6);
  for (let i = 0; i < got.length; i++) {
    const e = Number(expected.data[i]);
    const g = Number(got[i]);
    if (Number.isNaN(e) && Number.isNaN(g)) continue;
    if (e === g) continue;
    maxErr = Math.max(maxErr, Math.abs(g - e) / scale);
  }
  return maxErr;
}

/**
 * Debian 13's LibTorch 2.6 (oneDNN 3.7.2) sometimes returns NaN input gradients from a convolution's backward with two
 * threads under load (scripts/repro/onednn-conv-backward-nan.py; README: Known problems in LibTorch builds). Files that
 * backpropagate through convolutions call this first so that CI on 2.6 tests torchgraft, not that bug. Returns whether
 * it turned oneDNN off.
 */
function avoidOneDnnBackwardNaN() {
  if (!tg.buildInfo().torchVersion.startsWith('2.6.')) return false;
  tg.backends.mkldnn.enabled = false;
  return true;
}

/**
 * The worst element of a torchgraft tensor against a Python result, as numpy.allclose judges it:
 * { ratio: max |a - b| / (atol + rtol * |b|) (<= 1 passes; NaN matches NaN, equal infinities match), at: its index }.
 */
function closeness(actual, expected, rtol, atol) {
  const a = actual.detach().to({ device: 'cpu', dtype: 'float64' });
  const got = a.dataSync();
  a.dispose();
  if (got.length !== expected.data.length) return { ratio: Infinity, at: -1 };
  let ratio = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const e = Number(expected.data[i]);
    const g = Number(got[i]);
    if ((Number.isNaN(e) && Number.isNaN(g)) || e === g) continue;
    const r = Math.abs(g - e) / (atol + rtol * Math.abs(e));
    if (!(r <= ratio)) {
      ratio = Number.isNaN(r) ? Infinity : r;
      at = i;
    }
  }
  return { ratio, at };
}

/**
 * Asserts shape equality and, element by element, |actual - expected| <= atol + rtol * |expected| (numpy.allclose),
 * rtol = tol (default 1e-5, the project's float32 bound). The absolute floor atol (for elements near zero, where
 * float32 cancellation leaves only absolute accuracy, a few ulps of the values summed) defaults to tol / 10 times the
 * tensor's largest |expected|: a tenth of what the former max-scaled bound allowed every element, so a tensor of
 * small values is not judged by a fixed absolute bound it would pass whatever its values. Pass { atol } to set it.
 */
function assertClose(assert, actual, expected, tol = 1e-5, what = 'value', { atol } = {}) {
  assert.deepStrictEqual(actual.shape, expected.shape, `${what}: shape`);
  let scale = 0;
  for (const v of expected.data) if (Number.isFinite(Number(v))) scale = Math.max(scale, Math.abs(Number(v)));
  const floor = atol ?? (tol / 10) * Math.max(scale, 1e-6);
  const { ratio, at } = closeness(actual, expected, tol, floor);
  if (!(ratio <= 1)) {
    const got = at >= 0 ? actual.detach().to({ device: 'cpu', dtype: 'float64' }).dataSync()[at] : undefined;
    assert.fail(`${what}: not within atol ${Number(floor.toPrecision(3))} + rtol ${tol} * |expected| (${ratio.toFixed(2)} times the bound)` +
      (at >= 0 ? ` at [${at}]: got ${got}, expected ${Number(expected.data[at])}` : ` (${actual.numel} vs ${expected.data.length} elements)`) +
      `; max relative error to the largest value ${relError(actual, expected)}`);
  }
}

module.exports = { hasPyTorch, runTorch, relError, closeness, assertClose, avoidOneDnnBackwardNaN, PYTHON, tg };
