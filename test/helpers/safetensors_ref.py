# A minimal, independent safetensors reader/writer in Python PyTorch (the `safetensors` package is not installed here).
# Usage: safetensors_ref.py read FILE            -> JSON {order, metadata, tensors: {name: {dtype, shape, values}}}
#        safetensors_ref.py write FILE           -> writes a file of every dtype, prints the same JSON for it
#        safetensors_ref.py decode FILE...       -> {file: {order, headerBytes, tensors: {name: {dtype, shape, first, sha256}}}}
import json, math, struct, sys

if sys.argv[1:2] != ['decode']:  # decode needs numpy only; importing torch takes seconds
    import torch
    DT = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64,
          'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
    NAME = {v: k for k, v in DT.items()}


def read(path):
    b = open(path, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    hdr = json.loads(b[8:8 + n].decode('utf-8'))
    meta = hdr.pop('__metadata__', {})
    data = b[8 + n:]
    out = {}
    for k, v in hdr.items():
        s, e = v['data_offsets']
        dt = DT[v['dtype']]
        t = torch.frombuffer(bytearray(data[s:e]), dtype=dt) if e > s else torch.empty(0, dtype=dt)
        out[k] = t.reshape(v['shape'])
    return out, meta


def write(path, tensors, meta):
    hdr, chunks, off = {}, [], 0
    if meta:
        hdr['__metadata__'] = meta
    for k, t in tensors.items():
        raw = t.detach().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes()
        hdr[k] = {'dtype': NAME[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    h = json.dumps(hdr).encode('utf-8')
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(chunks))


def num(x):
    return x if math.isfinite(x) else ('nan' if math.isnan(x) else ('inf' if x > 0 else '-inf'))


def values(t):
    if t.dtype == torch.bool:
        return [int(v) for v in t.reshape(-1).tolist()]
    if t.is_floating_point():
        return [num(v) for v in t.to(torch.float64).reshape(-1).tolist()]
    return [str(v) for v in t.to(torch.int64).reshape(-1).tolist()]


def describe(tensors, meta):
    return {'order': list(tensors.keys()), 'metadata': meta,
            'tensors': {k: {'dtype': NAME[t.dtype], 'shape': list(t.shape), 'values': values(t)} for k, t in tensors.items()}}


def sample():
    g = torch.Generator().manual_seed(7)
    special = torch.tensor([0.0, -0.0, 1.5, -2.25, float('inf'), float('-inf'), float('nan'), 1e-30])
    return {
        # Written in a non-sorted order on purpose: readers must not rely on any order convention.
        'z.f32': torch.randn(3, 4, generator=g),
        'a.f64': torch.randn(2, 3, generator=g, dtype=torch.float64) * 1e200,
        'm.f16': torch.cat([special, torch.randn(4, generator=g)]).to(torch.float16),
        'b.bf16': torch.cat([special, torch.randn(4, generator=g)]).to(torch.bfloat16),
        'i64': torch.tensor([-(2 ** 63), 2 ** 63 - 1, 2 ** 53 + 1, -5], dtype=torch.int64),
        'i32': torch.tensor([[-(2 ** 31), 2 ** 31 - 1], [0, 7]], dtype=torch.int32),
        'i16': torch.tensor([-32768, 32767, 3], dtype=torch.int16),
        'i8': torch.tensor([-128, 127, 0], dtype=torch.int8),
        'u8': torch.tensor([0, 255, 128], dtype=torch.uint8),
        'bool': torch.tensor([[True, False], [False, True]]),
        'scalar': torch.tensor(3.5, dtype=torch.float32),
        'empty': torch.zeros(0, 3, dtype=torch.float32),
        'noncontig': torch.arange(12, dtype=torch.int32).reshape(3, 4).t(),
    }


if __name__ == '__main__':
    cmd, path = sys.argv[1], sys.argv[2]
    if cmd == 'write':
        t = sample()
        meta = {'format': 'pt', 'note': 'written by Python: \u00e9\u4e2d "q" \\ \n'}
        write(path, t, meta)
        print(json.dumps(describe(t, meta)))
    elif cmd == 'read':
        t, meta = read(path)
        print(json.dumps(describe(t, meta)))
    elif cmd == 'decode':
        # One process for several files: importing torch is the slow part.
        import hashlib
        import numpy as np
        npdt = {'F32': '<f4', 'I64': '<i8', 'F64': '<f8'}
        result = {}
        for path in sys.argv[2:]:
            b = open(path, 'rb').read()
            n = struct.unpack('<Q', b[:8])[0]
            hdr = json.loads(b[8:8 + n])
            hdr.pop('__metadata__', None)
            out = {}
            for k, v in hdr.items():
                s, e = v['data_offsets']
                a = np.frombuffer(b[8 + n + s:8 + n + e], dtype=npdt[v['dtype']])
                # Big tensors compare by a digest of their values as little-endian float64 (int64 for I64), plus a few values.
                wide = a.astype('<i8' if v['dtype'] == 'I64' else '<f8')
                head = [str(int(x)) for x in a[:5]] if v['dtype'] == 'I64' else [float(x) for x in a[:5]]
                out[k] = {'dtype': v['dtype'], 'shape': v['shape'], 'first': head, 'sha256': hashlib.sha256(wide.tobytes()).hexdigest()}
            result[path] = {'order': list(hdr.keys()), 'headerBytes': n, 'tensors': out}
        print(json.dumps(result))
