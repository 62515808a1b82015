'use strict';
// Partial restore: loadStateDict with include / exclude / rename / stripPrefix / addPrefix / skipMismatched,
// and the LoadReport it returns (or the one error listing every problem).
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { nn } = tg;

// The textbook's networks: five hidden layers and an output layer; the new one shares hidden1..hidden3.
function fiveLayer() {
  return new nn.Sequential({
    hidden1: new nn.Linear(8, 7), act1: new nn.ELU(),
    hidden2: new nn.Linear(7, 6), act2: new nn.ELU(),
    hidden3: new nn.Linear(6, 5), act3: new nn.ELU(),
    hidden4: new nn.Linear(5, 5), act4: new nn.ELU(),
    hidden5: new nn.Linear(5, 4), act5: new nn.ELU(),
    outputs: new nn.Linear(4, 5),
  });
}
function reuser() {
  return new nn.Sequential({
    hidden1: new nn.Linear(8, 7), act1: new nn.ELU(),
    hidden2: new nn.Linear(7, 6), act2: new nn.ELU(),
    hidden3: new nn.Linear(6, 5), act3: new nn.ELU(),
    hidden4: new nn.Linear(5, 3), act4: new nn.ELU(),
    outputs: new nn.Linear(3, 5),
  });
}
function trained() {
  tg.manualSeed(1);
  const net = fiveLayer();
  const x = tg.randn([32, 8]);
  const y = tg.randint(0, 5, [32]);
  const opt = new tg.optim.Adam(net.parameters(), { lr: 0.01 });
  for (let i = 0; i < 5; i++) {
    opt.zeroGrad();
    tg.tidy(() => nn.functional.crossEntropy(net.forward(x), y).backward());
    opt.step();
  }
  return net;
}
const clone = (sd) => Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, t.clone()]));
const keysOf = (prefixes) => prefixes.flatMap((p) => [`${p}.weight`, `${p}.bias`]);

test('the textbook case in one call: include /^hidden[123]\\./ restores exactly hidden1-3 and leaves the new layers at their init', () => {
  const old = trained();
  const saved = clone(old.stateDict());
  tg.manualSeed(2);
  const net = reuser();
  const init = clone(net.stateDict());
  const report = net.loadStateDict(saved, { include: /^hidden[123]\./ });
  assert.ok(report instanceof nn.LoadReport);
  assert.deepStrictEqual(report.loaded, keysOf(['hidden1', 'hidden2', 'hidden3']));
  assert.deepStrictEqual(report.skipped, keysOf(['hidden4', 'hidden5', 'outputs']));
  assert.deepStrictEqual([report.missing, report.unexpected, report.mismatched, report.warnings], [[], [], [], []]);
  assert.strictEqual(report.ok, true);
  for (const [k, t] of Object.entries(net.stateDict())) {
    if (/^hidden[123]\./.test(k)) assert.ok(t.equal(saved[k]), `${k} restored bitwise`);
    else assert.ok(t.equal(init[k]), `${k} left at its initialisation`);
  }
  // The same with a glob of module names, and then the reused layers frozen for training the new ones.
  const again = reuser();
  assert.deepStrictEqual(again.loadStateDict(saved, { include: 'hidden[123]' }).loaded, report.loaded);
  again.freeze('hidden[123]');
  assert.deepStrictEqual(again.trainableParameters().map(nn.parameterName), keysOf(['hidden4', 'outputs']));
});

test('exclude leaves keys out of both sides: they are skipped, never missing or unexpected', () => {
  const saved = clone(trained().stateDict());
  const net = reuser();
  const w = net.outputs.weight.clone();
  const report = net.loadStateDict(saved, { exclude: /^(hidden[45]|outputs)\./ });
  assert.deepStrictEqual(report.loaded, keysOf(['hidden1', 'hidden2', 'hidden3']));
  assert.deepStrictEqual(report.skipped, keysOf(['hidden4', 'hidden5', 'outputs']));
  assert.deepStrictEqual(report.missing, []);
  assert.ok(net.outputs.weight.equal(w));
  const both = reuser().loadStateDict(saved, { include: 'hidden*', exclude: ['hidden4', 'hidden5'] });
  assert.deepStrictEqual(both.loaded, keysOf(['hidden1', 'hidden2', 'hidden3']), 'exclude applies within include');
});

