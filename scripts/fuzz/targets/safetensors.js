// Fuzz target for safetensors: the header's JSON keys, dtypes, shapes and data_offsets (overlapping, reversed, out
// of range), its length prefix, and the data buffer behind it.
'use strict';

const DTYPES = ['F32', 'F16', 'BF16', 'F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL', 'U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'C64', '', 'f32', 'F32 ', null, 1, ['F32']];

/** Splits a safetensors file into its header entries (in order, as [key, value]) and its data buffer. */
function prepare(buf) {
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.toString('utf8', 8, 8 + n));
  return { entries: Object.entries(header), data: buf.subarray(8 + n) };
}

// JSON written by hand so that a key may appear twice.
const headerText = (entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`;

/** One structural mutant: { files, entry }. */
function mutate(seed, t) {
  const entries = seed.entries.map(([k, v]) => [k, v && typeof v === 'object' ? JSON.parse(JSON.stringify(v)) : v]);
  let data = seed.data;
  const tensors = entries.filter(([k]) => k !== '__metadata__');
  const [, e] = t.pick(tensors);
  const [, other] = t.pick(tensors);
  // Earlier mutations may have replaced a field with junk: read it back through these.
  const offs = (x) => (Array.isArray(x.data_offsets) && x.data_offsets.length === 2 ? x.data_offsets : [0, 0]);
  const dims = () => (Array.isArray(e.shape) ? e.shape : []);
  let lenFault = null;
  for (let k = 1 + t.int(2); k > 0; k--) {
    switch (t.int(12)) {
      case 0: e.dtype = t.pick(DTYPES); break;
      case 1: e.shape = t.pick([[], [0], [-1], [t.edge(dims()[0] ?? 1)], [...dims(), 1], dims().slice(1), [...dims()].reverse(), [2 ** 53, 2 ** 53], [1.5], ['2'], null, Array(100).fill(1), [(dims()[0] ?? 1) * 2, ...dims().slice(1)]]); break;
      case 2: e.data_offsets = [...offs(other)]; break; // two tensors over the same bytes
      case 3: e.data_offsets = [offs(e)[1], offs(e)[0]]; break;
      case 4: e.data_offsets = t.pick([[0, data.length + 1], [data.length, data.length + 4], [0, 2 ** 64], [-4, 0], [0.5, 4.5], [0], [0, 4, 8], null, ['0', '4'], [offs(e)[0] + 1, offs(e)[1] + 1]]); break;
      case 5: entries.push([t.pick(tensors)[0], JSON.parse(JSON.stringify(other))]); break; // a name twice
      case 6: entries.push([t.pick(['', '__proto__', 'constructor', 'a'.repeat(70000), '\u0000', '__metadata__']), JSON.parse(JSON.stringify(e))]); break;
      case 7: entries.push(['__metadata__', t.pick([{ a: 1 }, { a: { b: 'c' } }, 'x', null, [], { format: 'pt', '': '' }])]); break;
      case 8: entries.splice(t.int(entries.length), 1); break;
      case 9: Object.assign(e, t.pick([{ extra: 1 }, { dtype: undefined }, { shape: undefined }, { data_offsets: undefined }])); break;
      case 10: data = t.chance(0.5) ? data.subarray(0, t.int(data.length)) : Buffer.concat([data, Buffer.alloc(1 + t.int(64))]); break;
      default: lenFault = t.pick(['plus', 'minus', 'huge', 'zero', 'pad', 'nul']);
    }
  }
  let header = Buffer.from(headerText(entries), 'utf8');
  if (lenFault === 'pad') header = Buffer.concat([header, Buffer.alloc(t.int(16), 0x20)]);
  if (lenFault === 'nul') header = Buffer.concat([header, Buffer.alloc(1 + t.int(8))]);
  const len = Buffer.alloc(8);
  const n = { plus: header.length + 1, minus: header.length - 1, huge: 2 ** 63, zero: 0 }[lenFault] ?? header.length;
  len.writeBigUInt64LE(BigInt(n));
  return { files: [['model.safetensors', Buffer.concat([len, header, data])]], entry: 'model.safetensors' };
}

module.exports = { name: 'safetensors', seeds: ['burn_mnist_cnn.safetensors', 'burn_multi_layer.safetensors', 'fuzz/dtypes.safetensors'], prepare, mutate };
