'use strict';
// The Module tree: registration, dotted names, traversal, state dicts, to(), summary, hooks, Sequential, and errors.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');

const nn = tg.nn;

class Net extends nn.Module {
  constructor() {
    super();
    this.registerModule('features', new nn.Sequential([new nn.Linear(4, 6), new nn.BatchNorm1d(6), new nn.ReLU()]));
    this.registerModule('head', new nn.Linear(6, 2));
    this.registerParameter('scale', tg.ones([2]));
    this.registerBuffer('steps', tg.zeros([], { dtype: 'int64' }));
    this.registerBuffer('cache', tg.zeros([2]), { persistent: false });
  }
  forward(x) {
    return this.head.call(this.features.call(x)).mul(this.scale);
  }
}

const NET_KEYS = [
  'scale', 'steps',
  'features.0.weight', 'features.0.bias',
  'features.1.weight', 'features.1.bias', 'features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked',
  'head.weight', 'head.bias',
];

test('a subclass registers parameters, buffers and children and lists them under PyTorch dotted names', () => {
  const net = new Net();
  assert.deepStrictEqual(Object.keys(net.stateDict()), NET_KEYS);
  assert.deepStrictEqual(net.namedParameters().map(([n]) => n), ['scale', 'features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias', 'head.weight', 'head.bias']);
  assert.deepStrictEqual(net.namedBuffers().map(([n]) => n), ['steps', 'cache', 'features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked']);
  assert.deepStrictEqual(net.namedModules().map(([n, m]) => `${n}:${m.constructor.name}`), [':Net', 'features:Sequential', 'features.0:Linear', 'features.1:BatchNorm1d', 'features.2:ReLU', 'head:Linear']);
  assert.deepStrictEqual(net.namedChildren().map(([n]) => n), ['features', 'head']);
  assert.deepStrictEqual(net.children(), [net.features, net.head]);
  assert.strictEqual(net.buffers().length, 5);
  assert.ok(net.scale.requiresGrad && net.scale.isLeaf);
  assert.deepStrictEqual(net.forward(tg.randn([3, 4])).shape, [3, 2]);
});

test('parameters(pattern) selects by glob, RegExp, list or predicate, and each parameter carries its dotted name', () => {
  const net = new Net();
  const names = (ps) => ps.map((p) => tg.nn.parameterName(p));
  assert.deepStrictEqual(names(net.parameters('features.*')), ['features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias']);
  assert.deepStrictEqual(names(net.parameters('head')), ['head.weight', 'head.bias'], 'a module path selects everything under it');
  assert.deepStrictEqual(names(net.parameters('features.[01].weight')), ['features.0.weight', 'features.1.weight']);
  assert.deepStrictEqual(names(net.parameters('*.bias')), ['features.0.bias', 'features.1.bias', 'head.bias']);
  assert.deepStrictEqual(names(net.parameters(/^head\./)), ['head.weight', 'head.bias']);
  assert.deepStrictEqual(names(net.parameters(['scale', /^features\.1\./])), ['scale', 'features.1.weight', 'features.1.bias']);
  assert.deepStrictEqual(names(net.parameters((n) => n.endsWith('weight'))), ['features.0.weight', 'features.1.weight', 'head.weight']);
  assert.deepStrictEqual(net.parameters('nothing*'), []);
  assert.strictEqual(net.head.weight[tg.nn.PARAM_NAME], 'head.weight');
  assert.throws(() => net.parameters(42), /name pattern: expected a glob string, a RegExp, an array of them or a function, got number/);
});

test('the hidden[12] glob of the design selects exactly hidden1 and hidden2', () => {
  const net = new nn.Sequential({ hidden1: new nn.Linear(2, 2), hidden2: new nn.Linear(2, 2), hidden3: new nn.Linear(2, 2), hidden12: new nn.Linear(2, 2) });
  assert.deepStrictEqual(net.parameters('hidden[12].*').map(tg.nn.parameterName), ['hidden1.weight', 'hidden1.bias', 'hidden2.weight', 'hidden2.bias']);
});

