// Scripted and traced modules written by /usr/bin/python3 PyTorch at test time, with Python's outputs and names.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { runTorch, tg } = require('./torch');

// The Python side: writes the archives into DIR, their names into DIR/names.json, and the outputs into OUT.
const PY_MODELS = `
from typing import Dict, List, Optional, Tuple
import torch.nn as nn
torch.manual_seed(0)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.Conv2d(4, 6, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Linear(6, 5))
    def forward(self, x):
        return self.classifier(self.features(x))
    @torch.jit.export
    def embed(self, x):
        return self.features(x)

class Two(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
    def forward(self, a, b):
        return self.fc(a) + b, a.sum()

class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 3)
        self.b = self.a
    def forward(self, x):
        return self.b(self.a(x))

class Kinds(nn.Module):
    def forward(self, x: torch.Tensor, k: float, n: int, flag: bool, tag: str, xs: List[torch.Tensor],
                opt: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        out = {'scaled': x * k + n}
        if flag:
            out['sum'] = torch.stack(xs).sum(0)
        if opt is not None:
            out['opt'] = opt * 2
        return out
    @torch.jit.export
    def describe(self, tag: str, n: int) -> Tuple[str, int, float, bool, List[int], Optional[int]]:
        return (tag + '!', n * 2, 0.5, n > 1, [n, n + 1], None)

net = Net()
with torch.no_grad():
    bn = net.features[1]
    bn.running_mean.uniform_(-0.5, 0.5); bn.running_var.uniform_(0.5, 1.5)
    bn.weight.uniform_(0.5, 1.5); bn.bias.uniform_(-0.5, 0.5)
net.eval()
cnn = torch.jit.script(net)
cnn.save(DIR + '/cnn.pt')
two = torch.jit.trace(Two(), (torch.randn(2, 4), torch.randn(2, 3)))
two.save(DIR + '/two.pt')
torch.jit.script(Tied()).save(DIR + '/tied.pt')
torch.jit.script(Kinds()).save(DIR + '/kinds.pt')
torch.save(net.state_dict(), DIR + '/state_dict.pt')

def names(m):
    return {'parameters': [[n, list(p.shape)] for n, p in m.named_parameters()],
            'buffers': [n for n, _ in m.named_buffers()], 'stateDict': list(m.state_dict().keys())}
json.dump({'cnn': names(cnn), 'two': names(two), 'tied': names(torch.jit.load(DIR + '/tied.pt'))}, open(DIR + '/names.json', 'w'))

with torch.no_grad():
    OUT['y'] = cnn(T['x'])
    OUT['f'] = cnn.features(T['x'])
    OUT['conv0'] = getattr(cnn.features, '0')(T['x'])
    a, s = two(T['a'], T['b'])
    OUT['two0'] = a
    OUT['two1'] = s
    OUT['tied'] = torch.jit.load(DIR + '/tied.pt')(T['a'][:, :3])
    for n, v in cnn.state_dict().items():
        OUT['sd_' + n] = v
`;

/** Writes the models into dir; returns { inputs: {x, a, b}, out (Python's outputs), names }. */
function makeScriptModels(dir) {
  tg.manualSeed(7);
  const inputs = { x: tg.randn([2, 3, 8, 8]), a: tg.randn([2, 4]), b: tg.randn([2, 3]) };
  const out = runTorch(`DIR = ${JSON.stringify(dir)}\n${PY_MODELS}`, inputs);
  const names = JSON.parse(fs.readFileSync(path.join(dir, 'names.json'), 'utf8'));
  return { inputs, out, names };
}

module.exports = { makeScriptModels };
