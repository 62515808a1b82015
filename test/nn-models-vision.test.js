'use strict';
// ConvNeXt, Vision Transformer and DenseNet against torchvision (weights=None, seeded): Python builds each model,
// torchgraft builds the same one, loads Python's state dict STRICTLY (same names in the same order) and gives the same
// eval outputs; reduced configurations of the same classes also compare gradients. Full-size models go through a file.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const tg = require('..');
const { hasPyTorch, runTorch, assertClose, avoidOneDnnBackwardNaN } = require('./helpers/torch');
const { stateDictFromPy } = require('./helpers/nn');

avoidOneDnnBackwardNaN();  // LibTorch 2.6's oneDNN: NaN convolution gradients under load (helpers/torch.js)

const skip = !hasPyTorch() && 'Python PyTorch (/usr/bin/python3) is not available';

// Non-trivial values where torchvision's initialisation leaves a model nearly trivial (ViT's zero head, ConvNeXt's
// layer_scale of 1e-6, BatchNorm's unit statistics), as trained weights have.
const PY_PERTURB = `
def perturb(net):
    with torch.no_grad():
        for n, p in net.named_parameters():
            if n.endswith('layer_scale'): p.uniform_(0.2, 1.0)
            if n.startswith('heads.head.'): p.normal_(0, 0.05)
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2); m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5); m.bias.uniform_(-0.2, 0.2); m.num_batches_tracked.fill_(3)
    return net
`;

// A reduced model of each family: [label, Python constructor, torchgraft constructor, input shape, parameters to check the gradients of].
const SMALL = [
  [
    'ConvNeXt',
    `from torchvision.models.convnext import ConvNeXt, CNBlockConfig
net = ConvNeXt([CNBlockConfig(8, 16, 1), CNBlockConfig(16, None, 2)], num_classes=10)`,
    () => new tg.nn.models.ConvNeXt([{ inputChannels: 8, outChannels: 16, numLayers: 1 }, { inputChannels: 16, outChannels: null, numLayers: 2 }], { numClasses: 10 }),
    [2, 3, 32, 32],
    ['features.0.0.weight', 'features.0.1.weight', 'features.1.0.layer_scale', 'features.1.0.block.0.weight', 'features.1.0.block.2.bias', 'features.2.0.weight', 'features.3.1.block.5.weight', 'classifier.0.weight', 'classifier.2.bias'],
  ],
  [
    'VisionTransformer',
    `from torchvision.models.vision_transformer import VisionTransformer
net = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10)`,
    () => new tg.nn.models.VisionTransformer({ patchSize: 8, numLayers: 2, numHeads: 2, hiddenDim: 32, mlpDim: 64 }, { imageSize: 32, numClasses: 10 }),
    [2, 3, 32, 32],
    ['class_token', 'conv_proj.weight', 'encoder.pos_embedding', 'encoder.layers.encoder_layer_0.ln_1.weight', 'encoder.layers.encoder_layer_0.self_attention.in_proj_weight',
      'encoder.layers.encoder_layer_1.self_attention.out_proj.bias', 'encoder.layers.encoder_layer_1.mlp.0.weight', 'encoder.layers.encoder_layer_1.mlp.3.bias', 'encoder.ln.weight', 'heads.head.weight'],
  ],
  [
    'DenseNet',
    `from torchvision.models.densenet import DenseNet
net = DenseNet(growth_rate=8, block_config=(2, 3), num_init_features=16, bn_size=2, num_classes=10)`,
    () => new tg.nn.models.DenseNet({ growthRate: 8, blockConfig: [2, 3], numInitFeatures: 16, bnSize: 2 }, { numClasses: 10 }),
    [2, 3, 32, 32],
    ['features.conv0.weight', 'features.norm0.weight', 'features.denseblock1.denselayer1.norm1.weight', 'features.denseblock1.denselayer2.conv2.weight',
      'features.transition1.conv.weight', 'features.denseblock2.denselayer3.conv1.weight', 'features.norm5.bias', 'classifier.weight'],
  ],
];