test('get(path) walks dotted paths and names the missing step and what exists there', () => {
  const net = new Net();
  assert.strictEqual(net.get('features.1'), net.features.at(1));
  assert.strictEqual(net.get(''), net);
  assert.strictEqual(net.getParameter('features.0.weight'), net.features.at(0).weight);
  assert.strictEqual(net.getBuffer('features.1.running_var'), net.features.at(1).running_var);
  assert.throws(() => net.get('body'), /get\('body'\): no submodule 'body' in Net; its children: features, head/);
  assert.throws(() => net.get('features.7.weight'), /no submodule '7' in 'features' \(Sequential\); its children: 0, 1, 2/);
  assert.throws(() => net.get('head.weight'), /'weight' is a parameter, not a module/);
  assert.throws(() => net.getParameter('head.gamma'), /no parameter 'head.gamma' \(Linear has weight, bias\)/);
  assert.throws(() => net.get(3), TypeError);
});

test('registration rejects non-modules, non-tensors, dotted names and clashes, with clear errors', () => {
  const m = new nn.Module();
  assert.throws(() => m.registerModule('fc', { forward() {} }), /registerModule\('fc'\): expected a tg.nn.Module or null, got an object \(Object\)/);
  assert.throws(() => m.registerModule('fc', tg.zeros([1])), /got a Tensor/);
  assert.throws(() => m.registerParameter('w', [1, 2]), /registerParameter\('w'\): expected a Tensor or null, got an array/);
  assert.throws(() => m.registerParameter('w', tg.zeros([2], { dtype: 'int64' })), /parameters must be floating point \(got int64\); register it as a buffer/);
  const nonLeaf = tg.ones([2], { requiresGrad: true }).mul(2);
  assert.throws(() => m.registerParameter('w', nonLeaf), /not a leaf/);
  assert.throws(() => m.registerParameter('a.b', tg.zeros([1])), /names cannot contain '\.'/);
  assert.throws(() => m.registerParameter('', tg.zeros([1])), /non-empty string/);
  assert.throws(() => m.registerModule('forward', new nn.ReLU()), /'forward' clashes with an existing property of Module/);
  m.registerBuffer('b', tg.zeros([1]));
  assert.throws(() => m.registerParameter('b', tg.zeros([1])), /'b' is already registered as a buffer/);
  assert.throws(() => new nn.Sequential([new nn.ReLU(), 'relu']), /Sequential: child '1' must be a tg.nn.Module, got a string/);
  assert.throws(() => new nn.Sequential({ a: new nn.ReLU(), b: null }), /child 'b' must be a tg.nn.Module, got null/);
  assert.throws(() => new nn.Sequential(5), /expected modules, an array of modules or an object of named modules, got a number/);
  assert.throws(() => new nn.Module().forward(1), /Module: forward\(\) is not implemented/);
});

test('registered names are live properties: assigning replaces, and reads follow to()', () => {
  const lin = new nn.Linear(3, 2);
  const w = tg.zeros([2, 3]);
  lin.weight = w;
  assert.strictEqual(lin.weight, w);
  assert.ok(w.requiresGrad, 'assigning a tensor to a parameter slot makes it a parameter');
  const seq = new nn.Sequential([new nn.ReLU()]);
  const tanh = new nn.Tanh();
  seq['0'] = tanh;
  assert.strictEqual(seq.at(0), tanh);
  assert.throws(() => (seq['0'] = 'relu'), /expected a tg.nn.Module or null/);
  lin.to('float64');
  assert.strictEqual(lin.weight.dtype, 'float64');
  assert.strictEqual(lin.weight, lin.getParameter('weight'));
});

test('parameters and buffers survive the tidy scope the module was built in', () => {
  const before = tg.memory().tensors;
  const net = tg.tidy(() => new Net());
  assert.ok(net.parameters().every((p) => !p.isDisposed));
  assert.ok(net.buffers().every((b) => !b.isDisposed));
  const y = tg.tidy(() => net.forward(tg.randn([2, 4])).sum().item());
  assert.ok(Number.isFinite(y));
  net.dispose();
  assert.ok(net.parameters().every((p) => p.isDisposed), 'dispose() frees every parameter');
  assert.ok(tg.memory().tensors <= before, 'no tensors left behind');
});