test('out-of-scope keys are never copied, even where every shape matches (include and exclude)', () => {
  const saved = clone(trained().stateDict());
  // Same architecture as the checkpoint: a bug copying an out-of-scope key would find a target of its shape.
  for (const options of [{ include: /^hidden[123]\./ }, { exclude: /^(hidden[45]|outputs)\./ }, { include: 'hidden*', exclude: ['hidden4', 'hidden5'] }]) {
    tg.manualSeed(3);
    const net = fiveLayer();
    const init = clone(net.stateDict());
    const report = net.loadStateDict(saved, options);
    assert.deepStrictEqual(report.loaded, keysOf(['hidden1', 'hidden2', 'hidden3']));
    for (const [k, t] of Object.entries(net.stateDict())) {
      assert.deepStrictEqual(t.shape, saved[k].shape);
      if (report.loaded.includes(k)) assert.ok(t.equal(saved[k]), `${k} restored bitwise`);
      else {
        assert.ok(!init[k].equal(saved[k]), `${k}: the checkpoint differs from the init, so a copy would show`);
        assert.ok(t.equal(init[k]), `${k} (out of scope) left at its initialisation`);
      }
    }
  }
});

test('include and exclude see the names after rename (and stripPrefix / addPrefix), never the checkpoint names', () => {
  const src = trained();
  const keras = {};
  for (const [k, t] of Object.entries(src.stateDict())) keras[`module.${k.replace(/^hidden(\d)/, 'dense_$1').replace(/^outputs/, 'dense_6')}`] = t.clone();
  const rename = [[/^dense_([1-5])\./, 'hidden$1.'], [/^dense_6\./, 'outputs.']];
  // Excluded by its name after renaming: hidden1 keeps its own weights, every other layer loads.
  tg.manualSeed(4);
  const net = fiveLayer();
  const init = clone(net.stateDict());
  const r = net.loadStateDict(keras, { stripPrefix: 'module.', rename, exclude: /^hidden1\./ });
  assert.deepStrictEqual(r.skipped, keysOf(['hidden1']));
  assert.deepStrictEqual(r.loaded, keysOf(['hidden2', 'hidden3', 'hidden4', 'hidden5', 'outputs']));
  assert.deepStrictEqual(r.warnings, []);
  assert.ok(net.hidden1.weight.equal(init['hidden1.weight']) && net.hidden1.bias.equal(init['hidden1.bias']), 'the excluded layer kept its weights');
  assert.ok(!net.hidden1.weight.equal(src.hidden1.weight));
  assert.ok(net.hidden2.weight.equal(src.hidden2.weight) && net.outputs.bias.equal(src.outputs.bias));
  // The checkpoint's own name (before renaming) matches nothing: excluded is nothing, with a warning, and hidden1 loads.
  const net2 = fiveLayer();
  const r2 = net2.loadStateDict(keras, { stripPrefix: 'module.', rename, exclude: /dense_1\./ });
  assert.deepStrictEqual(r2.skipped, []);
  assert.strictEqual(r2.loaded.length, 12);
  assert.deepStrictEqual(r2.warnings, ['exclude: it matched no key of the state dict']);
  assert.ok(net2.hidden1.weight.equal(src.hidden1.weight));
  // Include likewise: the renamed names select; with addPrefix last, the final (prefixed) names.
  const big = new nn.Sequential({ backbone: fiveLayer() });
  const bigInit = clone(big.stateDict());
  const r3 = big.loadStateDict(keras, { stripPrefix: 'module.', rename, addPrefix: 'backbone.', include: /^backbone\.hidden/, exclude: 'backbone.hidden5' });
  assert.deepStrictEqual(r3.loaded, keysOf(['backbone.hidden1', 'backbone.hidden2', 'backbone.hidden3', 'backbone.hidden4']));
  assert.deepStrictEqual(r3.skipped, keysOf(['backbone.hidden5', 'backbone.outputs']));
  assert.ok(big.backbone.hidden5.weight.equal(bigInit['backbone.hidden5.weight']), 'excluded after the prefix: kept');
  assert.ok(big.backbone.hidden4.weight.equal(src.hidden4.weight));
});

