# The Python PyTorch side of bench/run.js: the same ops, timed by a loop inside Python (one thread).
# Usage: /usr/bin/python3 bench.py ITERS TRIALS  -> prints one JSON object: { op: [ns/op per trial, ...], ... }
import json
import sys
import time

import torch


def measure(res, name, iters, trials, body):
    body(iters // 4 + 1000)  # warm-up
    wall, cpu = [], []
    for _ in range(trials):
        c0 = time.process_time_ns()  # CPU time: not inflated by other processes on a shared machine
        start = time.perf_counter_ns()
        body(iters)
        wall.append((time.perf_counter_ns() - start) / iters)
        cpu.append((time.process_time_ns() - c0) / iters)
    res[name] = wall
    res[name + '_cpu'] = cpu


def main():
    iters = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    torch.set_num_threads(1)
    x = torch.ones(4, dtype=torch.float32)
    y = torch.ones(4, dtype=torch.float32)

    # Loops are written out in each function so that the op, not a call per iteration, is what is timed.
    def alloc(n):
        for _ in range(n):
            z = x + x  # the previous z is released when rebound
        del z

    def inplace(n):
        for _ in range(n):
            x.add_(y)

    def scalar(n):
        for _ in range(n):
            x.add_(1)

    def empty(n):  # Python's own loop cost, for reference
        for _ in range(n):
            pass

    res = {'threads': torch.get_num_threads(), 'torch': torch.__version__}
    measure(res, 'add_alloc', iters, trials, alloc)
    measure(res, 'add_inplace', iters, trials, inplace)
    measure(res, 'add_scalar_inplace', iters, trials, scalar)
    measure(res, 'loop', iters, trials, empty)
    assert float(x[0]) >= 2.0  # the loops ran
    print(json.dumps(res))


main()
