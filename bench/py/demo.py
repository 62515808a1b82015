#!/usr/bin/env python3
# The Python PyTorch twin of torchgraft's transfer demo (lib/demo/transfer-demo.ts, lib/demo/mnist-mlp.ts): the same
# digits, network, initialisation, optimizers, losses, early stopping, validation splits, batch sizes, epochs and
# seeds, written the way a PyTorch user would write them. Run by bench/demo.js (npm run bench:demo), which exports
# the digits once with torchgraft (tg.datasets.loadDigits, the demo's own data path) and passes the folder here.
#
# Usage: /usr/bin/python3 bench/py/demo.py --data DIR --seed N [--threads K] [--quick]
#                                          [--loader dataloader|index|tg-order] [--out DIR]
# Prints one JSON object: the demo's rows (name, accuracy, seconds, epochs; seconds over the same span as the demo's
# row) with cpuSeconds and markWall over the whole variant (test accuracy included), and the phases' wall and CPU time.
#
# --loader (how training batches are drawn; validation is always batches of 64 in order, as in tg.fit):
#   dataloader  torch.utils.data.DataLoader over a TensorDataset, shuffle=True with a seeded torch.Generator:
#               the textbook PyTorch way (default).
#   index       a hand-written loop: torch.randperm with a seeded generator, then x[idx], y[idx] per batch of 64:
#               the fastest plain-PyTorch way, to show what the DataLoader costs.
#   tg-order    as `index`, but each epoch's order is torchgraft's (tg.data.Generator, xoshiro128** seeded with
#               (seed, epoch), ported below and computed before the clock starts): with the same initial weights
#               (LibTorch's generator is the same in both) the two sides then run the very same arithmetic, which
#               checks that the twin really does the same work.
#
# Where the torchgraft demo uses something Python has no direct equivalent of, the Python-natural way does the same
# work (each mapping is noted at its place): tg's safetensors save/load of the state dict -> torch.save/torch.load of
# the state_dict; loadStateDict({ include }) -> load_state_dict of a filtered dict with strict=False; model.freeze(re)
# -> requires_grad_(False) on the matching parameters; tg.transfer.reuse(copy: true) -> copy.deepcopy of the layers
# into a new nn.Sequential; tg.transfer.cacheFeatures -> one forward of the frozen part under torch.no_grad() into a
# tensor, then training the head on a TensorDataset of it; tg.transfer.fineTune -> its two phases written out; tg.fit's
# earlyStopping(restoreBest) -> the usual hand-written patience loop with a cloned state_dict. The zoo is not used by
# the demo unless --zoo is given, and the bench does not give it.
import argparse
import copy
import json
import math
import os
import re
import sys
import tempfile
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

PIXELS = 784
BATCH = 64


# ---- torchgraft's shuffle order (lib/data/generator.ts), for --loader tg-order only
M32 = 0xFFFFFFFF


def _imul(a, b):
    return (a * b) & M32


def _rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


def _splitmix32(state):
    state[0] = (state[0] + 0x9E3779B9) & M32
    z = state[0]
    z = _imul(z ^ (z >> 16), 0x85EBCA6B)
    z = _imul(z ^ (z >> 13), 0xC2B2AE35)
    return (z ^ (z >> 16)) & M32


