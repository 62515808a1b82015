#!/usr/bin/python3
"""Writes the small extra seeds of the structure-aware fuzzers into test/fixtures/fuzz-seeds (run with /usr/bin/python3:
PyTorch 1.13, numpy, h5py). Each seed reaches a path the foreign fixtures do not: shared storages and views, the legacy
.pt stream, TorchScript constants, Fortran-order and big-endian .npy, several safetensors dtypes, ONNX typed data."""
import json, os, struct, sys
import numpy as np
import torch
import h5py

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'test', 'fixtures', 'fuzz-seeds')
os.makedirs(out, exist_ok=True)
p = lambda name: os.path.join(out, name)
torch.manual_seed(0)

# .pt: one storage behind a tied weight, a view with an offset, a transposed view, a list holding a shared child.
w = torch.randn(4, 3)
shared = [w, w]
torch.save({'a.weight': w, 'b.weight': w, 'view': w[1:], 'wt': w.t(), 'nested': [shared, shared]}, p('tied.pt'))
torch.save({'x': torch.arange(6, dtype=torch.int64).view(2, 3)[:, 1:], 'h': torch.ones(3, dtype=torch.float16)}, p('views.pt'))
torch.save({'w': torch.randn(2, 2), 'b': torch.zeros(2)}, p('legacy.pt'), _use_new_zipfile_serialization=False)

class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(3, 2)
        self.register_buffer('scale', torch.tensor([2.0, 3.0]))
    def forward(self, x):
        return self.fc(x) * self.scale + torch.tensor([1.0, 1.0])
torch.jit.save(torch.jit.script(Small()), p('scripted.pt'))

# .npy / .npz
np.save(p('fortran_be.npy'), np.asfortranarray(np.arange(12, dtype='>f4').reshape(3, 4)))
np.save(p('bool.npy'), np.array([[True, False], [False, True]]))
np.save(p('u2.npy'), np.arange(5, dtype='<u2'))
np.savez_compressed(p('several.npz'), a=np.ones((2, 3), np.float32), b=np.arange(4, dtype=np.int64), c=np.zeros((), np.float64))

# safetensors written by hand (the safetensors package is not installed): one tensor per dtype.
arrays = {'f32': np.arange(6, dtype='<f4').reshape(2, 3), 'f16': np.ones(4, '<f2'), 'bf16': np.array([0x3f80, 0x4000], '<u2'),
          'i64': np.arange(3, dtype='<i8'), 'u8': np.arange(5, dtype='u1'), 'bool': np.array([1, 0, 1], 'u1'), 'f64': np.ones((1, 1), '<f8')}
dtypes = {'f32': 'F32', 'f16': 'F16', 'bf16': 'BF16', 'i64': 'I64', 'u8': 'U8', 'bool': 'BOOL', 'f64': 'F64'}
header, data = {'__metadata__': {'format': 'pt'}}, b''
for k, a in arrays.items():
    header[k] = {'dtype': dtypes[k], 'shape': list(a.shape), 'data_offsets': [len(data), len(data) + a.nbytes]}
    data += a.tobytes()
h = json.dumps(header, separators=(',', ':')).encode()
h += b' ' * (-len(h) % 8)
open(p('dtypes.safetensors'), 'wb').write(struct.pack('<Q', len(h)) + h + data)

# ONNX with typed (not raw) data, written by hand: float_data, int64_data, int32_data (float16 bits), double_data.
def varint(v):
    b = b''
    while True:
        c, v = v & 0x7f, v >> 7
        b += bytes([c | (0x80 if v else 0)])
        if not v:
            return b
def fld(n, wire, payload):
    return varint(n * 8 + wire) + (varint(len(payload)) + payload if wire == 2 else payload)
def tensor(name, dims, dtype, field, payload):
    return b''.join(fld(1, 0, varint(d)) for d in dims) + fld(2, 0, varint(dtype)) + fld(8, 2, name.encode()) + fld(field, 2, payload)
inits = [tensor('w', [2, 2], 1, 4, struct.pack('<4f', 1, 2, 3, 4)), tensor('i', [3], 7, 7, varint(1) + varint(2) + varint(3)),
         tensor('h', [2], 10, 5, varint(0x3c00) + varint(0x4000)), tensor('d', [1], 11, 10, struct.pack('<d', 0.5))]
graph = fld(2, 2, b'g') + b''.join(fld(5, 2, t) for t in inits) + fld(1, 2, fld(1, 2, b'x') + fld(1, 2, b'w') + fld(2, 2, b'y') + fld(4, 2, b'MatMul'))
open(p('typed.onnx'), 'wb').write(fld(1, 0, varint(7)) + fld(2, 2, b'fuzz') + fld(8, 2, fld(2, 0, varint(13))) + fld(7, 2, graph))

# A small Keras save_weights-style file: two Dense layers.
with h5py.File(p('keras_small.h5'), 'w') as f:
    f.attrs['layer_names'] = [b'dense', b'dense_1']
    f.attrs['backend'] = b'tensorflow'
    f.attrs['keras_version'] = b'2.11.0'
    for name, (i, o) in {'dense': (3, 4), 'dense_1': (4, 2)}.items():
        g = f.create_group(name)
        g.attrs['weight_names'] = [f'{name}/kernel:0'.encode(), f'{name}/bias:0'.encode()]
        g.create_dataset(f'{name}/kernel:0', data=np.random.randn(i, o).astype('<f4'))
        g.create_dataset(f'{name}/bias:0', data=np.zeros(o, '<f4'))
print('seeds written to', os.path.normpath(out), file=sys.stderr)
