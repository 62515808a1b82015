'use strict';
// ResNet-18/34 against torchvision's structure (defined by hand in Python when torchvision is absent):
// identical state-dict names and shapes, strict loading of Python's weights, and the same outputs.
const test = require('node:test');
const assert = require('node:assert');
const tg = require('..');
const { hasPyTorch, runTorch, assertClose } = require('./helpers/torch');

// oneDNN stays on here, as in Python: on Debian 13's LibTorch 2.6 (2.6.0+dfsg-7, oneDNN 3.7.2) the native convolution
// that avoidOneDnnBackwardNaN() switches to gave conv1's weight gradient 0.3% (of its largest value) away from
// Python's, with or without oneDNN on the Python side (seen 2026-12-07); with oneDNN on both sides they agree.
const { stateDictFromPy } = require('./helpers/nn');

const skip = !hasPyTorch() && 'Python PyTorch (/usr/bin/python3) is not available';

// torchvision.models.resnet's BasicBlock/ResNet, verbatim in structure and names (used when torchvision is absent).
const TORCHVISION_RESNET = `
import torch.nn as nn
try:
    from torchvision.models import resnet18, resnet34, resnet50
    from torchvision.models.resnet import Bottleneck
except ImportError:
    def conv3x3(i, o, stride=1): return nn.Conv2d(i, o, kernel_size=3, stride=stride, padding=1, bias=False)
    def conv1x1(i, o, stride=1): return nn.Conv2d(i, o, kernel_size=1, stride=stride, bias=False)
    class BasicBlock(nn.Module):
        expansion = 1
        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv3x3(inplanes, planes, stride); self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = conv3x3(planes, planes); self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample; self.stride = stride
        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            if self.downsample is not None: identity = self.downsample(x)
            return self.relu(out + identity)
    class Bottleneck(nn.Module):
        expansion = 4
        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = conv1x1(inplanes, planes); self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = conv3x3(planes, planes, stride); self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = conv1x1(planes, planes * 4); self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample; self.stride = stride
        def forward(self, x):
            identity = x
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            if self.downsample is not None: identity = self.downsample(x)
            return self.relu(out + identity)
    class ResNet(nn.Module):
        def __init__(self, block, layers, num_classes=1000):
            super().__init__()
            self.inplanes = 64
            self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64); self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(block, 64, layers[0])
            self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
            self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
            self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512 * block.expansion, num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d): nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                elif isinstance(m, nn.BatchNorm2d): nn.init.constant_(m.weight, 1); nn.init.constant_(m.bias, 0)
        def _make_layer(self, block, planes, blocks, stride=1):
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride), nn.BatchNorm2d(planes * block.expansion))
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            for _ in range(1, blocks): layers.append(block(self.inplanes, planes))
            return nn.Sequential(*layers)
        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))
    def resnet18(num_classes=1000): return ResNet(BasicBlock, [2, 2, 2, 2], num_classes)
    def resnet34(num_classes=1000): return ResNet(BasicBlock, [3, 4, 6, 3], num_classes)
    def resnet50(num_classes=1000): return ResNet(Bottleneck, [3, 4, 6, 3], num_classes)
`;

const GRADS = ['conv1.weight', 'bn1.weight', 'layer2.0.downsample.0.weight', 'layer4.1.bn2.weight', 'fc.weight', 'fc.bias'];

test('resnet18 loads weights exported from torchvision-structured PyTorch strictly by name and gives the same outputs and gradients', { skip }, () => {
  tg.manualSeed(1);
  const x = tg.randn([2, 3, 64, 64]);
  const g = tg.randn([2, 10]);
  const ours18 = tg.nn.models.resnet18({ numClasses: 10 });
  const ours34 = tg.nn.models.resnet34();
  const py = runTorch(
    `${TORCHVISION_RESNET}
import json
GRADS = ${JSON.stringify(GRADS)}
torch.manual_seed(0)
net = resnet18(num_classes=10)
# Non-trivial running statistics, as a trained network has.
with torch.no_grad():
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2); m.running_var.uniform_(0.5, 1.5)
            m.weight.uniform_(0.5, 1.5); m.bias.uniform_(-0.2, 0.2); m.num_batches_tracked.fill_(7)
for k, v in net.state_dict().items(): OUT['sd.' + k] = v.clone()  # OUT is written at exit, after the training step below
net.eval()
OUT['y'] = net(T['x'])
net.train()
(net(T['x']) * T['g']).sum().backward()
for n in GRADS: OUT['grad.' + n] = net.get_parameter(n).grad
OUT['bn1.running_mean'] = net.bn1.running_mean
ours34 = json.loads(${JSON.stringify(JSON.stringify(Object.entries(ours34.stateDict()).map(([k, v]) => [k, v.shape])))})
theirs34 = [[k, list(v.shape)] for k, v in resnet34().state_dict().items()]
assert ours34 == theirs34, 'resnet34 state dict differs'
`,
    { x, g },
  );
  const sd = stateDictFromPy(py, 'sd.');
  assert.deepStrictEqual(Object.keys(ours18.stateDict()), Object.keys(sd), 'same names in the same order');
  assert.strictEqual(Object.keys(sd).length, 122);
  const report = ours18.loadStateDict(sd);
  assert.strictEqual(report.loaded.length, 122);
  assert.deepStrictEqual([report.missing, report.unexpected, report.mismatched], [[], [], []]);
  assert.strictEqual(ours18.layer1.get('0').bn1.num_batches_tracked.item(), 7);
  assert.strictEqual(ours18.get('layer1.0.bn1').num_batches_tracked.dtype, 'int64');
  ours18.eval();
  const y = tg.noGrad(() => ours18.forward(x));
  assertClose(assert, y, py.y, 1e-5, 'resnet18 eval output');
  // Training mode: batch statistics, running-statistics updates and gradients agree too.
  ours18.train();
  ours18.forward(x).mul(g).sum().backward();
  for (const n of GRADS) assertClose(assert, ours18.getParameter(n).grad, py[`grad.${n}`], 1e-5, `gradient of ${n}`);
  assertClose(assert, ours18.bn1.running_mean, py['bn1.running_mean'], 1e-5, 'bn1.running_mean after a training step');
  assert.strictEqual(ours18.bn1.num_batches_tracked.item(), 8);
  ours34.dispose();
});