class TgGenerator:
    """xoshiro128** seeded through SplitMix32 exactly as tg.data.Generator (non-negative integer seeds)."""

    def __init__(self, *seeds):
        h = 0x6A09E667
        for seed in seeds:
            high = _imul((seed // 2**32) & M32, 0x9E3779B1)
            h = _splitmix32([(h ^ (seed & M32) ^ high) & M32])
        st = [h]
        self.s = [_splitmix32(st) for _ in range(4)]

    def next_uint32(self):
        s = self.s
        r = _imul(_rotl(_imul(s[1], 5), 7), 9)
        t = (s[1] << 9) & M32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = _rotl(s[3], 11)
        return r

    def next_int(self, n):
        limit = 2**32 - (2**32 % n)
        x = self.next_uint32()
        while x >= limit:
            x = self.next_uint32()
        return x % n

    def permutation(self, n):
        out = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.next_int(i + 1)
            out[i], out[j] = out[j], out[i]
        return out


# ---- data: the export bench/demo.js wrote with tg.datasets.loadDigits (float32 pixels, int64 labels)
def load_split(data_dir, entry):
    n = entry['rows']
    x = np.fromfile(os.path.join(data_dir, entry['x']), dtype=np.float32)
    y = np.fromfile(os.path.join(data_dir, entry['y']), dtype=np.int64)
    if x.size != n * PIXELS or y.size != n:
        raise SystemExit(f"demo.py: {entry['x']} holds {x.size} values, expected {n} x {PIXELS}")
    return torch.from_numpy(x).reshape(n, PIXELS), torch.from_numpy(y)


# ---- the network (lib/demo/mnist-mlp.ts buildDnn): hidden1..depth Linear+ELU, He-normal weights, zero biases,
# and an `outputs` Linear with PyTorch's default initialisation (tg.nn.Linear's default is the same).
def build_dnn(classes, depth=5, width=100, inputs=784):
    layers = OrderedDict()
    fan_in = inputs
    for i in range(1, depth + 1):
        lin = nn.Linear(fan_in, width)
        nn.init.kaiming_normal_(lin.weight, nonlinearity='relu')  # tg: kaimingNormal_(w, { nonlinearity: 'relu' })
        nn.init.zeros_(lin.bias)
        layers[f'hidden{i}'] = lin
        layers[f'act{i}'] = nn.ELU()
        fan_in = width
    layers['outputs'] = nn.Linear(fan_in, classes)
    return nn.Sequential(layers)


def freeze(model, pattern, frozen=True):
    # tg: model.freeze(/re/) (unfreeze with frozen=False) -> requires_grad on the matching parameters
    rx = re.compile(pattern)
    for name, p in model.named_parameters():
        if rx.search(name):
            p.requires_grad_(not frozen)


def trainable(model):
    # tg: model.trainableParameters()
    return [p for p in model.parameters() if p.requires_grad]


def partial(state, pattern):
    # tg: model.loadStateDict(restored, { include: /re/ }) -> load_state_dict of the matching entries, strict=False
    rx = re.compile(pattern)
    return {k: v for k, v in state.items() if rx.search(k)}


class Batches:
    """Training batches of 64, reshuffled every epoch: one per tg.fit call, as tg.fit makes one DataLoader per call."""

    def __init__(self, x, y, seed, loader, orders=None):
        self.x, self.y, self.loader, self.orders = x, y, loader, orders
        self.epoch = 0
        if loader == 'dataloader':
            self.dl = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True, generator=torch.Generator().manual_seed(seed))
        elif loader == 'index':
            self.gen = torch.Generator().manual_seed(seed)

    def __iter__(self):
        e = self.epoch
        self.epoch += 1
        if self.loader == 'dataloader':
            yield from self.dl
            return
        n = self.x.shape[0]
        order = torch.randperm(n, generator=self.gen) if self.loader == 'index' else self.orders(n, e)
        for start in range(0, n, BATCH):
            idx = order[start:start + BATCH]
            yield self.x[idx], self.y[idx]


def val_batches(x, y):
    # tg.fit's validation: the [x, y] tensors in order, batches of 64 (a DataLoader without shuffle)
    return DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=False)


def fit(model, batches, valid, optimizer, epochs, patience, eval_model=None):
    """tg.fit with loss 'crossEntropy', metrics ['accuracy'], validation, and
    earlyStopping { monitor: 'val_loss', patience, restoreBest: true }; returns the number of epochs run."""
    eval_model = eval_model if eval_model is not None else model
    was_training, eval_was_training = model.training, eval_model.training
    best, best_epoch, wait, snapshot = math.nan, -1, 0, None
    epoch = -1
    for epoch in range(epochs):
        model.train()
        loss_sum, acc_sum, seen = 0.0, 0.0, 0
        for x, y in batches:
            optimizer.zero_grad(set_to_none=True)  # tg's zeroGrad drops the gradients (set_to_none)
            out = model(x)
            loss = F.cross_entropy(out, y)
            loss.backward()
            optimizer.step()
            with torch.no_grad():  # the epoch's running loss and accuracy, as tg.fit logs them
                n = y.shape[0]
                loss_sum += loss.item() * n
                acc_sum += (out.argmax(1) == y).float().mean().item() * n
                seen += n
        eval_model.eval()
        v_loss, v_acc, v_n = 0.0, 0.0, 0
        with torch.no_grad():
            for x, y in valid:
                out = eval_model(x)
                n = y.shape[0]
                v_loss += F.cross_entropy(out, y).item() * n
                v_acc += (out.argmax(1) == y).float().mean().item() * n
                v_n += n
        val_loss = v_loss / v_n
        # early stopping on val_loss (minDelta 0), keeping a copy of the best weights
        if math.isnan(best) or val_loss < best:
            best, best_epoch, wait = val_loss, epoch, 0
            snapshot = {k: v.detach().clone() for k, v in model.state_dict().items()}
            continue
        wait += 1
        if wait >= patience:
            break
    if snapshot is not None and epoch != best_epoch:
        with torch.no_grad():
            model.load_state_dict(snapshot)
    model.train(was_training)
    eval_model.train(eval_was_training)
    return epoch + 1


def accuracy_of(model, x, y):
    was = model.training
    model.eval()
    with torch.no_grad():
        correct = (model(x).argmax(1) == y).sum().item()
    model.train(was)
    return correct / y.shape[0]


