"""One rank of bench/ddp.js's PyTorch side: DDP over Gloo, an MLP 784-300-100-10, STEPS steps of BATCH examples."""
import json, os, sys, time
import torch, torch.distributed as dist
import torch.nn as nn

torch.set_num_threads(1)
steps, batch = int(sys.argv[1]), int(sys.argv[2])
rank, world = int(os.environ['RANK']), int(os.environ['WORLD_SIZE'])
dist.init_process_group('gloo', init_method=f"tcp://127.0.0.1:{os.environ['MASTER_PORT']}", rank=rank, world_size=world)
torch.manual_seed(0)
net = nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
ddp = nn.parallel.DistributedDataParallel(net)
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
x, y = torch.randn(batch, 784), torch.randint(0, 10, (batch,))
for _ in range(5):
    opt.zero_grad(); nn.functional.cross_entropy(ddp(x), y).backward(); opt.step()
dist.barrier()
t0 = time.perf_counter()
for _ in range(steps):
    opt.zero_grad(); nn.functional.cross_entropy(ddp(x), y).backward(); opt.step()
dist.barrier()
print(json.dumps({'seconds': time.perf_counter() - t0}))
dist.destroy_process_group()
