'use strict';
// TorchScript archives written by Python PyTorch: loaded as trainable torchgraft modules, compared with Python's
// outputs, partly frozen and retrained from TypeScript, and saved back for Python to read.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { hasPyTorch, runTorch, assertClose, tg, avoidOneDnnBackwardNaN } = require('./helpers/torch');

avoidOneDnnBackwardNaN();  // LibTorch 2.6's oneDNN: NaN convolution gradients under load (helpers/torch.js)
const { makeScriptModels } = require('./helpers/torchscript-models');
const { CUDA_SKIP } = require('./helpers/cuda');

const skip = hasPyTorch() ? false : '/usr/bin/python3 with torch is not available';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-script-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

let models;
const setup = () => (models ??= makeScriptModels(dir));
const file = (name) => path.join(dir, name);
const bytesOf = (t) => Buffer.from(t.detach().contiguous().dataSync().buffer);

test('a scripted CNN loads as a tg.nn.Module with Python names, shapes and outputs', { skip }, async () => {
  const { inputs, out, names } = setup();
  const net = await tg.io.loadTorchScript(file('cnn.pt'));
  assert.ok(net instanceof tg.nn.Module);
  assert.ok(net instanceof tg.io.ScriptModule);
  assert.deepStrictEqual(net.namedParameters().map(([n, p]) => [n, p.shape]), names.cnn.parameters);
  assert.deepStrictEqual(net.namedBuffers().map(([n]) => n), names.cnn.buffers);
  assert.deepStrictEqual(Object.keys(net.stateDict()), names.cnn.stateDict);
  assert.deepStrictEqual(net.namedChildren().map(([n]) => n), ['features', 'classifier']);
  assert.match(net.typeName, /Net$/);
  net.eval();
  const y = tg.noGrad(() => net.call(inputs.x));
  assertClose(assert, y, out.y, 1e-5, 'forward');
  assert.match(net.toString(), /^Net\(\n {2}\(features\): Sequential\(\n {4}\(0\): Conv2d\(\)/);
});

test('a submodule called alone gives what Python gives for that submodule', { skip }, async () => {
  const { inputs, out } = setup();
  const net = await tg.io.loadTorchScript(file('cnn.pt'));
  net.eval();
  const features = net.submodule('features');
  assert.strictEqual(features, net.get('features'));
  assert.ok(features instanceof tg.io.ScriptModule);
  assertClose(assert, tg.noGrad(() => features.call(inputs.x)), out.f, 1e-5, 'features');
  assertClose(assert, tg.noGrad(() => net.submodule('features.0').call(inputs.x)), out.conv0, 1e-5, 'features.0');
  assertClose(assert, tg.noGrad(() => net.runMethod('embed', inputs.x)), out.f, 1e-5, 'embed');
  // The submodule's tensors are the parent's own.
  assert.strictEqual(features.getParameter('0.weight'), net.getParameter('features.0.weight'));
});

test('freezing the scripted conv layers and training a new head from TypeScript leaves them bitwise unchanged', { skip }, async () => {
  const { inputs } = setup();
  const net = await tg.io.loadTorchScript(file('cnn.pt'));
  const features = net.submodule('features');
  for (const p of net.parameters(/^features\./)) p.requiresGrad = false;
  const model = new tg.nn.Sequential({ features, head: new tg.nn.Linear(6, 3) });
  const before = new Map([...features.namedParameters(), ...features.namedBuffers()].map(([n, t]) => [n, bytesOf(t)]));
  const opt = new tg.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
  assert.deepStrictEqual(model.parameters().filter((p) => p.requiresGrad).length, 2);
  const target = tg.tensor([0, 1], { dtype: 'int64' });
  const losses = [];
  model.train();
  features.eval(); // a frozen BatchNorm keeps its running statistics
  for (let i = 0; i < 30; i++) {
    losses.push(
      tg.tidy(() => {
        opt.zeroGrad();
        const loss = tg.nn.functional.crossEntropy(model.call(inputs.x), target);
        loss.backward();
        opt.step();
        return loss.item();
      }),
    );
  }
  assert.ok(losses[losses.length - 1] < losses[0] * 0.75, `loss should fall: ${losses[0]} -> ${losses[losses.length - 1]}`);
  for (const [n, t] of [...features.namedParameters(), ...features.namedBuffers()]) assert.ok(bytesOf(t).equals(before.get(n)), `${n} changed`);
  for (const p of net.parameters(/^features\./)) assert.strictEqual(p.grad, undefined);
  opt.dispose();
});

test('training the scripted classifier from TypeScript and saving gives an archive Python reads with the same outputs', { skip }, async () => {
  const { inputs } = setup();
  const net = await tg.io.loadTorchScript(file('cnn.pt'));
  const weight = net.getParameter('classifier.1.weight');
  const start = bytesOf(weight);
  const opt = new tg.optim.Adam(net.parameters(/^classifier\./), { lr: 0.05 });
  net.train();
  for (let i = 0; i < 5; i++) {
    tg.tidy(() => {
      opt.zeroGrad();
      net.call(inputs.x).square().mean().backward();
      opt.step();
    });
  }
  opt.dispose();
  assert.ok(!bytesOf(weight).equals(start), 'the optimizer updated the module the scripted code reads');
  net.eval();
  const y = tg.noGrad(() => net.call(inputs.x));
  await net.save(file('cnn-trained.pt'));
  assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  const py = runTorch(`m = torch.jit.load(${JSON.stringify(file('cnn-trained.pt'))})\nm.eval()\nOUT['y'] = m(T['x'])\nOUT['w'] = getattr(m.classifier, '1').weight`, { x: inputs.x });
  assertClose(assert, y, py.y, 1e-5, 'forward after reload in Python');
  assertClose(assert, weight, py.w, 0, 'trained weight');
  const back = await tg.io.loadTorchScript(file('cnn-trained.pt'));
  back.eval();
  assert.ok(bytesOf(tg.noGrad(() => back.call(inputs.x))).equals(bytesOf(y)));
});

test('a traced module with two inputs returns its tuple as an array', { skip }, async () => {
  const { inputs, out, names } = setup();
  const two = await tg.io.loadTorchScript(file('two.pt'));
  assert.deepStrictEqual(two.namedParameters().map(([n, p]) => [n, p.shape]), names.two.parameters);
  const [a, s] = tg.noGrad(() => two.call(inputs.a, inputs.b));
  assertClose(assert, a, out.two0, 1e-5, 'first output');
  assertClose(assert, s, out.two1, 1e-5, 'second output');
});

test('a shared submodule keeps one set of tensors, named as Python names them', { skip }, async () => {
  const { inputs, out, names } = setup();
  const tied = await tg.io.loadTorchScript(file('tied.pt'));
  assert.deepStrictEqual(tied.namedParameters().map(([n]) => n), names.tied.parameters.map(([n]) => n));
  assert.strictEqual(tied.getParameter('a.weight'), tied.getParameter('b.weight'));
  assertClose(assert, tg.noGrad(() => tied.call(inputs.a.slice(1, 0, 3))), out.tied, 1e-5, 'forward');
});

test('tg.io.load reads a shared submodule under both names, as views of one storage (as Python\'s state_dict)', { skip }, async () => {
  const { names } = setup();
  const sd = await tg.io.load(file('tied.pt'));
  assert.deepStrictEqual(Object.keys(sd), names.tied.stateDict);
  assert.ok(bytesOf(sd['a.weight']).equals(bytesOf(sd['b.weight'])));
  sd['a.weight'].fill_(7); // one storage: a write through one name shows through the other
  assert.strictEqual(sd['b.weight'].dataSync()[0], 7);
  tg.dispose(sd);
});

test('arguments follow the method signature and results of every kind come back as JavaScript values', { skip }, async () => {
  setup();
  const kinds = await tg.io.loadTorchScript(file('kinds.pt'));
  const x = tg.tensor([1, 2, 3], { dtype: 'float32' });
  const r = kinds.call(x, 2, 1, true, 'hi', [x, x]);
  assert.deepStrictEqual(Object.keys(r), ['scaled', 'sum']);
  assert.deepStrictEqual(Array.from(r.scaled.dataSync()), [3, 5, 7]);
  assert.deepStrictEqual(Array.from(r.sum.dataSync()), [2, 4, 6]);
  const withOpt = kinds.call(x, 0.5, 0, false, '', [], x);
  assert.deepStrictEqual(Object.keys(withOpt), ['scaled', 'opt']);
  assert.deepStrictEqual(Array.from(withOpt.scaled.dataSync()), [0.5, 1, 1.5]);
  assert.deepStrictEqual(kinds.runMethod('describe', 'tag', 3), ['tag!', 6, 0.5, true, [3, 4], null]);
  assert.deepStrictEqual(kinds.methodNames().sort(), ['describe', 'forward']);
  assert.throws(() => kinds.call(x, 2, 1.5, true, 'hi', []), (e) => e instanceof TypeError && /argument 'n'.*'int'/.test(e.message));
  assert.throws(() => kinds.call('x', 2, 1, true, 'hi', []), (e) => e instanceof TypeError && /argument 'x'.*Tensor/.test(e.message));
  assert.throws(() => kinds.call(x, 2, 1, true, 'hi', [1]), (e) => e instanceof TypeError && /xs.*\[0\]/.test(e.message));
  assert.throws(() => kinds.runMethod('describe', 'a', 1, 2), (e) => e instanceof TypeError && /takes 2 argument/.test(e.message));
  assert.throws(() => kinds.call(x), (e) => e instanceof tg.TorchError && /forward/.test(e.message));
  assert.throws(() => kinds.runMethod('nope'), (e) => e instanceof tg.TorchError && e.code === 'ERR_TORCHSCRIPT_METHOD' && /describe, forward|forward, describe/.test(e.message));
  tg.dispose([x, r, withOpt]);
});

test('code, graph and signature of scripted methods can be read', { skip }, async () => {
  setup();
  const net = await tg.io.loadTorchScript(file('cnn.pt'));
  assert.match(net.code, /def forward\(self,/);
  assert.match(net.graph, /graph\(%self/);
  const embed = net.inspectMethod('embed');
  assert.match(embed.schema, /^embed\(.*Tensor x\) -> Tensor/);
  assert.match(embed.code, /features/);
  assert.throws(() => net.inspectMethod('missing'), (e) => e.code === 'ERR_TORCHSCRIPT_METHOD');
});

test('train() and eval() set the flag the scripted Dropout and BatchNorm read', { skip }, async () => {
  const { inputs } = setup();
  const net = await tg.io.loadTorchScript(file('cnn.pt'));
  net.train();
  assert.strictEqual(net.submodule('classifier.0').training, true);
  tg.manualSeed(1);
  const a = tg.noGrad(() => net.call(inputs.x));
  const b = tg.noGrad(() => net.call(inputs.x));
  assert.ok(!bytesOf(a).equals(bytesOf(b)), 'dropout is active in training mode');
  net.eval();
  assert.strictEqual(net.submodule('features.1').training, false);
  const c = tg.noGrad(() => net.call(inputs.x));
  const d = tg.noGrad(() => net.call(inputs.x));
  assert.ok(bytesOf(c).equals(bytesOf(d)));
});

test('loadStateDict writes into the tensors the scripted code reads, and tg.io.load reads an archive as a state dict', { skip }, async () => {
  const { inputs, out, names } = setup();
  const sd = await tg.io.load(file('cnn.pt'));
  assert.deepStrictEqual(Object.keys(sd), names.cnn.stateDict);
  for (const [n, t] of Object.entries(sd)) assertClose(assert, t, out['sd_' + n], 0, n);
  assert.strictEqual(await tg.io.detectFormat(file('cnn.pt')), 'torchscript');
  assert.notStrictEqual(await tg.io.detectFormat(file('state_dict.pt')), 'torchscript');

  const net = await tg.io.loadTorchScript(file('cnn.pt'));
  net.eval();
  const zeros = tg.zeros([5, 6]);
  net.loadStateDict({ 'classifier.1.weight': zeros }, { strict: false });
  const y = tg.noGrad(() => net.call(inputs.x));
  const bias = net.getParameter('classifier.1.bias');
  assert.ok(bytesOf(y.select(0, 0)).equals(bytesOf(bias)));
  const report = net.loadStateDict(sd);
  assert.strictEqual(report.loaded.length, names.cnn.stateDict.length);
  assertClose(assert, tg.noGrad(() => net.call(inputs.x)), out.y, 1e-5, 'forward after restoring');
  tg.dispose([sd, zeros, y]);
});

test('to() converts a script module in place: the same tensors, a new dtype, still callable', { skip }, async () => {
  const { inputs, out } = setup();
  const net = await tg.io.loadTorchScript(file('cnn.pt'));
  net.eval();
  const w = net.getParameter('features.0.weight');
  w.requiresGrad = false;
  net.to('float64');
  assert.strictEqual(net.getParameter('features.0.weight'), w);
  assert.strictEqual(w.dtype, 'float64');
  assert.strictEqual(w.requiresGrad, false);
  assert.strictEqual(net.getBuffer('features.1.num_batches_tracked').dtype, 'int64');
  const y = tg.noGrad(() => net.call(inputs.x.double()));
  assertClose(assert, y, out.y, 1e-5, 'float64 forward');
  assert.throws(() => net.to('int32'), TypeError);
  // A parent's to() replaces tensors; the native slots follow.
  const parent = new tg.nn.Sequential({ body: net.submodule('features') });
  parent.to('float32');
  assert.strictEqual(net.getParameter('features.0.weight').dtype, 'float32');
  assertClose(assert, tg.noGrad(() => net.submodule('features').call(inputs.x)), out.f, 1e-5, 'after a parent to()');
});

test('summary() and tg.fit work on a script module', { skip }, async () => {
  const { inputs } = setup();
  const net = await tg.io.loadTorchScript(file('cnn.pt'));
  assert.match(net.summary(), /features\.0/);
  for (const p of net.parameters(/^features\./)) p.requiresGrad = false;
  const opt = new tg.optim.SGD(net.parameters(/^classifier\./), { lr: 0.1 });
  const y = tg.tensor([1, 3], { dtype: 'int64' });
  const history = await tg.fit(net, [inputs.x, y], { epochs: 3, batchSize: 2, optimizer: opt, loss: 'crossEntropy', verbose: 0 });
  assert.strictEqual(history.length, 3);
  assert.ok(Number.isFinite(history.epochs[2].loss));
  opt.dispose();
});

test('a script module moved to CUDA computes there what Python computes on the CPU', { skip: skip || CUDA_SKIP }, async () => {
  const { inputs, out } = setup();
  const net = await tg.io.loadTorchScript(file('cnn.pt'));
  const w = net.getParameter('features.0.weight');
  net.to('cuda').eval();
  assert.strictEqual(net.getParameter('features.0.weight'), w);
  assert.match(w.device, /^cuda/);
  const y = tg.noGrad(() => net.call(inputs.x.to('cuda')));
  assert.match(y.device, /^cuda/);
  // cuDNN may use TF32 for convolutions: a looser bound than the CPU's.
  assertClose(assert, y, out.y, 1e-3, 'forward on CUDA');
  await net.save(file('cnn-cuda.pt'));
  const back = await tg.io.loadTorchScript(file('cnn-cuda.pt'));
  assert.strictEqual(back.getParameter('features.0.weight').device, 'cpu');
});