test('stateDict() is an insertion-ordered plain object of detached views; keepVars gives the live tensors', () => {
  const net = new Net();
  const sd = net.stateDict();
  assert.strictEqual(Object.getPrototypeOf(sd), Object.prototype);
  assert.strictEqual(sd['features.1.num_batches_tracked'].dtype, 'int64');
  assert.deepStrictEqual(sd['features.1.num_batches_tracked'].shape, []);
  assert.ok(!sd['head.weight'].requiresGrad);
  assert.notStrictEqual(sd['head.weight'], net.head.weight);
  assert.strictEqual(sd['head.weight']._storageId(), net.head.weight._storageId(), 'shares storage');
  tg.dispose(sd);
  assert.ok(!net.head.weight.isDisposed, 'disposing a state dict leaves the model intact');
  const live = net.stateDict({ keepVars: true, prefix: 'model.' });
  assert.strictEqual(live['model.head.weight'], net.head.weight);
  assert.ok(!('model.cache' in live), 'non-persistent buffers stay out');
});

test('loadStateDict() copies values in place without autograd and reports what it loaded', () => {
  const a = new Net();
  const b = new Net();
  const w = b.head.weight;
  const report = b.loadStateDict(a.stateDict());
  assert.strictEqual(b.head.weight, w, 'same tensor object, updated in place');
  assert.ok(w.isLeaf && w.requiresGrad);
  assert.ok(b.head.weight.equal(a.head.weight));
  assert.ok(b.features.at(1).running_var.equal(a.features.at(1).running_var));
  assert.deepStrictEqual(report.loaded, NET_KEYS);
  assert.deepStrictEqual([report.missing, report.unexpected, report.mismatched], [[], [], []]);
  const map = new Map(Object.entries(a.stateDict()));
  assert.strictEqual(b.loadStateDict(map).loaded.length, NET_KEYS.length, 'a Map works too');
});

test('strict loadStateDict() throws one error listing every missing, unexpected and mismatched key, and copies nothing', () => {
  const net = new Net();
  const before = net.head.bias.clone();
  const sd = net.stateDict();
  delete sd['head.weight'];
  delete sd['features.0.bias'];
  sd['head.bias'] = tg.ones([2]);
  sd['features.0.weight'] = tg.zeros([6, 5]);
  sd['extra.weight'] = tg.zeros([1]);
  sd['scale'] = 'not a tensor';
  let err;
  try {
    net.loadStateDict(sd);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof tg.nn.StateDictError && err instanceof tg.TorchError);
  assert.strictEqual(err.code, 'ERR_STATE_DICT');
  assert.match(err.message, /missing keys \(2\): features\.0\.bias, head\.weight/);
  assert.match(err.message, /unexpected keys \(1\): extra\.weight/);
  assert.match(err.message, /shape mismatches \(1\): features\.0\.weight expected \[6, 4\], found \[6, 5\]/);
  assert.match(err.message, /not tensors \(1\): scale/);
  assert.deepStrictEqual(err.missing, ['features.0.bias', 'head.weight']);
  assert.deepStrictEqual(err.unexpected, ['extra.weight']);
  assert.deepStrictEqual(err.mismatched, [{ key: 'features.0.weight', expected: [6, 4], found: [6, 5] }]);
  assert.ok(net.head.bias.equal(before), 'nothing was copied');
});

test('non-strict loadStateDict() loads what matches and reports the rest; shape mismatches still throw', () => {
  const net = new Net();
  const src = new Net();
  const sd = { 'head.weight': src.head.weight.detach(), 'other.bias': tg.zeros([3]) };
  const report = net.loadStateDict(sd, { strict: false });
  assert.deepStrictEqual(report.loaded, ['head.weight']);
  assert.deepStrictEqual(report.unexpected, ['other.bias']);
  assert.strictEqual(report.missing.length, NET_KEYS.length - 2, 'all but head.weight and the optional num_batches_tracked');
  assert.ok(net.head.weight.equal(src.head.weight));
  assert.throws(() => net.loadStateDict({ 'head.weight': tg.zeros([3, 3]) }, { strict: false }), /shape mismatches \(1\): head\.weight expected \[2, 6\], found \[3, 3\]/);
  assert.throws(() => net.loadStateDict([1, 2]), /expected a state dict/);
});

