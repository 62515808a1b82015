'use strict';
// Model surgery in place: replace, drop, insert and slice by dotted path, keeping order, names and shared weights.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

// Built once: ResNet-18's initialisation takes about a second; the tests that edit a ResNet build their own.
let shared;
const resnet18 = () => (shared ??= tg.nn.models.resnet18({ numClasses: 3 }));

function mlp() {
  tg.manualSeed(1);
  return new tg.nn.Sequential({
    hidden1: new tg.nn.Linear(4, 8), act1: new tg.nn.ELU(),
    hidden2: new tg.nn.Linear(8, 6), act2: new tg.nn.ELU(),
    outputs: new tg.nn.Linear(6, 3),
  });
}

test('replace keeps the name and position and returns the module taken out', () => {
  const net = mlp();
  const old = net.get('outputs');
  const fresh = new tg.nn.Linear(6, 5);
  assert.strictEqual(net.replace('outputs', fresh), old);
  assert.deepStrictEqual(net.keys(), ['hidden1', 'act1', 'hidden2', 'act2', 'outputs']);
  assert.strictEqual(net.get('outputs'), fresh);
  assert.deepStrictEqual(net.forward(tg.randn([2, 4])).shape, [2, 5]);
  assert.ok(Object.keys(net.stateDict()).includes('outputs.weight'));
});

test('replace reaches dotted paths inside non-Sequential parents (layer4.1.bn2 of a ResNet)', () => {
  const r = tg.nn.models.resnet18({ numClasses: 3 });
  const id = new tg.nn.Identity();
  const old = r.replace('layer4.1.bn2', id);
  assert.ok(old instanceof tg.nn.BatchNorm2d);
  assert.strictEqual(r.get('layer4.1.bn2'), id);
  assert.strictEqual(r.layer4.at(1).bn2, id);
  assert.ok(!Object.keys(r.stateDict()).some((k) => k.startsWith('layer4.1.bn2.')));
  r.eval();
  assert.deepStrictEqual(tg.noGrad(() => r.forward(tg.randn([1, 3, 32, 32]))).shape, [1, 3]);
});

test('replace, drop and insert reject unknown paths, naming what exists', () => {
  const net = mlp();
  assert.throws(() => net.replace('hidden9', new tg.nn.Identity()), /no child 'hidden9'.*hidden1, act1, hidden2, act2, outputs/);
  assert.throws(() => net.drop('hidden1.inner'), /'hidden1' \(Linear\) has no child 'inner'/);
  assert.throws(() => net.insert('nope', 'x', new tg.nn.Identity()), /no child 'nope'/);
  assert.throws(() => net.replace('hidden1.weight', new tg.nn.Identity()), /'hidden1.weight' is a parameter, not a module/);
  assert.throws(() => net.replace('', new tg.nn.Identity()), /expected a dotted path/);
  assert.throws(() => net.replace('outputs', {}), /expected a tg.nn.Module/);
  const r = resnet18();
  assert.throws(() => r.replace('layer4.7.bn2', new tg.nn.Identity()), /no submodule 'layer4.7.bn2'.*no submodule '7'/);
});

test('drop removes a layer from a Sequential and keeps the other names (state-dict keys still match)', () => {
  const net = mlp();
  const removed = net.drop('act2');
  assert.ok(removed instanceof tg.nn.ELU);
  assert.deepStrictEqual(net.keys(), ['hidden1', 'act1', 'hidden2', 'outputs']);
  assert.strictEqual(net.act2, undefined);
  assert.deepStrictEqual(net.forward(tg.randn([2, 4])).shape, [2, 3]);
  const nested = new tg.nn.Sequential({ block: new tg.nn.Sequential([new tg.nn.Linear(2, 2), new tg.nn.ReLU(), new tg.nn.Linear(2, 2)]) });
  nested.drop('block.1');
  assert.deepStrictEqual(nested.get('block').keys(), ['0', '2']);
  assert.deepStrictEqual(Object.keys(nested.stateDict()), ['block.0.weight', 'block.0.bias', 'block.2.weight', 'block.2.bias']);
});

test('drop removes an entry of a ModuleDict', () => {
  const d = new tg.nn.ModuleDict({ a: new tg.nn.Linear(2, 2), b: new tg.nn.Linear(2, 3) });
  const holder = new tg.nn.Sequential({ heads: d });
  holder.drop('heads.a');
  assert.deepStrictEqual(Object.keys(holder.stateDict()), ['heads.b.weight', 'heads.b.bias']);
});

test('drop refuses a child of a model whose forward calls it by name, suggesting Identity', () => {
  const r = resnet18();
  assert.throws(() => r.drop('fc'), /replace\('fc', new tg.nn.Identity\(\)\)/);
  assert.ok(r.get('fc'));
});

test('insert puts the module right after the anchor, at the start with null, and the chain runs through it', () => {
  const net = mlp();
  net.insert('act1', 'drop1', new tg.nn.Dropout(0.5));
  assert.deepStrictEqual(net.keys(), ['hidden1', 'act1', 'drop1', 'hidden2', 'act2', 'outputs']);
  net.insert(null, 'scale', new tg.nn.Identity());
  assert.strictEqual(net.keys()[0], 'scale');
  let seen = false;
  const h = net.get('drop1').registerForwardHook(() => void (seen = true));
  net.forward(tg.randn([2, 4]));
  h.remove();
  assert.ok(seen);
  const nested = new tg.nn.Sequential({ block: new tg.nn.Sequential([new tg.nn.Linear(2, 2), new tg.nn.Linear(2, 2)]) });
  assert.strictEqual(nested.insert('block.0', 'act', new tg.nn.ReLU()), nested);
  assert.deepStrictEqual(nested.get('block').keys(), ['0', 'act', '1']);
});