for (const [label, pyBuild, build, shape, grads] of SMALL) {
  test(`${label} (reduced configuration) loads torchvision's state dict strictly and gives the same eval outputs and gradients`, { skip }, () => {
    tg.manualSeed(11);
    const x = tg.randn(shape);
    const g = tg.randn([shape[0], 10]);
    const py = runTorch(`
${PY_PERTURB}
torch.manual_seed(0)
${pyBuild}
perturb(net).eval()
for k, v in net.state_dict().items(): OUT['sd.' + k] = v.clone()
x = T['x'].clone().requires_grad_(True)
y = net(x)
(y * T['g']).sum().backward()
OUT['y'] = y
OUT['dx'] = x.grad
for n in ${JSON.stringify(grads)}: OUT['grad.' + n] = net.get_parameter(n).grad
`, { x, g });
    const sd = stateDictFromPy(py, 'sd.');
    const net = build();
    assert.deepStrictEqual(Object.entries(net.stateDict()).map(([k, v]) => [k, v.shape]), Object.entries(sd).map(([k, v]) => [k, v.shape]), 'same names and shapes in the same order');
    const report = net.loadStateDict(sd, { strict: true });
    assert.deepStrictEqual([report.missing, report.unexpected, report.mismatched], [[], [], []]);
    net.eval();
    const xg = x.clone().requiresGrad_(true);
    const y = net.forward(xg);
    assertClose(assert, y, py.y, 1e-5, `${label} eval output`);
    y.mul(g).sum().backward();
    assertClose(assert, xg.grad, py.dx, 1e-5, `${label} input gradient`);
    for (const n of grads) assertClose(assert, net.getParameter(n).grad, py[`grad.${n}`], 1e-5, `${label} gradient of ${n}`);
    net.dispose();
  });
}

// Full-size models: Python saves the state dict to a file that tg.io.load reads (86M parameters are too many for runTorch's float64 transfer).
const FULL = [
  ['convnext_tiny', 28589128, () => tg.nn.models.convnext_tiny()],
  ['vit_b_16', 86567656, () => tg.nn.models.vit_b_16()],
  ['densenet121', 7978856, () => tg.nn.models.densenet121()],
];

