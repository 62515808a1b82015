"""Reference forward of Keras models for the model-builder tests, written independently of torchgraft's builder.

Keras' own semantics in float64 on channels-last (NHWC) tensors with PyTorch functional ops: kernels are converted
here from the stored Keras layouts, TensorFlow's 'same' padding is computed here, 'same' average pooling is an
explicit loop over the clipped windows. Weights come from h5py (Keras HDF5) or numpy (TF.js weights.bin).
"""
import json
import math

import numpy as np
import torch
import torch.nn.functional as F


def h5_weights(path):
    """{layer: {variable: float64 tensor}} and the model config of a Keras HDF5 full model."""
    import h5py
    out = {}
    with h5py.File(path, 'r') as f:
        config = json.loads(f.attrs['model_config'])
        mw = f['model_weights']
        for layer in [n.decode() if isinstance(n, bytes) else n for n in mw.attrs['layer_names']]:
            g = mw[layer]
            names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs['weight_names']]
            out[layer] = {n.split('/')[-1].split(':')[0]: torch.tensor(np.array(g[n]), dtype=torch.float64) for n in names}
    return out, config


def tfjs_weights(path):
    """{layer: {variable: float64 tensor}} and the topology of a TF.js layers model (float32 weights only)."""
    import os
    doc = json.load(open(path))
    out = {}
    for group in doc['weightsManifest']:
        data = b''.join(open(os.path.join(os.path.dirname(path), p), 'rb').read() for p in group['paths'])
        off = 0
        for w in group['weights']:
            assert w['dtype'] == 'float32'
            n = int(np.prod(w['shape']))
            arr = np.frombuffer(data, dtype='<f4', count=n, offset=off).reshape(w['shape'])
            off += 4 * n
            layer, var = w['name'].rsplit('/', 1)
            out.setdefault(layer, {})[var] = torch.tensor(arr.copy(), dtype=torch.float64)
    return out, doc['modelTopology']


def _pair(v, default):
    if v is None:
        return default
    return [v, v] if isinstance(v, int) else list(v)


def tf_pads(size, k, s, d=1):
    total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def activation(name, x):
    if name in (None, 'linear'):
        return x
    return {
        'relu': F.relu, 'relu6': lambda t: t.clamp(0, 6), 'sigmoid': torch.sigmoid, 'tanh': torch.tanh,
        'softmax': lambda t: torch.softmax(t, -1), 'elu': F.elu, 'selu': F.selu, 'softplus': F.softplus,
        'softsign': lambda t: t / (1 + t.abs()), 'swish': lambda t: t * torch.sigmoid(t), 'silu': lambda t: t * torch.sigmoid(t),
        'gelu': F.gelu, 'hard_sigmoid': lambda t: (0.2 * t + 0.5).clamp(0, 1), 'exponential': torch.exp,
    }[name](x)


def conv_nhwc(x, w, b, c, groups=1):
    """Conv on NHWC x with an OIHW kernel, Keras' strides/dilation/padding ('same' as TensorFlow pads)."""
    s = _pair(c.get('strides'), [1, 1])
    d = _pair(c.get('dilation_rate'), [1, 1])
    x = x.permute(0, 3, 1, 2)
    if c.get('padding') == 'same':
        t, bt = tf_pads(x.shape[2], w.shape[2], s[0], d[0])
        l, r = tf_pads(x.shape[3], w.shape[3], s[1], d[1])
        x = F.pad(x, (l, r, t, bt))
    return F.conv2d(x, w, b, stride=s, dilation=d, groups=groups).permute(0, 2, 3, 1)


def depthwise_oihw(k):
    h, w, c, m = k.shape
    return k.permute(2, 3, 0, 1).reshape(c * m, 1, h, w)