test('a BatchNorm checkpoint without num_batches_tracked (old PyTorch) loads strictly', () => {
  const bn = new nn.BatchNorm2d(3);
  const sd = bn.stateDict();
  delete sd.num_batches_tracked;
  assert.deepStrictEqual(bn.loadStateDict(sd).missing, []);
});

test('to(dtype) converts floating parameters and buffers in place of the old ones, keeping leaves, flags, grads and sharing', () => {
  const shared = new nn.Linear(3, 3);
  const net = new nn.Sequential({ a: shared, bn: new nn.BatchNorm1d(3), b: shared });
  net.bn.bias.requiresGrad = false;
  net.forward(tg.randn([4, 3])).sum().backward();
  const oldW = shared.weight;
  assert.strictEqual(net.to('float64'), net);
  assert.ok(oldW.isDisposed, 'the old tensor is released');
  assert.strictEqual(shared.weight.dtype, 'float64');
  assert.ok(shared.weight.isLeaf && shared.weight.requiresGrad);
  assert.strictEqual(shared.weight.grad.dtype, 'float64', 'the gradient moves along');
  assert.strictEqual(net.bn.bias.requiresGrad, false, 'a frozen parameter stays frozen');
  assert.strictEqual(net.bn.num_batches_tracked.dtype, 'int64', 'integer buffers keep their dtype');
  assert.strictEqual(net.bn.running_mean.dtype, 'float64');
  assert.strictEqual(net.a.weight, net.b.weight, 'shared parameters stay shared');
  assert.strictEqual(net.parameters().length, 4, 'shared parameters are listed once');
  assert.deepStrictEqual(Object.keys(net.stateDict()), ['a.weight', 'a.bias', 'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked', 'b.weight', 'b.bias']);
  assert.strictEqual(net.forward(tg.randn([2, 3], { dtype: 'float64' })).dtype, 'float64');
  const w = shared.weight;
  net.to({ device: 'cpu', dtype: 'float64' });
  assert.strictEqual(shared.weight, w, 'nothing changes when already there');
  assert.throws(() => net.to('int64'), /converts to floating dtypes only/);
  assert.throws(() => net.to(5), /expected a device \('cuda'\), a dtype \('float64'\) or \{ device, dtype \}/);
});

test('to() a missing device fails and leaves the module untouched', { skip: tg.cuda.isAvailable() && 'a GPU is present' }, () => {
  const lin = new nn.Linear(2, 2);
  const w = lin.weight;
  assert.throws(() => lin.to('cuda'));
  assert.strictEqual(lin.weight, w);
  assert.ok(!w.isDisposed);
});

test('apply() visits children before their parent; zeroGrad() clears gradients; numParameters() counts', () => {
  const net = new Net();
  const seen = [];
  assert.strictEqual(net.apply((m) => seen.push(m.constructor.name)), net);
  assert.deepStrictEqual(seen, ['Linear', 'BatchNorm1d', 'ReLU', 'Sequential', 'Linear', 'Net']);
  net.forward(tg.randn([3, 4])).sum().backward();
  assert.ok(net.parameters().every((p) => p.grad));
  net.zeroGrad();
  assert.ok(net.parameters().every((p) => p.grad === undefined));
  assert.strictEqual(net.numParameters(), 2 + 4 * 6 + 6 + 6 + 6 + 6 * 2 + 2);
  net.head.weight.requiresGrad = false;
  assert.strictEqual(net.numParameters({ trainableOnly: true }), 2 + 4 * 6 + 6 + 6 + 6 + 2);
});

test('forward hooks run around call(), can replace the output, and are removable', () => {
  const lin = new nn.Linear(2, 2);
  const seen = [];
  const pre = lin.registerForwardPreHook((m, args) => void seen.push(['pre', args[0].shape]));
  const post = lin.registerForwardHook((m, args, out) => tg.zerosLike(out));
  const seq = new nn.Sequential([lin]);
  const y = seq.forward(tg.ones([3, 2]));
  assert.deepStrictEqual(seen, [['pre', [3, 2]]]);
  assert.deepStrictEqual(y.toArray(), [[0, 0], [0, 0], [0, 0]]);
  pre.remove();
  post.remove();
  assert.ok(seq.forward(tg.ones([1, 2])).abs().sum().item() > 0);
  assert.strictEqual(seen.length, 1);
});