for (const [name, count, build] of FULL) {
  test(`${name} at full size: torchvision's parameter count, strict load of its state dict in the same order, the same eval output on a 224x224 image`, { skip }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-vision-'));
    try {
      tg.manualSeed(12);
      const x = tg.randn([1, 3, 224, 224]);
      const file = path.join(dir, 'sd.pt');
      const py = runTorch(`
${PY_PERTURB}
import torchvision
torch.manual_seed(0)
net = perturb(torchvision.models.${name}(weights=None)).eval()
torch.save(net.state_dict(), ${JSON.stringify(file)})
json.dump([[k, list(v.shape)] for k, v in net.state_dict().items()], open(${JSON.stringify(path.join(dir, 'keys.json'))}, 'w'))
OUT['count'] = torch.tensor([sum(p.numel() for p in net.parameters())])
with torch.no_grad(): OUT['y'] = net(T['x'])
`, { x });
      const net = build();
      assert.strictEqual(Number(py.count.data[0]), count, 'torchvision parameter count');
      assert.strictEqual(net.numParameters(), count, 'our parameter count');
      const keys = JSON.parse(fs.readFileSync(path.join(dir, 'keys.json'), 'utf8'));
      assert.deepStrictEqual(Object.entries(net.stateDict()).map(([k, v]) => [k, v.shape]), keys, 'same names and shapes in the same order');
      const sd = await tg.io.load(file);
      const report = net.loadStateDict(sd, { strict: true });
      assert.deepStrictEqual([report.missing, report.unexpected, report.mismatched], [[], [], []]);
      for (const t of Object.values(sd)) t.dispose();
      net.eval();
      const y = tg.noGrad(() => net.forward(x));
      assertClose(assert, y, py.y, 1e-5, `${name} eval output`);
      net.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the vision models check their inputs and options, and declare layer groups for freezeTo', () => {
  const cn = new tg.nn.models.ConvNeXt([{ inputChannels: 8, outChannels: null, numLayers: 1 }], { numClasses: 3 });
  assert.deepStrictEqual(cn.layerGroups, ['features.0', 'features.1', 'classifier']);
  // torchvision's truncated normal (std 0.02) for Linear and Conv2d weights, zero biases.
  const w = cn.getParameter('features.1.0.block.3.weight');
  const std = w.std().item();
  assert.ok(std > 0.016 && std < 0.024, `std ${std}`);
  assert.strictEqual(cn.getParameter('features.1.0.block.3.bias').abs().sum().item(), 0);
  const ls = cn.getParameter('features.1.0.layer_scale');
  assert.deepStrictEqual([ls.shape, Math.abs(ls.max().item() - 1e-6) < 1e-12, Math.abs(ls.min().item() - 1e-6) < 1e-12], [[8, 1, 1], true, true]);
  cn.freezeTo(-1);
  assert.ok(cn.getParameter('features.1.0.layer_scale').requiresGrad === false && cn.getParameter('classifier.2.weight').requiresGrad);
  assert.throws(() => cn.forward(tg.randn([1, 1, 32, 32])), /ConvNeXt: expected input of shape \(N, 3, H, W\), got \[1, 1, 32, 32\]/);
  assert.throws(() => new tg.nn.models.ConvNeXt([]), /blockSetting must be a non-empty list/);
  assert.throws(() => tg.nn.models.convnext_tiny({ stochasticDepthProb: 2 }), /stochasticDepthProb/);
  cn.dispose();

  const vit = new tg.nn.models.VisionTransformer({ patchSize: 8, numLayers: 2, numHeads: 2, hiddenDim: 16, mlpDim: 32 }, { imageSize: 16, numClasses: 4 });
  assert.strictEqual(vit.layerGroups.length, 4);
  vit.freezeTo(-1);
  assert.ok(!vit.class_token.requiresGrad && !vit.getParameter('encoder.layers.encoder_layer_1.mlp.3.weight').requiresGrad && vit.getParameter('heads.head.weight').requiresGrad);
  assert.deepStrictEqual(tg.noGrad(() => vit.forward(tg.randn([3, 3, 16, 16]))).shape, [3, 4]);
  assert.throws(() => vit.forward(tg.randn([1, 3, 32, 32])), /expected input of shape \(N, 3, 16, 16\)/);
  assert.throws(() => new tg.nn.models.VisionTransformer({ patchSize: 5, numLayers: 1, numHeads: 2, hiddenDim: 16, mlpDim: 32 }, { imageSize: 16 }), /imageSize \(16\) must be divisible by patchSize \(5\)/);
  assert.throws(() => new tg.nn.models.VisionTransformer({ patchSize: 8, numLayers: 1, numHeads: 3, hiddenDim: 16, mlpDim: 32 }, { imageSize: 16 }), /hiddenDim \(16\) must be divisible by numHeads \(3\)/);
  assert.throws(() => vit.chainLayers(), /not a chain/);
  const rep = new tg.nn.models.VisionTransformer({ patchSize: 8, numLayers: 1, numHeads: 2, hiddenDim: 16, mlpDim: 32 }, { imageSize: 16, representationSize: 12 });
  assert.deepStrictEqual(Object.keys(rep.heads.stateDict()), ['pre_logits.weight', 'pre_logits.bias', 'head.weight', 'head.bias']);
  vit.dispose();
  rep.dispose();

  const dn = new tg.nn.models.DenseNet({ growthRate: 4, blockConfig: [1, 1], numInitFeatures: 8, bnSize: 2 }, { numClasses: 3 });
  assert.deepStrictEqual(dn.layerGroups, [['features.conv0', 'features.norm0'], ['features.denseblock1', 'features.transition1'], ['features.denseblock2'], ['features.norm5', 'classifier']]);
  assert.throws(() => dn.forward(tg.randn([1, 4, 32, 32])), /DenseNet: expected input of shape \(N, 3, H, W\)/);
  // Its chain (features, relu, avgpool, flatten, classifier) computes forward: slicing before the classifier gives the features.
  const feats = tg.noGrad(() => dn.eval().forwardFeatures(tg.ones([1, 3, 32, 32])));
  const chained = tg.noGrad(() => dn.chainLayers().slice(0, 4).reduce((h, [, m]) => m.call(h), tg.ones([1, 3, 32, 32])));
  assertClose(assert, chained, { shape: feats.shape, data: feats.to({ dtype: 'float64' }).dataSync() }, 1e-6, 'DenseNet chain');
  dn.dispose();
});

test('ConvNeXt in training mode drops the same residual branches as torchvision from the same seed (stochasticDepthProb 0.5)', { skip }, () => {
  tg.manualSeed(13);
  const x = tg.randn([4, 3, 32, 32]);
  const py = runTorch(`
${PY_PERTURB}
from torchvision.models.convnext import ConvNeXt, CNBlockConfig
torch.manual_seed(0)
net = perturb(ConvNeXt([CNBlockConfig(8, 16, 2), CNBlockConfig(16, None, 3)], stochastic_depth_prob=0.5, num_classes=10)).train()
for k, v in net.state_dict().items(): OUT['sd.' + k] = v.clone()
OUT['p'] = torch.tensor([m.stochastic_depth.p for m in net.modules() if hasattr(m, 'stochastic_depth')])
torch.manual_seed(5)
with torch.no_grad(): OUT['y'] = net(T['x'])
`, { x });
  const net = new tg.nn.models.ConvNeXt([{ inputChannels: 8, outChannels: 16, numLayers: 2 }, { inputChannels: 16, outChannels: null, numLayers: 3 }], { numClasses: 10, stochasticDepthProb: 0.5 });
  net.loadStateDict(stateDictFromPy(py, 'sd.'), { strict: true });
  const ps = net.modules().filter((m) => m instanceof tg.nn.models.CNBlock).map((m) => m.stochastic_depth.p);
  assert.deepStrictEqual(ps.map((p) => p.toFixed(6)), Array.from(py.p.data).map((p) => p.toFixed(6)), 'drop probabilities grow linearly with depth');
  net.train();
  tg.manualSeed(5);
  const y = tg.noGrad(() => net.forward(x));
  assertClose(assert, y, py.y, 1e-5, 'ConvNeXt training-mode output');
  net.dispose();
});