def format_table(rows, scratch):
    head = ['variant', 'test accuracy', 'train time', 'epochs', 'vs scratch time']
    body = [[r['name'], f"{r['accuracy'] * 100:.1f}%", f"{r['seconds']:.2f} s", str(r['epochs']), f"{r['seconds'] / scratch:.2f}x"] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]

    def line(cells):
        return '  '.join(c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells))

    return '\n'.join([line(head), '  '.join('-' * w for w in widths), *(line(b) for b in body)])


def clock():
    return time.perf_counter(), time.process_time()


def since(c0):
    return {'wall': time.perf_counter() - c0[0], 'cpu': time.process_time() - c0[1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--loader', choices=['dataloader', 'index', 'tg-order'], default='dataloader')
    ap.add_argument('--out', default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    seed = a.seed
    max_epochs = 4 if a.quick else 100
    patience = 2 if a.quick else 8
    pre_epochs = 5 if a.quick else 100
    freeze_epochs = 2 if a.quick else 10
    out_dir = a.out or tempfile.mkdtemp(prefix='torchgraft-demo-py-')
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(a.data, 'manifest.json')) as f:
        manifest = json.load(f)
    if manifest['quick'] != a.quick:
        raise SystemExit('demo.py: the export was made for another mode (--quick)')

    orders = None
    if a.loader == 'tg-order':
        # torchgraft's per-epoch permutations, computed before the clock starts (pure Python is slow at it)
        memo = {}
        for n in {manifest['splits']['low.train']['rows'], manifest['splits']['high.train']['rows']}:
            for e in range(max(max_epochs, pre_epochs)):
                memo[(n, e)] = torch.tensor(TgGenerator(seed, e).permutation(n), dtype=torch.int64)

        def orders(n, e):
            return memo[(n, e)]

    def batches(x, y):
        return Batches(x, y, seed, a.loader, orders)

    marks = {}
    t_start = clock()
    # digits 0-4: 800 per digit to train, the next 400 to validate, the rest held out (unused by the demo, as there);
    # digits 5-9: 100 per digit to train, 50 to validate, the rest to test. Labels of 5-9 are already 0-4.
    sp = manifest['splits']
    low = {k: load_split(a.data, sp[f'low.{k}']) for k in ('train', 'valid', 'test')}
    high = {k: load_split(a.data, sp[f'high.{k}']) for k in ('train', 'valid', 'test')}
    low_valid = val_batches(*low['valid'])
    high_valid = val_batches(*high['valid'])

    torch.manual_seed(seed)
    pretrained = build_dnn(5)
    marks['load'] = since(t_start)

    # 1. Pretrain on 0-4 and save it.
    t_pre = clock()
    pre_epochs_run = fit(pretrained, batches(*low['train']), low_valid, torch.optim.Adam(pretrained.parameters(), lr=1e-3), pre_epochs, patience)
    pretrain_accuracy = accuracy_of(pretrained, *low['valid'])
    checkpoint = os.path.join(out_dir, 'mnist_0_to_4.pt')
    # tg: io.save(stateDict, '.safetensors', { metadata }) then io.load(...) -> torch.save / torch.load of the state_dict
    torch.save(pretrained.state_dict(), checkpoint)
    restored = torch.load(checkpoint)
    marks['pretrain'] = since(t_pre)

    rows = []

    def run(name, model, params, lr=1e-3):
        torch.manual_seed(seed)
        c0 = clock()
        epochs = fit(model, batches(*high['train']), high_valid, torch.optim.Adam(params, lr=lr), max_epochs, patience)
        acc = accuracy_of(model, *high['test'])
        t = since(c0)
        rows.append({'name': name, 'accuracy': acc, 'seconds': t['wall'], 'epochs': epochs, 'cpuSeconds': t['cpu'], 'markWall': t['wall']})

    # (a) from scratch
    torch.manual_seed(seed)
    scratch = build_dnn(5)
    run('(a) from scratch', scratch, scratch.parameters())

    # (b) reuse hidden1-5 frozen, new softmax output (partial restore of the checkpoint by name)
    torch.manual_seed(seed)
    frozen = build_dnn(5)
    frozen.load_state_dict(partial(restored, r'^hidden[1-5]\.'), strict=False)
    freeze(frozen, r'^hidden[1-5]\.')
    run('(b) reused, frozen', frozen, trainable(frozen))

    # (c) the same network as (b), the frozen layers' outputs computed once into a tensor and only the head trained
    # tg: transfer.reuse(pretrained, { upTo: 'act5', freeze: true, copy: true, head: { outputs: Linear(100, 5) } })
    torch.manual_seed(seed)
    kept = OrderedDict()
    for name, m in pretrained.named_children():
        kept[name] = copy.deepcopy(m)
        if name == 'act5':
            break
    body = nn.Sequential(kept)
    for p in body.parameters():
        p.requires_grad_(False)
    stacked = nn.Sequential(OrderedDict([*kept.items(), ('outputs', nn.Linear(100, 5))]))
    c0 = clock()
    # tg: transfer.cacheFeatures(stacked, train, { store: 'memory' }) -> the frozen part once, eval mode, no autograd
    body.eval()
    with torch.no_grad():
        features = body(high['train'][0])
    # tg: fit(stacked, train, { cache }) trains the part above the cut on the cached features, and validates the
    # whole model on the raw validation images; early stopping keeps the head's best weights.
    head = stacked.outputs
    hc_epochs = fit(head, batches(features, high['train'][1]), high_valid, torch.optim.Adam(head.parameters(), lr=1e-3), max_epochs, patience, eval_model=stacked)
    seconds = since(c0)['wall']  # as the demo: (c)'s time stops before its test accuracy, the other rows' after it
    acc = accuracy_of(stacked, *high['test'])
    t = since(c0)
    rows.append({'name': '(c) reused, frozen, cached', 'accuracy': acc, 'seconds': seconds, 'epochs': hc_epochs, 'cpuSeconds': t['cpu'], 'markWall': t['wall']})
    del features

    # (d) top hidden layer dropped: hidden1-4 frozen, new output on hidden4
    torch.manual_seed(seed)
    dropped = build_dnn(5, 4)
    dropped.load_state_dict(partial(restored, r'^hidden[1-4]\.'), strict=False)
    freeze(dropped, r'^hidden[1-4]\.')
    run('(d) top layer dropped', dropped, trainable(dropped))

    # (e) the same, with the top two hidden layers unfrozen
    torch.manual_seed(seed)
    unfrozen = build_dnn(5, 4)
    unfrozen.load_state_dict(partial(restored, r'^hidden[1-4]\.'), strict=False)
    freeze(unfrozen, r'^hidden[12]\.')
    run('(e) top two unfrozen', unfrozen, trainable(unfrozen))

    # (f) everything unfrozen and fine-tuned with discriminative learning rates
    # tg: transfer.fineTune(tuned, train, { head: /^outputs\./, freezeEpochs, epochs, baseLr: 1e-3, fineTuneLr: 5e-4,
    # lrMult: 10 }): phase 1 trains the head alone (the rest frozen) at baseLr with a new Adam; phase 2 unfreezes all
    # and trains with a new Adam, one group per layer with parameters (hidden1..hidden4, outputs), rates spread
    # geometrically from fineTuneLr / lrMult (hidden1) to fineTuneLr (outputs). Early stopping applies to each phase.
    torch.manual_seed(seed)
    tuned = build_dnn(5, 4)
    tuned.load_state_dict(partial(restored, r'^hidden[1-4]\.'), strict=False)
    c0 = clock()
    freeze(tuned, r'^(?!outputs\.)')
    freeze(tuned, r'^outputs\.', frozen=False)
    head_params = [p for n, p in tuned.named_parameters() if n.startswith('outputs.')]
    e1 = fit(tuned, batches(*high['train']), high_valid, torch.optim.Adam([{'params': head_params, 'lr': 1e-3}]), freeze_epochs, patience)
    freeze(tuned, r'', frozen=False)
    names = ['hidden1', 'hidden2', 'hidden3', 'hidden4', 'outputs']
    step = math.pow(10, 1 / (len(names) - 1))  # lrMult 10 over 5 groups
    groups = [
        {'params': list(getattr(tuned, g).parameters()), 'lr': 5e-4 if i == len(names) - 1 else 5e-4 / math.pow(step, len(names) - 1 - i)}
        for i, g in enumerate(names)
    ]
    e2 = fit(tuned, batches(*high['train']), high_valid, torch.optim.Adam(groups), max_epochs, patience)
    acc = accuracy_of(tuned, *high['test'])
    t = since(c0)
    rows.append({'name': '(f) all fine-tuned', 'accuracy': acc, 'seconds': t['wall'], 'epochs': e1 + e2, 'cpuSeconds': t['cpu'], 'markWall': t['wall']})

    table = format_table(rows, rows[0]['seconds'])
    end = since(t_start)
    json.dump({
        'side': 'py', 'seed': seed, 'threads': torch.get_num_threads(), 'torch': torch.__version__, 'python': sys.version.split()[0],
        'loader': a.loader, 'quick': a.quick, 'pretrainAccuracy': pretrain_accuracy, 'pretrainEpochs': pre_epochs_run,
        'testSize': int(high['test'][1].shape[0]), 'rows': rows, 'phases': marks, 'e2e': end, 'table': table,
    }, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