test('summary() tables names, types, traced output shapes, parameter counts and trainability without side effects', () => {
  const net = new Net();
  net.head.weight.requiresGrad = false;
  const text = net.summary([5, 4]);
  const lines = text.split('\n');
  assert.match(lines[1], /^Name\s+Type\s+Output shape\s+Params\s+Trainable$/);
  assert.ok(lines.some((l) => /^\(root\)\s+Net\s+\[5, 2\]\s+2\s+yes$/.test(l)), text);
  assert.ok(lines.some((l) => /^features\.0\s+Linear\s+\[5, 6\]\s+30\s+yes$/.test(l)), text);
  assert.ok(lines.some((l) => /^features\.2\s+ReLU\s+\[5, 6\]\s+0\s+-$/.test(l)), text);
  assert.ok(lines.some((l) => /^head\s+Linear\s+\[5, 2\]\s+14\s+partly$/.test(l)), text);
  assert.match(text, /Total params: 58\nTrainable params: 46\nNon-trainable params: 12/);
  assert.ok(net.training && net.features.training, 'training mode restored');
  assert.strictEqual(net.features.at(1).num_batches_tracked.item(), 0, 'BatchNorm statistics untouched');
  assert.ok(!Object.prototype.hasOwnProperty.call(net.head, 'forward'), 'tracing leaves no trace');
  assert.doesNotMatch(net.summary(), /Output shape/);
  assert.throws(() => net.summary([5, 3]), /summary\(\): the forward pass on the given input failed: Linear\(4, 6\): expected input with last dimension 4/);
  const emb = new nn.Sequential([new nn.Embedding(10, 3), new nn.Flatten()]);
  assert.match(emb.summary(tg.tensor([[1, 2]])), /1\s+Flatten\s+\[1, 6\]/);
});

test('Sequential from an array, an object or arguments: names, at(), append(), iteration and chaining', () => {
  const a = new nn.Sequential([new nn.Linear(2, 3), new nn.ReLU()]);
  assert.deepStrictEqual(a.keys(), ['0', '1']);
  const b = new nn.Sequential(new nn.Linear(2, 3), new nn.Tanh());
  assert.deepStrictEqual(b.keys(), ['0', '1']);
  const c = new nn.Sequential({ hidden1: new nn.Linear(2, 3), act1: new nn.ELU() });
  assert.deepStrictEqual(c.keys(), ['hidden1', 'act1']);
  assert.strictEqual(c.at('act1'), c.get('act1'));
  assert.strictEqual(c.at(-1), c.at(1));
  assert.strictEqual(a.at(0), a[0], 'numeric names are properties too');
  assert.strictEqual(c.hidden1, c.at(0));
  a.append(new nn.Linear(3, 1));
  c.append(new nn.Linear(3, 1), 'outputs');
  assert.deepStrictEqual(a.keys(), ['0', '1', '2']);
  assert.deepStrictEqual(c.keys(), ['hidden1', 'act1', 'outputs']);
  assert.strictEqual(a.length, 3);
  assert.deepStrictEqual([...c].map((m) => m.constructor.name), ['Linear', 'ELU', 'Linear']);
  assert.deepStrictEqual(c.forward(tg.randn([4, 2])).shape, [4, 1]);
  assert.throws(() => c.at(3), /Sequential.at\(3\): out of range for 3 children/);
  assert.throws(() => c.at('hidden9'), /no child named 'hidden9'; children: hidden1, act1, outputs/);
  assert.deepStrictEqual(new nn.Sequential().forward(5), 5, 'an empty Sequential is the identity');
});

test('modules print like PyTorch', () => {
  const net = new nn.Sequential({ hidden1: new nn.Linear(784, 300), act1: new nn.ELU(), block: new nn.Sequential([new nn.Conv2d(3, 8, 3, { padding: 1, bias: false })]) });
  assert.strictEqual(
    String(net),
    [
      'Sequential(',
      '  (hidden1): Linear(inFeatures=784, outFeatures=300, bias=true)',
      '  (act1): ELU(alpha=1)',
      '  (block): Sequential(',
      '    (0): Conv2d(3, 8, kernelSize=[3, 3], stride=[1, 1], padding=[1, 1], bias=false)',
      '  )',
      ')',
    ].join('\n'),
  );
});

