'use strict';
// tg.io.proposeMapping and the file's layer order: a MobileNet-like TF.js model (12 conv + BatchNorm blocks named
// block_1 .. block_12, whose manifest lists block_10_ before block_1_) written here with its topology, mapped onto a
// torchgraft model under other names. Every value written is a constant chosen per tensor, so the right destination of
// each tensor is known by construction; a proposal without a usable order must flag what it cannot tell apart.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const { tg, tmpDir, assertClose } = require('./helpers/foreign');

const { Sequential, Conv2d, BatchNorm2d, Linear, Flatten } = tg.nn;
const C = 8;
const HEAD = 40;
const BLOCKS = 12;

/** Keras layers in model order: [layer, class, [[variable, Keras shape], ...]]. */
function kerasLayers(blocks = BLOCKS) {
  const layers = [['Conv1', 'Conv2D', [['kernel', [3, 3, 3, C]], ['bias', [C]]]]];
  const bn = (c) => [['gamma', [c]], ['beta', [c]], ['moving_mean', [c]], ['moving_variance', [c]]];
  for (let k = 1; k <= blocks; k++) {
    layers.push([`block_${k}_conv`, 'Conv2D', [['kernel', [3, 3, C, C]]]]);
    layers.push([`block_${k}_bn`, 'BatchNormalization', bn(C)]);
  }
  layers.push(['Conv_1', 'Conv2D', [['kernel', [1, 1, C, HEAD]]]]);
  layers.push(['Conv_1_bn', 'BatchNormalization', bn(HEAD)]);
  layers.push(['Logits', 'Dense', [['kernel', [HEAD * 16, 5]], ['bias', [5]]]]);
  return layers;
}

/** The constant every element of a layer's variable holds: distinct per tensor, small, positive (a valid variance). */
const valueOf = (layerIndex, varIndex) => (layerIndex * 10 + varIndex + 1) / 1000;

/** Writes the model as TF.js does: the topology in layer order, the manifest sorted by weight name. */
function writeTfjs(dir) {
  const layers = kerasLayers();
  const weights = [];
  layers.forEach(([name, , vars], li) => vars.forEach(([v, shape], vi) => weights.push({ name: `${name}/${v}`, shape, value: valueOf(li, vi) })));
  weights.sort((x, y) => (x.name < y.name ? -1 : 1));
  assert.ok(weights.findIndex((w) => w.name.startsWith('block_10_')) < weights.findIndex((w) => w.name.startsWith('block_1_')), 'the manifest order is a name sort');
  const bytes = Buffer.concat(weights.map((w) => Buffer.from(new Float32Array(w.shape.reduce((p, d) => p * d, 1)).fill(w.value).buffer)));
  fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), bytes);
  const topology = {
    class_name: 'Functional',
    config: { name: 'mobilenet_like', layers: [{ class_name: 'InputLayer', config: { name: 'input_1' } }, ...layers.map(([name, cls]) => ({ class_name: cls, config: { name } }))] },
  };
  const manifest = [{ paths: ['group1-shard1of1.bin'], weights: weights.map(({ name, shape }) => ({ name, shape, dtype: 'float32' })) }];
  const json = path.join(dir, 'model.json');
  fs.writeFileSync(json, JSON.stringify({ format: 'layers-model', modelTopology: topology, weightsManifest: manifest }));
  return json;
}

/** The same architecture in torchgraft, under other names. */
function net(blocks = BLOCKS) {
  const block = () => new Sequential({ conv: new Conv2d(C, C, 3, { padding: 1, bias: false }), bn: new BatchNorm2d(C, { eps: 1e-3 }) });
  return new Sequential({
    stem: new Conv2d(3, C, 3, { padding: 1 }),
    blocks: new Sequential(Array.from({ length: blocks }, block)),
    head_conv: new Conv2d(C, HEAD, 1, { bias: false }),
    head_bn: new BatchNorm2d(HEAD, { eps: 1e-3 }),
    flatten: new Flatten(),
    fc: new Linear(HEAD * 16, 5),
  });
}

/** Where each converted Keras name belongs, written out from the naming scheme (independent of proposeMapping). */
function expectedTo(from) {
  const [layer, v] = [from.slice(0, from.lastIndexOf('.')), from.slice(from.lastIndexOf('.') + 1)];
  const m = /^block_(\d+)_(conv|bn)$/.exec(layer);
  if (m) return `blocks.${Number(m[1]) - 1}.${m[2]}.${v}`;
  return `${{ Conv1: 'stem', Conv_1: 'head_conv', Conv_1_bn: 'head_bn', Logits: 'fc' }[layer]}.${v}`;
}

