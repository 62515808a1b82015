"""Reference files and values for the PyTorch/NumPy reader tests, from Python PyTorch and NumPy.

gen DIR     writes .pt/.npy/.npz files into DIR and prints {file: {name: {dtype, shape, values}}} as torch/numpy read them
dump FILE...  prints {FILE: flattened tensors} as torch.load / numpy.load read each (for the foreign fixtures)
"""
import collections, json, math, os, sys
import numpy as np
import torch
import torch.nn as nn

DT = {torch.float32: 'float32', torch.float64: 'float64', torch.float16: 'float16', torch.bfloat16: 'bfloat16',
      torch.int64: 'int64', torch.int32: 'int32', torch.int16: 'int16', torch.int8: 'int8', torch.uint8: 'uint8',
      torch.bool: 'bool'}


def enc(t):
    t = torch.as_tensor(t).detach().cpu()
    if t.dtype == torch.bool:
        vals = t.to(torch.uint8).reshape(-1).tolist()
    elif t.is_floating_point():
        vals = [v if math.isfinite(v) else ('nan' if math.isnan(v) else ('inf' if v > 0 else '-inf'))
                for v in t.to(torch.float64).reshape(-1).tolist()]
    else:
        vals = [str(v) for v in t.to(torch.int64).reshape(-1).tolist()]
    return {'dtype': DT[t.dtype], 'shape': list(t.shape), 'values': vals}


def flat(v, path, out):
    if isinstance(v, torch.Tensor):
        out[path or 'tensor'] = enc(v)
    elif isinstance(v, dict):
        for k, x in v.items():
            flat(x, f'{path}.{k}' if path else str(k), out)
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            flat(x, f'{path}.{i}' if path else str(i), out)
    return out


def npenc(a):
    a = np.asarray(a)
    # astype(order='C') keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d)
    t = torch.from_numpy(a.astype(a.dtype.newbyteorder('='), order='C')) if a.dtype.kind != 'u' or a.itemsize == 1 \
        else torch.from_numpy(a.astype(np.int64, order='C'))
    e = enc(t)
    if a.dtype.kind == 'u' and a.itemsize == 2:
        e['dtype'] = 'int32'
    return e


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.bn1 = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 6 * 6, 5)

    def forward(self, x):
        return self.fc(torch.relu(self.bn1(self.conv1(x))).flatten(1))