test('rename maps Keras-like names (dense_1. -> hidden1.) by prefix map, RegExp pairs or function, and the report says where each came from', () => {
  const src = trained();
  const keras = {};
  for (const [k, t] of Object.entries(src.stateDict())) keras[k.replace(/^hidden(\d)/, 'dense_$1').replace(/^outputs/, 'dense_6')] = t;
  const rules = [
    { 'dense_1.': 'hidden1.', 'dense_2.': 'hidden2.', 'dense_3.': 'hidden3.', 'dense_4.': 'hidden4.', 'dense_5.': 'hidden5.', 'dense_6.': 'outputs.' },
    [[/^dense_([1-5])\./, 'hidden$1.'], [/^dense_6\./, 'outputs.']],
    (k) => k.replace(/^dense_([1-5])\./, 'hidden$1.').replace(/^dense_6\./, 'outputs.'),
  ];
  for (const rename of rules) {
    const net = fiveLayer();
    const report = net.loadStateDict(keras, { rename });
    assert.strictEqual(report.ok, true);
    assert.strictEqual(report.loaded.length, 12);
    assert.deepStrictEqual(report.renamed[0], ['dense_1.weight', 'hidden1.weight']);
    assert.deepStrictEqual(report.renamed.at(-1), ['dense_6.bias', 'outputs.bias']);
    assert.ok(net.hidden5.weight.equal(src.hidden5.weight));
    assert.ok(net.outputs.bias.equal(src.outputs.bias));
    assert.match(String(report), /^hidden1\.weight\s+loaded\s+from dense_1\.weight$/m);
  }
  // Renaming first, then include on the new names: the textbook restore from a Keras-named checkpoint.
  const net = reuser();
  const r = net.loadStateDict(keras, { rename: rules[0], include: /^hidden[123]\./ });
  assert.deepStrictEqual(r.loaded, keysOf(['hidden1', 'hidden2', 'hidden3']));
  assert.ok(net.hidden3.bias.equal(src.hidden3.bias));
});

test("stripPrefix 'module.' loads a DataParallel checkpoint strictly; addPrefix loads a backbone's checkpoint into a larger model", () => {
  const src = trained();
  const dp = Object.fromEntries(Object.entries(src.stateDict()).map(([k, t]) => [`module.${k}`, t]));
  const net = fiveLayer();
  const report = net.loadStateDict(dp, { stripPrefix: 'module.' });
  assert.strictEqual(report.loaded.length, 12);
  assert.ok(report.ok);
  assert.ok(net.hidden2.weight.equal(src.hidden2.weight));
  assert.throws(() => fiveLayer().loadStateDict(dp), /missing keys \(12\).*\n.*unexpected keys \(12\): module\.hidden1\.weight/);

  const big = new nn.Sequential({ backbone: fiveLayer(), head: new nn.Linear(5, 2) });
  const r2 = big.loadStateDict(src.stateDict(), { addPrefix: 'backbone.', include: 'backbone' });
  assert.strictEqual(r2.loaded.length, 12);
  assert.deepStrictEqual(r2.loaded[0], 'backbone.hidden1.weight');
  assert.ok(r2.ok, String(r2));
  assert.ok(big.backbone.outputs.weight.equal(src.outputs.weight));
});

test('transforms apply in order stripPrefix, rename, addPrefix, and include sees the final names', () => {
  const src = new nn.Linear(2, 2);
  const sd = { 'module.dense_1.weight': src.weight.detach(), 'module.dense_1.bias': src.bias.detach(), 'module.dense_2.weight': tg.zeros([9]) };
  const model = new nn.Sequential({ backbone: new nn.Sequential({ hidden1: new nn.Linear(2, 2) }) });
  const report = model.loadStateDict(sd, {
    stripPrefix: 'module.', rename: { 'dense_1.': 'hidden1.' }, addPrefix: 'backbone.', include: /^backbone\.hidden1\./,
  });
  assert.deepStrictEqual(report.loaded, ['backbone.hidden1.weight', 'backbone.hidden1.bias']);
  assert.deepStrictEqual(report.skipped, ['backbone.dense_2.weight']);
  assert.deepStrictEqual(report.renamed, [
    ['module.dense_1.weight', 'backbone.hidden1.weight'], ['module.dense_1.bias', 'backbone.hidden1.bias'], ['module.dense_2.weight', 'backbone.dense_2.weight'],
  ]);
  assert.ok(model.backbone.hidden1.weight.equal(src.weight));
});

