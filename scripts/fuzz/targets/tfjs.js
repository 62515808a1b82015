// Fuzz target for TF.js models: the manifest's shard paths, weight shapes, dtypes, names and quantization, the
// topology's JSON, and the shards (cut, grown, or rewritten as valid uint8/uint16/float16 quantized weights).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** A model.json's parsed document and its folder's other files. */
function prepare(buf, file) {
  const dir = path.dirname(file);
  const shards = fs.readdirSync(dir).filter((n) => n !== path.basename(file)).map((n) => [n, fs.readFileSync(path.join(dir, n))]);
  return { doc: JSON.parse(buf.toString('utf8')), shards };
}

/** Rewrites a group's float32 weights as quantized ones (uint8, uint16 or float16) with a consistent single shard. */
function quantize(doc, shards, g, t) {
  const group = doc.weightsManifest[g];
  const data = Buffer.concat(group.paths.map((p) => shards.get(p) ?? Buffer.alloc(0)));
  const kind = t.pick(['uint8', 'uint16', 'float16']);
  const parts = [];
  let at = 0;
  for (const w of group.weights) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    const bytes = data.subarray(at, at + n * 4);
    at += n * 4;
    if ((w.dtype ?? 'float32') !== 'float32' || w.quantization) return false;
    const vals = new Float32Array(Buffer.from(bytes).buffer, 0, Math.floor(bytes.length / 4));
    if (kind === 'float16') {
      parts.push(Buffer.from(Uint16Array.from(vals, (v) => (v >= 0 ? 0x3c00 : 0xbc00)).buffer)); // +-1 in half precision
      w.quantization = { dtype: 'float16' };
    } else {
      const q = kind === 'uint8' ? Uint8Array.from(vals, (_, i) => i & 0xff) : Uint16Array.from(vals, (_, i) => i & 0xffff);
      parts.push(Buffer.from(q.buffer));
      w.quantization = { dtype: kind, scale: t.pick([0.01, 1, 1e-30]), min: t.pick([-1, 0, 3.5]) };
    }
  }
  group.paths = [`group${g}-q.bin`];
  shards.set(group.paths[0], Buffer.concat(parts));
  return true;
}

/** One mutant folder: model.json plus shards. */
function mutate(seed, t) {
  const doc = JSON.parse(JSON.stringify(seed.doc));
  const shards = new Map(seed.shards.map(([n, b]) => [n, b]));
  const groups = Array.isArray(doc.weightsManifest) ? doc.weightsManifest : [];
  const g = t.int(groups.length || 1);
  const group = groups[g] ?? { paths: [], weights: [] };
  const w = group.weights[t.int(group.weights.length)] ?? {};
  let text;
  if (t.chance(0.25)) quantize(doc, shards, g, t);
  for (let k = 1 + t.int(2); k > 0; k--) {
    switch (t.int(11)) {
      case 0: group.paths[t.int(group.paths.length)] = t.pick(['../weights.bin', '/etc/passwd', 'http://example.com/w.bin', 'file:///etc/passwd', 'weights.bin\u0000', 'missing.bin', '.', '', 'sub/../weights.bin', 'C:\\w.bin', 7, null]); break;
      case 1: group.paths.push(t.pick([...shards.keys(), 'missing.bin'])); break;
      case 2: w.shape = t.pick([[], [0], [-1], [1.5], ['3'], [2 ** 53, 2 ** 53], null, [t.edge(w.shape?.[0] ?? 1)], [...(w.shape ?? []), 2], Array(80).fill(1)]); break;
      case 3: w.dtype = t.pick(['float32', 'int32', 'bool', 'float16', 'string', 'complex64', 'uint8', 1, null]); break;
      case 4: w.quantization = t.pick([{ dtype: 'uint8', scale: NaN, min: 0 }, { dtype: 'uint8', scale: '1', min: 0 }, { dtype: 'uint16', scale: 1e308, min: -1e308 }, { dtype: 'int8', scale: 1, min: 0 }, { dtype: 'float16' }, { dtype: 'uint8' }, 'uint8', null, [], { dtype: 'uint8', scale: 1, min: 0, original_dtype: 'int32' }]); break;
      case 5: group.weights.push({ ...w, name: t.pick([w.name, '__proto__', '', 'constructor', `${w.name}/x`]) }); break;
      case 6: group.weights.splice(t.int(group.weights.length), 1); break;
      case 7: { // a shard cut or grown
        const name = t.pick([...shards.keys()]);
        const b = shards.get(name);
        shards.set(name, t.chance(0.5) ? b.subarray(0, t.int(b.length)) : Buffer.concat([b, Buffer.alloc(1 + t.int(64))]));
        break;
      }
      case 8: doc.weightsManifest = t.pick([{}, null, [], [null], [{ paths: 'weights.bin', weights: group.weights }], [...groups, ...groups]]); break;
      case 9: doc.modelTopology = t.pick([null, 'x', { config: { layers: [{ class_name: '__proto__', config: { name: 'dense' } }] } }, JSON.parse('['.repeat(2000) + ']'.repeat(2000)), { class_name: 'Sequential', config: { layers: Array(5).fill({ class_name: 'Dense', config: { name: w.name?.split('/')[0] } }) } }]); doc.format = t.pick(['layers-model', 'graph-model', undefined]); break;
      default: text = JSON.stringify(doc).slice(0, t.int(JSON.stringify(doc).length)); // cut JSON
    }
  }
  const files = [['model.json', Buffer.from(text ?? JSON.stringify(doc))], ...[...shards].filter(([n]) => !n.includes('/'))];
  return { files, entry: 'model.json' };
}

module.exports = { name: 'tfjs', seeds: ['tfjs_abalone_dense/model.json', 'tfjs_embedding_gru/model.json'], prepare, mutate };
