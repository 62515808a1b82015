# Python twin of bench/feature-cache-build.js: the loop PyTorch users write to cache a frozen conv part's outputs
# (eval mode, no_grad, batch by batch into one preallocated tensor). Prints {"buildMs": [...]} as JSON.
import json
import sys
import time

import torch

n, batch, runs, threads = (int(a) for a in sys.argv[1:5])
torch.set_num_threads(threads)
torch.manual_seed(0)
frozen = torch.nn.Sequential(
    torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
    torch.nn.Conv2d(32, 64, 3, padding=1, stride=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
).eval()
x = torch.randn(n, 3, 32, 32)
times = []
for run in range(runs + 1):  # the first run warms up
    t0 = time.perf_counter()
    out = None
    with torch.no_grad():
        for start in range(0, n, batch):
            y = frozen(x[start:start + batch])
            if out is None:
                out = torch.empty((n,) + tuple(y.shape[1:]))
            out[start:start + y.shape[0]] = y
    if run:
        times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"buildMs": times}))