test('skipMismatched: a classifier of another size is reported and skipped; without it, the mismatch is an error', () => {
  const saved = clone(trained().stateDict()); // outputs: 5 classes from 4 features
  tg.manualSeed(3);
  const net = new nn.Sequential({
    hidden1: new nn.Linear(8, 7), act1: new nn.ELU(), hidden2: new nn.Linear(7, 6), act2: new nn.ELU(),
    hidden3: new nn.Linear(6, 5), act3: new nn.ELU(), hidden4: new nn.Linear(5, 5), act4: new nn.ELU(),
    hidden5: new nn.Linear(5, 4), act5: new nn.ELU(), outputs: new nn.Linear(4, 10),
  });
  const w = net.outputs.weight.clone();
  const h1 = net.hidden1.weight.clone();
  assert.throws(() => net.loadStateDict(saved), (e) => {
    assert.ok(e instanceof nn.StateDictError);
    assert.match(e.message, /shape mismatches \(2\): outputs\.weight expected \[10, 4\], found \[5, 4\]; outputs\.bias expected \[10\], found \[5\]/);
    assert.match(e.message, /\{ skipMismatched: true \} skips shape mismatches/);
    return true;
  });
  assert.ok(net.hidden1.weight.equal(h1), 'the failed load copied nothing');
  const report = net.loadStateDict(saved, { skipMismatched: true });
  assert.deepStrictEqual(report.mismatched, [
    { key: 'outputs.weight', expected: [10, 4], found: [5, 4] },
    { key: 'outputs.bias', expected: [10], found: [5] },
  ]);
  assert.deepStrictEqual(report.loaded, keysOf(['hidden1', 'hidden2', 'hidden3', 'hidden4', 'hidden5']));
  assert.strictEqual(report.ok, false);
  assert.ok(net.outputs.weight.equal(w), 'the mismatched classifier keeps its init');
  assert.ok(net.hidden1.weight.equal(saved['hidden1.weight']));
});

test('the report prints as a table of keys, statuses and details, and converts to JSON', () => {
  const net = new nn.Sequential({ hidden1: new nn.Linear(2, 3), outputs: new nn.Linear(3, 4) });
  const sd = {
    'dense_1.weight': tg.zeros([3, 2]), 'dense_1.bias': tg.zeros([3]), 'outputs.weight': tg.zeros([2, 3]), 'aux.weight': tg.zeros([1]),
  };
  const report = net.loadStateDict(sd, { rename: { 'dense_1.': 'hidden1.' }, exclude: 'aux', strict: false, skipMismatched: true });
  assert.strictEqual(String(report), [
    'LoadReport: 2 loaded, 1 missing, 0 unexpected, 1 mismatched, 1 skipped',
    'Key             Status      Detail',
    'hidden1.weight  loaded      from dense_1.weight',
    'hidden1.bias    loaded      from dense_1.bias',
    'outputs.weight  mismatched  expected [4, 3], found [2, 3]',
    'outputs.bias    missing     not in the state dict',
    'aux.weight      skipped     excluded',
  ].join('\n'));
  const json = JSON.parse(JSON.stringify(report));
  assert.deepStrictEqual(json, {
    loaded: ['hidden1.weight', 'hidden1.bias'], missing: ['outputs.bias'], unexpected: [],
    mismatched: [{ key: 'outputs.weight', expected: [4, 3], found: [2, 3] }], skipped: ['aux.weight'],
    renamed: [['dense_1.weight', 'hidden1.weight'], ['dense_1.bias', 'hidden1.bias']], warnings: [],
  });
  assert.strictEqual(require('node:util').inspect(report), String(report));
});