test('resnet50 and a Bottleneck block match torchvision: state-dict names and shapes, and the outputs of a block', { skip }, () => {
  tg.manualSeed(2);
  const names50 = Object.entries(tg.nn.models.resnet50().stateDict()).map(([k, v]) => [k, v.shape]);
  const { Bottleneck } = tg.nn.models;
  const ds = new tg.nn.Sequential([new tg.nn.Conv2d(32, 64, 1, { stride: 2, bias: false }), new tg.nn.BatchNorm2d(64)]);
  const block = new Bottleneck(32, 16, 2, ds).eval();
  const x = tg.randn([2, 32, 8, 8]);
  const inputs = { x };
  for (const [k, v] of Object.entries(block.stateDict())) inputs[`sd.${k}`] = v;
  const py = runTorch(
    `${TORCHVISION_RESNET}
import json
ours = json.loads(${JSON.stringify(JSON.stringify(names50))})
theirs = [[k, list(v.shape)] for k, v in resnet50().state_dict().items()]
assert ours == theirs, 'resnet50 state dict differs'
b = Bottleneck(32, 16, 2, nn.Sequential(nn.Conv2d(32, 64, 1, stride=2, bias=False), nn.BatchNorm2d(64)))
b.load_state_dict({k[3:]: v for k, v in T.items() if k.startswith('sd.')}, strict=True)
OUT['y'] = b.eval()(T['x'])
`,
    inputs,
  );
  assert.strictEqual(names50.length, 320);
  assertClose(assert, block.forward(x), py.y, 1e-5, 'Bottleneck output');
});

test('resnet18 names, shapes and options follow torchvision', () => {
  const net = tg.nn.models.resnet18({ numClasses: 5, inChannels: 1 });
  const names = Object.keys(net.stateDict());
  for (const n of ['conv1.weight', 'layer1.0.bn1.running_mean', 'layer2.0.downsample.0.weight', 'layer2.0.downsample.1.num_batches_tracked', 'layer4.1.bn2.bias', 'fc.weight', 'fc.bias'])
    assert.ok(names.includes(n), n);
  assert.ok(!names.includes('layer1.0.downsample.0.weight'), 'layer1 keeps the identity shortcut');
  assert.deepStrictEqual(net.conv1.weight.shape, [64, 1, 7, 7]);
  assert.deepStrictEqual(net.fc.weight.shape, [5, 512]);
  // torchvision's resnet18 has 11,689,512 parameters; swap its fc (1000 classes) and conv1 (3 channels).
  assert.strictEqual(net.numParameters(), 11689512 - (512 * 1000 + 1000) + (512 * 5 + 5) - 64 * 3 * 49 + 64 * 1 * 49);
  const y = tg.noGrad(() => net.eval().forward(tg.randn([2, 1, 32, 32])));
  assert.deepStrictEqual(y.shape, [2, 5]);
  assert.throws(() => net.forward(tg.randn([2, 3, 32, 32])), /expected input of shape \(N, 1, H, W\), got \[2, 3, 32, 32\]/);
  net.dispose();
});

test('resnet18 trains: a backward pass fills every parameter gradient and updates BatchNorm statistics', () => {
  const net = tg.nn.models.resnet18({ numClasses: 3 });
  const loss = new tg.nn.CrossEntropyLoss().forward(net.forward(tg.randn([2, 3, 32, 32])), tg.tensor([0, 2]));
  loss.backward();
  for (const [n, p] of net.namedParameters()) assert.ok(p.grad && p.grad.shape.join() === p.shape.join(), `gradient of ${n}`);
  assert.strictEqual(net.bn1.num_batches_tracked.item(), 1);
  net.dispose();
});
