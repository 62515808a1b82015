"""Debian 13's PyTorch 2.6 (oneDNN 3.7.2, 2 OpenMP threads, AMD EPYC): a convolution's backward sometimes returns NaN
in its input gradient although the incoming gradient is finite; with torch.backends.mkldnn.enabled = False, never.
Run two copies at once (the NaNs come under load): python3 onednn-conv-backward-nan.py 300 & python3 ... 300; wait
Found by torchgraft's ONNX golden SGD test (README: Known problems in LibTorch builds)."""
import sys
import torch
import torch.nn.functional as F

if len(sys.argv) > 2 and sys.argv[2] == 'off':
    torch.backends.mkldnn.enabled = False
torch.manual_seed(0)
W = {'c1': torch.randn(8, 1, 3, 3) * 0.3, 'c2': torch.randn(16, 8, 3, 3) * 0.1, 'c3': torch.randn(24, 16, 3, 3) * 0.1}
x = torch.rand(4, 1, 28, 28)
bad = 0
runs = int(sys.argv[1]) if len(sys.argv) > 1 else 300
for _ in range(runs):
    w = {k: v.clone().requires_grad_(True) for k, v in W.items()}
    h2 = F.relu(F.conv2d(F.relu(F.conv2d(x, w['c1'])), w['c2']))
    h2.retain_grad()
    y = F.conv2d(h2, w['c3'])
    y.retain_grad()
    F.batch_norm(F.relu(y), None, None, training=True).square().mean().backward()
    if torch.isnan(h2.grad).any() and not torch.isnan(y.grad).any():
        bad += 1
print(f'torch {torch.__version__}, mkldnn {torch.backends.mkldnn.enabled}: NaN input gradients in {bad} of {runs} runs')
