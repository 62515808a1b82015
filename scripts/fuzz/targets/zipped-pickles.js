// Fuzz targets for torch.save archives (.pt) and TorchScript archives: opcode-level mutants of their pickles
// (data.pkl, constants.pkl), storage records cut or grown, and the zip's own structure; legacy (non-zip) .pt files
// get opcode mutants of their pickle stream.
'use strict';
const { readZip, writeZip, mutateMembers, mutateLayout } = require('../zip');
const { mutatePickle } = require('../pickle');

/** A zip target: `seeds` are archives; members ending in .pkl get pickle mutants, the rest zip faults. */
function zipTarget(name, seeds, fileName, api) {
  return {
    name,
    seeds,
    api,
    prepare: (buf) => readZip(buf) ?? { legacy: buf },
    mutate(seed, t) {
      if (seed.legacy) return { files: [[fileName, mutatePickle(seed.legacy, t)]], entry: fileName };
      let m = seed.map((x) => ({ ...x }));
      const r = t.int(10);
      const pkls = m.filter((x) => x.name.endsWith('.pkl'));
      if (r < 6 && pkls.length) {
        // data.pkl most often: it holds the tensors' records (storage keys, offsets, shapes, strides)
        const target = t.chance(0.7) ? pkls.find((x) => x.name.endsWith('/data.pkl')) ?? t.pick(pkls) : t.pick(pkls);
        target.data = mutatePickle(target.data, t);
        if (t.chance(0.2)) m = mutateMembers(m, t);
      } else if (r < 8) m = mutateMembers(m, t);
      const { buf, layout } = writeZip(m);
      return { files: [[fileName, r >= 8 ? mutateLayout(buf, layout, t) : buf]], entry: fileName };
    },
  };
}

const pytorch = zipTarget('pytorch', ['burn_mnist_cnn_state_dict.pt', 'burn_complex_nested_state_dict.pt', 'fuzz/tied.pt', 'fuzz/legacy.pt', 'fuzz/views.pt'], 'weights.pt', 'load');
const torchscript = zipTarget('torchscript', ['torchsharp_mymodule_torchscript.pt', 'torchsharp_mlp_1000_100_10_torchscript.pt', 'fuzz/scripted.pt'], 'model.pt', 'loadTorchScript');

module.exports = { pytorch, torchscript };