test('insert rejects a duplicate name and a parent that is not a Sequential', () => {
  const net = mlp();
  assert.throws(() => net.insert('hidden1', 'act1', new tg.nn.ReLU()), /'act1' is already taken/);
  assert.throws(() => net.insert('hidden1', 'a.b', new tg.nn.ReLU()), /without dots/);
  assert.deepStrictEqual(net.keys(), ['hidden1', 'act1', 'hidden2', 'act2', 'outputs']);
  const r = resnet18();
  assert.throws(() => r.insert('layer4.1.bn2', 'x', new tg.nn.ReLU()), /BasicBlock, whose forward would never call/);
});

test('slice is a Sequential view sharing the same modules: names include the end, positions exclude it', () => {
  const net = mlp();
  const s = net.slice('hidden1', 'act2');
  assert.ok(s instanceof tg.nn.Sequential);
  assert.deepStrictEqual(s.keys(), ['hidden1', 'act1', 'hidden2', 'act2']);
  assert.strictEqual(s.get('hidden2'), net.get('hidden2'));
  assert.deepStrictEqual(net.slice(0, 2).keys(), ['hidden1', 'act1']);
  assert.deepStrictEqual(net.slice(-1).keys(), ['outputs']);
  assert.deepStrictEqual(net.slice('hidden2').keys(), ['hidden2', 'act2', 'outputs']);
  // Same weights: an update through the view shows in the model.
  tg.noGrad(() => s.get('hidden1').weight.fill_(0.25));
  assert.strictEqual(net.get('hidden1').weight.sum().item(), 0.25 * 32);
  // The view computes the model's intermediate output.
  const x = tg.randn([3, 4]);
  const ref = net.get('act2').forward(net.get('hidden2').forward(net.get('act1').forward(net.get('hidden1').forward(x))));
  assert.ok(s.forward(x).equal(ref));
});

test('slice rejects unknown names, dotted paths and empty ranges', () => {
  const net = mlp();
  assert.throws(() => net.slice('hidden7'), /no top-level layer 'hidden7'.*hidden1, act1/);
  assert.throws(() => net.slice('hidden1.weight'), /only top-level layers/);
  assert.throws(() => net.slice('act2', 'hidden1'), /empty range/);
  assert.throws(() => net.slice(9), /out of range/);
  assert.throws(() => new tg.nn.Linear(2, 2).slice(0), /no child layers/);
});

test('copyModule makes new tensors with the same values, classes, settings and requiresGrad', () => {
  const r = new tg.nn.models.ResNet([1, 1, 1, 1], { numClasses: 4 });
  r.get('layer1').requiresGrad_(false);
  const c = tg.transfer.copyModule(r);
  assert.ok(c instanceof tg.nn.models.ResNet);
  assert.strictEqual(c.numClasses, 4);
  const a = r.stateDict();
  const b = c.stateDict();
  assert.deepStrictEqual(Object.keys(b), Object.keys(a));
  for (const k of Object.keys(a)) {
    assert.ok(a[k].equal(b[k]), k);
    assert.notStrictEqual(a[k]._storageId(), b[k]._storageId(), k);
  }
  assert.strictEqual(c.get('layer1.0.conv1').weight.requiresGrad, false);
  r.collections.set('stem', ['conv1', 'bn1']);
  assert.deepStrictEqual(tg.transfer.copyModule(r).collections.toJSON(), { stem: ['conv1', 'bn1'] });
  assert.strictEqual(c.get('layer2.0.conv1').weight.requiresGrad, true);
  r.eval();
  c.eval();
  const x = tg.randn([1, 3, 32, 32]);
  assert.ok(tg.noGrad(() => r.forward(x).equal(c.forward(x))));
  tg.noGrad(() => c.get('fc').weight.zero_());
  assert.notStrictEqual(r.get('fc').weight.abs().sum().item(), 0);
});

test('a child may be named like a surgery method (drop, slice): it shadows the method on that model only', () => {
  const tg = require('..');
  const net = new tg.nn.Sequential({ fc: new tg.nn.Linear(4, 4), drop: new tg.nn.Dropout(0.1), slice: new tg.nn.Identity(), out: new tg.nn.Linear(4, 2) });
  const assert = require('node:assert');
  assert.ok(net.drop instanceof tg.nn.Dropout);
  assert.deepStrictEqual(Object.keys(net.stateDict()), ['fc.weight', 'fc.bias', 'out.weight', 'out.bias']);
  tg.transfer.dropModule(net, 'drop');
  assert.deepStrictEqual([...net.keys()], ['fc', 'slice', 'out']);
  assert.strictEqual(typeof new tg.nn.Sequential({ a: new tg.nn.Identity() }).drop, 'function');
  assert.throws(() => net.registerModule('training', new tg.nn.Identity()), /clashes/);
  net.dispose();
});
