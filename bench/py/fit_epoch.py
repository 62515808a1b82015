# Python twin of bench/fit-engine.js: epochs of an MLP 784-300-100-10 trained with Adam on shuffled batches gathered
# with index_select, the loop PyTorch users write by hand (zero_grad, forward, cross_entropy, backward, step, a running
# loss sum). Prints {"epochMs": [...], "steps": n} as JSON.
import json
import sys
import time

import torch

n, batch, epochs, threads = (int(a) for a in sys.argv[1:5])
torch.set_num_threads(threads)
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(784, 300), torch.nn.ReLU(), torch.nn.Linear(300, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
x = torch.randn(n, 784)
y = torch.randint(0, 10, (n,))
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
gen = torch.Generator().manual_seed(1)
times = []
for epoch in range(epochs + 1):  # the first epoch warms up
    t0 = time.perf_counter()
    order = torch.randperm(n, generator=gen)
    total = torch.zeros((), dtype=torch.float64)
    for start in range(0, n, batch):
        idx = order[start:start + batch]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(net(xb), yb)
        loss.backward()
        opt.step()
        with torch.no_grad():
            total.add_(loss, alpha=xb.shape[0])
    total.item()
    if epoch:
        times.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"epochMs": times, "steps": (n + batch - 1) // batch}))