def pool(x, c, mode):
    k = _pair(c.get('pool_size'), [2, 2])
    s = _pair(c.get('strides'), k)
    n, h, w, ch = x.shape
    if c.get('padding', 'valid') == 'valid':
        y = (F.max_pool2d if mode == 'max' else F.avg_pool2d)(x.permute(0, 3, 1, 2), k, s)
        return y.permute(0, 2, 3, 1)
    oh, ow = math.ceil(h / s[0]), math.ceil(w / s[1])
    t, _ = tf_pads(h, k[0], s[0])
    l, _ = tf_pads(w, k[1], s[1])
    out = torch.zeros(n, oh, ow, ch, dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            h0, w0 = i * s[0] - t, j * s[1] - l
            win = x[:, max(h0, 0):min(h0 + k[0], h), max(w0, 0):min(w0 + k[1], w), :]
            out[:, i, j, :] = win.amax((1, 2)) if mode == 'max' else win.mean((1, 2))
    return out


# Dense outputs before their activation, by layer name (the logits under a softmax), from the last model_forward
PRE = {}


def recurrent(cls, c, w, x):
    """Keras' GRU (gates z, r, h; reset_after False or True) and LSTM (gates i, f, c, o), step by step."""
    act = lambda t: activation(c.get('activation', 'tanh'), t)
    ract = lambda t: activation(c.get('recurrent_activation', 'sigmoid'), t)
    u = c['units']
    k, rk, b = w['kernel'], w['recurrent_kernel'], w.get('bias')
    n, steps, _ = x.shape
    h = torch.zeros(n, u, dtype=x.dtype)
    cs = torch.zeros(n, u, dtype=x.dtype)
    order = range(steps - 1, -1, -1) if c.get('go_backwards') else range(steps)
    outs = []
    for t in order:
        xt = x[:, t, :]
        if cls == 'LSTM':
            g = xt @ k + h @ rk + (b if b is not None else 0)
            i, f, cc, o = (g[:, j * u:(j + 1) * u] for j in range(4))
            cs = ract(f) * cs + ract(i) * act(cc)
            h = ract(o) * act(cs)
        elif b is not None and b.dim() == 2:  # reset_after
            xg = xt @ k + b[0]
            hg = h @ rk + b[1]
            z = ract(xg[:, :u] + hg[:, :u])
            r = ract(xg[:, u:2 * u] + hg[:, u:2 * u])
            hh = act(xg[:, 2 * u:] + r * hg[:, 2 * u:])
            h = z * h + (1 - z) * hh
        else:
            xg = xt @ k + (b if b is not None else 0)
            z = ract(xg[:, :u] + h @ rk[:, :u])
            r = ract(xg[:, u:2 * u] + h @ rk[:, u:2 * u])
            hh = act(xg[:, 2 * u:] + (r * h) @ rk[:, 2 * u:])
            h = z * h + (1 - z) * hh
        outs.append(h)
    return torch.stack(outs, 1) if c.get('return_sequences') else h


def layer_forward(cls, c, wts, xs):
    x = xs[0]
    if cls in ('InputLayer', 'Dropout'):
        return x
    if cls == 'Dense':
        y = x @ wts['kernel']
        if 'bias' in wts:
            y = y + wts['bias']
        PRE[c['name']] = y
        return activation(c.get('activation'), y)
    if cls == 'Conv2D':
        return activation(c.get('activation'), conv_nhwc(x, wts['kernel'].permute(3, 2, 0, 1), wts.get('bias'), c, groups=c.get('groups', 1)))
    if cls == 'Conv1D':
        s, d = _pair(c.get('strides'), [1])[0], _pair(c.get('dilation_rate'), [1])[0]
        k = wts['kernel'].permute(2, 1, 0)
        xc = x.permute(0, 2, 1)
        if c.get('padding') == 'same':
            xc = F.pad(xc, tf_pads(xc.shape[2], k.shape[2], s, d))
        y = F.conv1d(xc, k, wts.get('bias'), stride=s, dilation=d, groups=c.get('groups', 1)).permute(0, 2, 1)
        return activation(c.get('activation'), y)
    if cls == 'GlobalAveragePooling1D':
        return x.mean(1, keepdim=bool(c.get('keepdims')))
    if cls == 'GlobalMaxPooling1D':
        return x.amax(1, keepdim=bool(c.get('keepdims')))
    if cls == 'DepthwiseConv2D':
        k = depthwise_oihw(wts['depthwise_kernel'])
        return activation(c.get('activation'), conv_nhwc(x, k, wts.get('bias'), c, groups=x.shape[3]))
    if cls == 'SeparableConv2D':
        y = conv_nhwc(x, depthwise_oihw(wts['depthwise_kernel']), None, c, groups=x.shape[3])
        y = conv_nhwc(y, wts['pointwise_kernel'].permute(3, 2, 0, 1), wts.get('bias'), {'padding': 'valid'})
        return activation(c.get('activation'), y)
    if cls == 'BatchNormalization':
        y = (x - wts['moving_mean']) / torch.sqrt(wts['moving_variance'] + c.get('epsilon', 1e-3))
        if 'gamma' in wts:
            y = y * wts['gamma']
        if 'beta' in wts:
            y = y + wts['beta']
        return y
    if cls == 'Activation':
        return activation(c['activation'], x)
    if cls == 'ReLU':
        y = torch.where(x >= 0, x, x * c.get('negative_slope', 0.0))
        return y if c.get('max_value') is None else y.clamp(max=c['max_value'])
    if cls == 'ZeroPadding2D':
        p = c['padding']
        (t, b), (l, r) = ((p, p), (p, p)) if isinstance(p, int) else (((p[0], p[0]), (p[1], p[1])) if isinstance(p[0], int) else p)
        return F.pad(x, (0, 0, l, r, t, b))
    if cls == 'MaxPooling2D':
        return pool(x, c, 'max')
    if cls == 'AveragePooling2D':
        return pool(x, c, 'avg')
    if cls == 'GlobalAveragePooling2D':
        return x.mean((1, 2), keepdim=bool(c.get('keepdims')))
    if cls == 'GlobalMaxPooling2D':
        return x.amax((1, 2), keepdim=bool(c.get('keepdims')))
    if cls == 'Add':
        return sum(xs[1:], xs[0])
    if cls == 'Multiply':
        y = xs[0]
        for t in xs[1:]:
            y = y * t
        return y
    if cls == 'Concatenate':
        return torch.cat(xs, c.get('axis', -1))
    if cls == 'Flatten':
        return x.reshape(x.shape[0], -1)
    if cls == 'Reshape':
        return x.reshape(x.shape[0], *c['target_shape'])
    if cls == 'Rescaling':
        return x * c['scale'] + c.get('offset', 0.0)
    if cls == 'Embedding':
        return wts['embeddings'][x.long()]
    if cls in ('GRU', 'LSTM'):
        return recurrent(cls, c, wts, x)
    raise ValueError('no reference for ' + cls)


def model_forward(config, weights, inputs):
    """Runs a Keras Sequential/functional config on NHWC float64 inputs; returns the list of outputs."""
    if 'model_config' in config:
        config = config['model_config']
    cfg = config['config']
    layers = cfg['layers'] if isinstance(cfg, dict) else cfg
    if config['class_name'] == 'Sequential':
        x = inputs[0]
        for l in layers:
            x = layer_forward(l['class_name'], l['config'], weights.get(l['config']['name'], {}), [x])
        return [x]
    out = {}
    for (name, ni, _), x in zip(cfg['input_layers'], inputs):
        out[(name, ni)] = x
    for l in layers:
        name = l['config']['name']
        for k, call in enumerate(l['inbound_nodes']):
            xs = [out[(r[0], r[1])] for r in call]
            out[(name, k)] = layer_forward(l['class_name'], l['config'], weights.get(name, {}), xs)
    return [out[(r[0], r[1])] for r in cfg['output_layers']]


def write_h5(path, config, W, value, attrs=None):
    """Writes a Keras 2 full-model HDF5 file: `config` as model_config, the weights of W ({layer: {var: shape}}) from
    value(layer, var, shape), in Keras' layout (model_weights/<layer>/<layer>/<var>:0, layer_names, weight_names)."""
    import json
    import h5py
    with h5py.File(path, 'w') as f:
        f.attrs['model_config'] = json.dumps(config)
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
        mw = f.create_group('model_weights')
        mw.attrs['layer_names'] = [n.encode() for n in W]
        for n, vs in W.items():
            g = mw.create_group(n)
            g.attrs['weight_names'] = [('%s/%s:0' % (n, v)).encode() for v in vs]
            for v, shape in vs.items():
                g.create_dataset(n + '/' + v + ':0', data=value(n, v, shape))