test('strict (the default, also with include) lists every missing, unexpected, mismatched and invalid key in scope in one error and copies nothing', () => {
  const net = reuser();
  const before = clone(net.stateDict());
  const sd = clone(trained().stateDict());
  delete sd['hidden2.bias'];
  sd['hidden3.extra'] = tg.zeros([1]);
  sd['hidden1.bias'] = tg.zeros([4]);
  sd['hidden3.weight'].dispose();
  sd['hidden2.weight'] = 'not a tensor';
  sd['outputs.weight'] = 'out of scope: never looked at';
  assert.throws(() => net.loadStateDict(sd, { include: /^hidden[123]\./ }), (e) => {
    assert.ok(e instanceof nn.StateDictError);
    assert.match(e.message, /missing keys \(1\): hidden2\.bias/);
    assert.match(e.message, /unexpected keys \(1\): hidden3\.extra/);
    assert.match(e.message, /shape mismatches \(1\): hidden1\.bias expected \[7\], found \[4\]/);
    assert.match(e.message, /not tensors \(1\): hidden2\.weight/);
    assert.match(e.message, /disposed tensors \(1\): hidden3\.weight/);
    assert.deepStrictEqual(e.invalid, ['hidden2.weight', 'hidden3.weight']);
    return true;
  });
  for (const [k, t] of Object.entries(net.stateDict())) assert.ok(t.equal(before[k]), `${k} untouched`);
  // Not strict: missing and unexpected are reported; invalid tensors still fail.
  delete sd['hidden2.weight'];
  delete sd['hidden3.weight'];
  const r = net.loadStateDict(sd, { include: /^hidden[123]\./, strict: false, skipMismatched: true });
  assert.deepStrictEqual(r.missing, ['hidden2.weight', 'hidden2.bias', 'hidden3.weight']);
  assert.deepStrictEqual(r.unexpected, ['hidden3.extra']);
  assert.deepStrictEqual(r.loaded, ['hidden1.weight', 'hidden3.bias']);
});

test('an include that matches nothing loads nothing and says so in the report, without throwing', () => {
  const net = reuser();
  const sd = trained().stateDict();
  const report = net.loadStateDict(sd, { include: /^hiden[123]\./ });
  assert.deepStrictEqual(report.loaded, []);
  assert.strictEqual(report.skipped.length, 12);
  assert.strictEqual(report.ok, false);
  assert.deepStrictEqual(report.warnings, ['include: it matched none of the 12 keys of the state dict, so nothing was loaded']);
  assert.match(String(report), /warning: include: it matched none of the 12 keys/);
  const r2 = fiveLayer().loadStateDict(sd, { stripPrefix: 'module.', rename: { 'dense_1.': 'hidden1.' }, exclude: 'nothing' });
  assert.deepStrictEqual(r2.warnings, ["stripPrefix 'module.': no key starts with it", 'rename: it changed no key', 'exclude: it matched no key of the state dict']);
  assert.strictEqual(r2.loaded.length, 12, 'options without effect still load');
});

test('bad options are errors naming them: unknown keys, wrong types, bad patterns and renames, keys renamed onto each other', () => {
  const net = reuser();
  const sd = trained().stateDict();
  assert.throws(() => net.loadStateDict(sd, { inclde: 'hidden1', skipMismatch: true }), { name: 'TypeError', message: /unknown options inclde, skipMismatch \(known: strict, include, exclude, rename, stripPrefix, addPrefix, skipMismatched\)/ });
  assert.throws(() => net.loadStateDict(sd, { strict: 'yes' }), /strict must be a boolean/);
  assert.throws(() => net.loadStateDict(sd, { stripPrefix: 3 }), /stripPrefix must be a string/);
  assert.throws(() => net.loadStateDict(sd, { include: 'hidden[12' }), TypeError);
  assert.throws(() => net.loadStateDict(sd, { include: [1] }), /array items must be strings or RegExps/);
  assert.throws(() => net.loadStateDict(sd, { rename: [['dense', 'hidden']] }), /rename: expected \[RegExp, replacement\] pairs/);
  assert.throws(() => net.loadStateDict(sd, { rename: () => 5 }), /rename turned 'hidden1.weight' into number, not a string/);
  assert.throws(() => net.loadStateDict(sd, null), /options must be an object/);
  assert.throws(() => net.loadStateDict(sd, { rename: { 'hidden4.': 'hidden5.' }, strict: false }), {
    name: 'StateDictError', message: /keys renamed to the same name \(2\): hidden4\.weight and hidden5\.weight -> hidden5\.weight; hidden4\.bias and hidden5\.bias -> hidden5\.bias/,
  });
});