/** The converted names in model order (PyTorch's names for Keras variables), from the construction. */
function layerOrderByConstruction(blocks = BLOCKS) {
  const torchName = { kernel: 'weight', bias: 'bias', gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' };
  return kerasLayers(blocks).flatMap(([name, , vars]) => vars.map(([v]) => `${name}.${torchName[v]}`));
}

/** Every tensor the model got is the constant written for the Keras variable that belongs there. */
function assertValuesByConstruction(model) {
  const sd = model.stateDict();
  try {
    kerasLayers().forEach(([name, , vars], li) =>
      vars.forEach(([v], vi) => {
        const torchName = { kernel: 'weight', bias: 'bias', gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' }[v];
        const to = expectedTo(`${name}.${torchName}`);
        const want = Math.fround(valueOf(li, vi));
        assert.ok(sd[to].dataSync().every((x) => x === want), `${to} holds ${name}/${v}`);
      }),
    );
  } finally {
    tg.dispose(sd);
  }
}

test('a TF.js model whose manifest is a name sort maps by its topology: every pair right, the unique head conv matched', async (t) => {
  const r = await tg.io.loadWithMetadata(writeTfjs(tmpDir(t)));
  const model = net();
  try {
    const layersOf = (names) => names.map((n) => n.slice(0, n.lastIndexOf('.'))).filter((l, k, all) => k === 0 || l !== all[k - 1]);
    assert.deepStrictEqual(layersOf(r.layerOrder), kerasLayers().map(([name]) => name), 'layerOrder follows the topology');
    assert.deepStrictEqual(layersOf(r.names).slice(0, 5), ['Conv1', 'Conv_1', 'Conv_1_bn', 'Logits', 'block_10_bn'], 'names keep the manifest order');
    for (const p of [tg.io.proposeMapping(r.tensors, model), tg.io.proposeMapping(r, model)]) {
      assert.strictEqual(p.order, 'layers');
      assert.deepStrictEqual(p.pairs.filter((x) => x.to !== expectedTo(x.from)).map((x) => `${x.from} -> ${x.to}`), []);
      assert.strictEqual(p.pairs.length, r.names.length);
      assert.deepStrictEqual(p.unmatchedForeign, []);
      assert.ok(p.unmatchedModel.every((u) => u.name.endsWith('num_batches_tracked')));
      assert.deepStrictEqual(p.ambiguous, []);
      const head = p.pairs.find((x) => x.from === 'Conv_1.weight');
      assert.deepStrictEqual([head.to, head.confidence, head.ambiguous], ['head_conv.weight', 0.95, false]);
      for (const x of p.pairs) assert.ok(x.confidence >= 0.85, `${x.from}: ${x.confidence} ${x.reason}`);
    }
    model.loadStateDict(tg.io.proposeMapping(r.tensors, model).apply(), { strict: false });
    assertValuesByConstruction(model);

    // The outputs equal those of the same model loaded with hand-written rules.
    const ref = net();
    const rules = (k) => expectedTo(k);
    ref.loadStateDict(tg.io.mapKeys(r.tensors, rules), { strict: false });
    model.eval();
    ref.eval();
    const x = tg.randn([2, 3, 4, 4]);
    const [y, yRef] = tg.noGrad(() => [model.forward(x), ref.forward(x)]);
    assert.ok(yRef.dataSync().every(Number.isFinite));
    assertClose(y.dataSync(), yRef.dataSync(), { rtol: 0, atol: 0, what: 'mapped vs hand-renamed outputs' });
    tg.dispose([x, y, yRef]);
  } finally {
    tg.dispose(r.tensors);
  }
});

test('without a recorded order (a name-sorted copy), what only order could separate is marked ambiguous and apply() refuses it', async (t) => {
  const r = await tg.io.loadWithMetadata(writeTfjs(tmpDir(t)));
  const model = net();
  try {
    const copy = { ...r.tensors }; // a plain copy keeps the manifest's name sort and loses the layer order
    const p = tg.io.proposeMapping(copy, model);
    assert.strictEqual(p.order, 'natural');
    // Whatever the proposal could not tell apart is flagged: no unflagged pair is wrong.
    assert.deepStrictEqual(p.pairs.filter((x) => !x.ambiguous && x.to !== expectedTo(x.from)).map((x) => x.from), []);
    for (const name of ['Conv1.weight', 'Conv_1.weight', 'Logits.weight', 'Logits.bias', 'Conv_1_bn.running_var']) {
      const x = p.pairs.find((q) => q.from === name);
      assert.deepStrictEqual([x.to, x.ambiguous], [expectedTo(name), false], name);
    }
    const headBn = p.pairs.find((x) => x.from === 'Conv_1_bn.running_var');
    assert.strictEqual(headBn.confidence, 0.8, 'told apart by its kind only, below a pair the layer order confirms');
    const bn = p.pairs.find((x) => x.from === 'block_3_bn.running_var');
    assert.ok(bn.ambiguous && bn.confidence === 0.5, bn.reason);
    assert.ok(bn.alternatives.some((a) => a.to === 'blocks.4.bn.running_var'), JSON.stringify(bn.alternatives.slice(0, 3)));
    assert.strictEqual(p.ambiguous.length, BLOCKS * 5 + 1, 'every block tensor and the stem bias (same shape as the BatchNorm biases)');
    assert.match(String(p), /ambiguous \(marked \?\)/);
    assert.throws(() => p.apply(), (e) => e instanceof tg.TorchError && e.code === 'ERR_AMBIGUOUS_MAPPING' && /'block_\w+\.\w+' -> 'blocks\.\d+/.test(e.message) && /allowAmbiguous/.test(e.message));
    assert.strictEqual(Object.keys(p.apply({ allowAmbiguous: true })).length, p.pairs.length);
    assert.deepStrictEqual(Object.keys(p.apply({ minConfidence: 0.6 })).sort(), p.pairs.filter((x) => !x.ambiguous).map((x) => x.to).sort());

    // The same plain dict with the layer order given explicitly maps every pair right.
    const q = tg.io.proposeMapping(copy, model, { order: layerOrderByConstruction() });
    assert.strictEqual(q.order, 'layers');
    assert.deepStrictEqual(q.pairs.filter((x) => x.to !== expectedTo(x.from) || x.ambiguous).map((x) => x.from), []);
    model.loadStateDict(q.apply(), { strict: false });
    assertValuesByConstruction(model);
    assert.throws(() => tg.io.proposeMapping(copy, model, { order: ['Conv1.weight'] }), TypeError);
    assert.throws(() => tg.io.proposeMapping(copy, model, { order: [...layerOrderByConstruction().slice(1), 'nope'] }), TypeError);
  } finally {
    tg.dispose(r.tensors);
  }
});

test('with the layer order, a model with one block more than the file is ambiguous: which block stays empty is unknown', async (t) => {
  const r = await tg.io.loadWithMetadata(writeTfjs(tmpDir(t)));
  try {
    const p = tg.io.proposeMapping(r.tensors, net(BLOCKS + 1));
    assert.strictEqual(p.order, 'layers');
    const conv = p.pairs.find((x) => x.from === 'block_5_conv.weight');
    assert.ok(conv.ambiguous, conv.reason);
    assert.ok(conv.alternatives.some((a) => a.from === 'block_5_conv.weight' && a.to === 'blocks.5.conv.weight'));
    assert.deepStrictEqual(p.pairs.find((x) => x.from === 'Conv_1.weight').ambiguous, false);
    assert.throws(() => p.apply(), (e) => e.code === 'ERR_AMBIGUOUS_MAPPING');
  } finally {
    tg.dispose(r.tensors);
  }
});

test('a name-sorted state dict is guessed in natural order (layer_2 before layer_10), every guess marked ambiguous', () => {
  const names = ['layer_1.weight', 'layer_10.weight', 'layer_2.weight', 'layer_3.weight'];
  assert.deepStrictEqual([...names].sort(), names, 'the foreign keys are a plain name sort');
  const foreign = Object.fromEntries(names.map((n) => [n, tg.zeros([2])]));
  const target = Object.fromEntries(['a', 'b', 'c', 'd'].map((n) => [`${n}.weight`, tg.zeros([2])]));
  try {
    const p = tg.io.proposeMapping(foreign, target);
    assert.strictEqual(p.order, 'natural');
    assert.deepStrictEqual(p.pairs.map((x) => `${x.from} -> ${x.to}`), ['layer_1.weight -> a.weight', 'layer_2.weight -> b.weight', 'layer_3.weight -> c.weight', 'layer_10.weight -> d.weight']);
    assert.ok(p.pairs.every((x) => x.ambiguous && x.alternatives.length === 6));
    // An unsorted dict keeps its stored order; with one target more, which target stays empty is unknown.
    const stored = tg.io.proposeMapping({ 'layer_2.weight': foreign['layer_2.weight'], 'layer_1.weight': foreign['layer_1.weight'], 'x.weight': foreign['layer_3.weight'] }, target);
    assert.strictEqual(stored.order, 'stored');
    assert.deepStrictEqual(stored.pairs.map((x) => [x.from, x.to, x.ambiguous]), [['layer_2.weight', 'a.weight', true], ['layer_1.weight', 'b.weight', true], ['x.weight', 'c.weight', true]]);
  } finally {
    tg.dispose([foreign, target]);
  }
});