def gen(d):
    torch.manual_seed(0)
    exp = {}
    net = CNN()
    net(torch.randn(2, 1, 8, 8))  # BatchNorm running statistics and num_batches_tracked move
    sd = net.state_dict()

    def save(name, obj, expect=None, **kw):
        torch.save(obj, os.path.join(d, name), **kw)
        if expect is not None:
            exp[name] = flat(expect, '', {})

    save('cnn.pt', sd, sd)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(2, 1, 8, 8)).sum().backward()
    opt.step()
    sd = net.state_dict()
    save('wrapped_state_dict.pth', {'epoch': 7, 'state_dict': sd, 'optimizer': opt.state_dict(), 'best_acc': 0.91, 'arch': 'cnn'}, sd)
    save('wrapped_model.ckpt', {'model': sd, 'step': 3}, sd)
    save('model_state_dict.bin', {'model_state_dict': sd, 'loss': 0.5, 'tags': ['a', 'b']}, sd)
    save('numpy_scalars.pt', {'state_dict': sd, 'best_acc': np.float64(0.75), 'epoch': np.int64(12), 'flag': np.bool_(True),
                              'lr': np.float32(1.5), 'half': np.float16(-2.5), 'big': np.int64(2**62), 'small': np.int8(-3),
                              'be': np.array([7], dtype='>i4')[0]}, sd)
    save('dataparallel.pt', nn.DataParallel(net).state_dict(), sd)
    dtypes = collections.OrderedDict()
    base = torch.tensor([[0.5, -1.25, 3.0], [1e-3, 65504.0, -0.0]], dtype=torch.float64)
    for dt in DT:
        if dt == torch.bool:
            dtypes['bool'] = torch.tensor([[True, False, True], [False, False, True]])
        elif dt.is_floating_point:
            dtypes[DT[dt]] = base.to(dt)
        else:
            dtypes[DT[dt]] = torch.tensor([[0, 1, 2], [100, 127, 5]], dtype=torch.int64).to(dt)
    dtypes['int64_big'] = torch.tensor([2**62 + 1, -2**62 - 3], dtype=torch.int64)
    dtypes['float32_special'] = torch.tensor([float('inf'), float('-inf'), float('nan'), 1e-45])
    dtypes['scalar'] = torch.tensor(3.5)
    dtypes['scalar_int'] = torch.tensor(42)
    dtypes['empty'] = torch.zeros(0, 3)
    save('dtypes.pt', dtypes, dtypes)
    b = torch.arange(24, dtype=torch.float32)
    views = {'base': b, 'slice': b[2:10], 'block': b.view(4, 6)[1:, 2:5], 'transposed': b.view(4, 6).t(),
             'strided': b[::3], 'permuted': torch.arange(60.).view(3, 4, 5).permute(2, 0, 1)}
    save('views.pt', views, views)
    save('legacy.pt', views, views, _use_new_zipfile_serialization=False)
    save('legacy_wrapped.pt', {'state_dict': sd, 'epoch': 2}, sd, _use_new_zipfile_serialization=False)
    nested = {'encoder': {'layers': [torch.ones(2), torch.zeros(3)], 'scale': 2.5},
              'head': {'w': torch.eye(2)}, 'name': 'nested', 'ints': (1, 2, 3)}
    exp_nested = flat(nested, '', {})
    torch.save(nested, os.path.join(d, 'nested.pt'))
    exp['nested.pt'] = exp_nested
    save('parameter.pt', {'p': nn.Parameter(torch.tensor([1.0, 2.0])), 'frozen': nn.Parameter(torch.tensor([3.0]), requires_grad=False)},
         {'p': torch.tensor([1.0, 2.0]), 'frozen': torch.tensor([3.0])})
    save('bare_tensor.pt', torch.arange(5), {'tensor': torch.arange(5)})
    torch.save(net, os.path.join(d, 'whole_model.pt'))

    class Evil:
        def __reduce__(self):
            return (os.system, ('touch ' + os.path.join(d, 'PWNED'),))

    class EvalEvil:
        def __reduce__(self):
            return (eval, ("__import__('os').system('touch " + os.path.join(d, 'PWNED') + "')",))

    torch.save({'w': torch.ones(2), 'x': Evil()}, os.path.join(d, 'evil_system.pt'))
    torch.save({'w': torch.ones(2), 'x': EvalEvil()}, os.path.join(d, 'evil_eval.pt'))

    # NumPy
    arrs = {}
    src = np.array([[0.5, -1.25, 3.0], [1e-3, 100.0, -0.0]])
    for code in ['<f4', '<f8', '<f2', '<i8', '<i4', '<i2', '|i1', '|u1', '|b1', '<u2', '<u4', '>f4', '>f8', '>i8', '>i2', '>u2']:
        a = (src if code[1] == 'f' else (np.abs(src) * 10).astype(np.int64) if code[1] != 'b' else src > 0.7).astype(code)
        arrs['a' + code.replace('<', 'le_').replace('>', 'be_').replace('|', '')] = a
    arrs['fortran'] = np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    arrs['fortran_be'] = np.asfortranarray(np.arange(6, dtype='>i4').reshape(2, 3))
    arrs['scalar'] = np.array(2.5, dtype=np.float32)
    arrs['empty'] = np.zeros((0, 5), dtype=np.float32)
    for k, a in arrs.items():
        np.save(os.path.join(d, k + '.npy'), a)
        exp[k + '.npy'] = {k: npenc(a)}
    for ver in [(2, 0), (3, 0)]:
        name = f'v{ver[0]}.npy'
        with open(os.path.join(d, name), 'wb') as f:
            np.lib.format.write_array(f, np.arange(6, dtype=np.float32).reshape(3, 2), version=ver)
        exp[name] = {f'v{ver[0]}': npenc(np.arange(6, dtype=np.float32).reshape(3, 2))}
    np.save(os.path.join(d, 'object.npy'), np.array([{'a': 1}, None], dtype=object), allow_pickle=True)
    z = {'w': np.arange(12, dtype=np.float32).reshape(3, 4), 'b': np.array([1, 2], dtype=np.int64), 'flag': np.array([True, False])}
    np.savez(os.path.join(d, 'plain.npz'), **z)
    np.savez_compressed(os.path.join(d, 'compressed.npz'), **z)
    exp['plain.npz'] = {k: npenc(v) for k, v in z.items()}
    exp['compressed.npz'] = exp['plain.npz']
    return exp


def dump(path):
    if path.endswith('.npy'):
        a = np.load(path)
        return {os.path.basename(path)[:-4]: npenc(a)}
    if path.endswith('.npz'):
        with np.load(path) as z:
            return {k: npenc(z[k]) for k in z.files}
    return flat(torch.load(path, map_location='cpu'), '', {})


if __name__ == '__main__':
    if sys.argv[1] == 'gen':
        print(json.dumps(gen(sys.argv[2])))
    else:
        print(json.dumps({f: dump(f) for f in sys.argv[2:]}))