test('layers reject wrong input shapes and bad options with messages naming the layer', () => {
  assert.throws(() => new nn.Linear(4, 2).forward(tg.randn([3, 5])), /Linear\(4, 2\): expected input with last dimension 4, got shape \[3, 5\]/);
  assert.throws(() => new nn.Conv2d(3, 8, 3).forward(tg.randn([1, 4, 8, 8])), /Conv2d: expected input with 3 channels, got 4 \(shape \[1, 4, 8, 8\]\)/);
  assert.throws(() => new nn.Conv2d(3, 8, 3).forward(tg.randn([8, 8])), /Conv2d: expected 3-D or 4-D input, got shape \[8, 8\]/);
  assert.throws(() => new nn.BatchNorm2d(3).forward(tg.randn([2, 3])), /BatchNorm2d: expected 4-D input, got shape \[2, 3\]/);
  assert.throws(() => new nn.BatchNorm1d(3).forward(tg.randn([2, 4])), /BatchNorm1d\(3\): expected 3 channels in dimension 1/);
  assert.throws(() => new nn.LayerNorm([4, 5]).forward(tg.randn([2, 5, 4])), /LayerNorm\(\[4, 5\]\): expected input ending in \[4, 5\]/);
  assert.throws(() => new nn.Embedding(5, 2).forward(tg.randn([3])), /Embedding: expected int64 or int32 indices, got float32/);
  assert.throws(() => new nn.Softmax(), /Softmax: pass the dimension to normalise over/);
  assert.throws(() => new nn.Softmax(2).forward(tg.randn([2, 2])), /Softmax\(2\): dimension out of range/);
  assert.throws(() => new nn.ReLU().forward([1, 2]), /ReLU: expected a Tensor, got object/);
  assert.throws(() => new nn.Conv2d(3, 8, 3, { groups: 2 }), /inChannels \(3\) must be divisible by groups \(2\)/);
  assert.throws(() => new nn.Linear(4.5, 2), /Linear: inFeatures must be an integer >= 0, got 4.5/);
  assert.throws(() => new nn.Linear(4, 2, { dtype: 'int64' }), /Linear: dtype must be a floating dtype, got 'int64'/);
  assert.throws(() => new nn.MSELoss({ reduction: 'avg' }), /MSELoss: reduction must be 'mean', 'sum' or 'none', got 'avg'/);
  assert.throws(() => new nn.MSELoss().forward(tg.randn([2])), /MSELoss: target must be a Tensor, got undefined/);
  assert.throws(() => new nn.BatchNorm2d(3, { momentum: 2 }), /momentum must be a number in \[0, 1\]/);
});

test('single-argument layers take the argument or an options object', () => {
  assert.strictEqual(new nn.Dropout({ p: 0.2 }).p, 0.2);
  assert.strictEqual(new nn.Dropout().p, 0.5);
  assert.strictEqual(new nn.Softmax({ dim: 1 }).dim, 1);
  assert.strictEqual(new nn.LogSoftmax(-1).dim, -1);
});

test('layers create their parameters with the requested dtype', () => {
  const lin = new nn.Linear(3, 2, { dtype: 'float64' });
  assert.strictEqual(lin.weight.dtype, 'float64');
  const bn = new nn.BatchNorm2d(2, { dtype: 'float64' });
  assert.strictEqual(bn.running_var.dtype, 'float64');
  assert.strictEqual(bn.num_batches_tracked.dtype, 'int64');
  assert.strictEqual(bn.runningMean, bn.running_mean);
});

test('a training loop over a module inside tidy keeps the tensor count flat', () => {
  const net = new nn.Sequential([new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(8, 2)]);
  const loss = new nn.CrossEntropyLoss();
  const x = tg.randn([16, 4]);
  const y = tg.randint(0, 2, [16]);
  const counts = [];
  for (let i = 0; i < 5; i++) {
    tg.tidy(() => {
      net.zeroGrad();
      loss.forward(net.forward(x), y).backward();
      tg.noGrad(() => net.parameters().forEach((p) => p.sub_(p.grad.mul(0.1))));
    });
    counts.push(tg.memory().tensors);
  }
  assert.ok(counts.every((c) => c === counts[0]), `tensor counts ${counts}`);
});

test('requiresGrad_() switches every parameter', () => {
  const net = new Net();
  assert.strictEqual(net.requiresGrad_(false), net);
  assert.ok(net.parameters().every((p) => !p.requiresGrad));
  assert.strictEqual(net.numParameters({ trainableOnly: true }), 0);
  net.features.requiresGrad_();
  assert.deepStrictEqual(net.parameters().filter((p) => p.requiresGrad).map(tg.nn.parameterName), ['features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias']);
});

test('modules assigned as plain properties become children in assignment order, as in PyTorch', () => {
  class Plain extends nn.Module {
    constructor() {
      super();
      this.encoder = new nn.Linear(3, 4);
      this.act = new nn.Tanh();
      this.registerParameter('temperature', tg.ones([1]));
      this.decoder = new nn.Linear(4, 3);
      this.note = 'not a module';
    }
    forward(x) {
      return this.decoder.call(this.act.call(this.encoder.call(x))).div(this.temperature);
    }
  }
  const m = new Plain();
  assert.deepStrictEqual(Object.keys(m.stateDict()), ['temperature', 'encoder.weight', 'encoder.bias', 'decoder.weight', 'decoder.bias']);
  assert.deepStrictEqual(m.namedChildren().map(([n]) => n), ['encoder', 'act', 'decoder']);
  m.to('float64');
  assert.strictEqual(m.encoder.weight.dtype, 'float64', 'the property reads the converted child');
  assert.deepStrictEqual(m.forward(tg.randn([2, 3], { dtype: 'float64' })).shape, [2, 3]);
  m.decoder = new nn.Identity();
  assert.deepStrictEqual(m.namedChildren().map(([n]) => n), ['encoder', 'act', 'decoder']);
  assert.ok(m.get('decoder') instanceof nn.Identity, 'assigning again replaces the child');
});

test('ModuleList and ModuleDict register their modules under indexed and named dotted paths', () => {
  class Net2 extends nn.Module {
    constructor() {
      super();
      this.blocks = new nn.ModuleList([new nn.Linear(2, 2), new nn.Linear(2, 2)]);
      this.heads = new nn.ModuleDict({ a: new nn.Linear(2, 1), b: new nn.Linear(2, 3) });
    }
    forward(x) {
      for (const b of this.blocks) x = b.call(x);
      return this.heads.get('b').call(x);
    }
  }
  const net = new Net2();
  assert.deepStrictEqual(Object.keys(net.stateDict()), ['blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'blocks.1.bias', 'heads.a.weight', 'heads.a.bias', 'heads.b.weight', 'heads.b.bias']);
  assert.deepStrictEqual(net.forward(tg.randn([4, 2])).shape, [4, 3]);
  net.blocks.append(new nn.ReLU()).extend([new nn.Tanh()]);
  assert.strictEqual(net.blocks.length, 4);
  assert.strictEqual(net.blocks.at(-1), net.get('blocks.3'));
  assert.deepStrictEqual(net.heads.keys(), ['a', 'b']);
  assert.ok(net.heads.has('a') && !net.heads.has('c'));
  assert.throws(() => net.blocks.append('relu'), /ModuleList: item '4' must be a tg.nn.Module, got a string/);
  assert.throws(() => net.heads.set('c', {}), /ModuleDict: item 'c' must be a tg.nn.Module/);
  assert.throws(() => net.blocks.forward(), /ModuleList has no forward\(\)/);
  assert.throws(() => net.blocks.at(9), /ModuleList.at\(9\): out of range for 4 modules/);
});

test('zeroGrad() and to() leave no tensor handles behind', () => {
  const lin = new nn.Linear(3, 2);
  lin.forward(tg.randn([2, 3])).sum().backward();
  const before = tg.memory().tensors;
  lin.to('float64');
  assert.strictEqual(tg.memory().tensors, before, 'to() replaces tensors one for one');
  assert.deepStrictEqual(lin.weight.grad.shape, [2, 3]);
  const withGradHandle = tg.memory().tensors;
  lin.zeroGrad();
  assert.strictEqual(tg.memory().tensors, withGradHandle);
  assert.strictEqual(lin.weight.grad, undefined);
});
