"""Reference values for the foreign-format tests, computed without torchgraft.

usage: foreign_ref.py keras FILE | tfjs MODEL_JSON | onnx FILE | kerasconv FILE LAYER | kerasdepthwise FILE LAYER
       | kerasdense FILE LAYER
Prints JSON. Keras files are read with h5py (python3-h5py), TF.js with numpy, ONNX with a wire-format walk
written here independently of lib/io/protobuf.ts. Layer outputs follow Keras' own definitions (NHWC, kernel HWIO)
computed with numpy, never through a PyTorch layout, so they check the layout conversion.
"""
import json
import os
import struct
import sys

import numpy as np


def summary(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "sum": float(a.sum()), "abs": float(np.abs(a).sum()), "first": a.reshape(-1)[:4].tolist()}


def keras(path):
    import h5py
    out = []
    with h5py.File(path, "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        for layer in g.attrs["layer_names"]:
            layer = layer.decode() if isinstance(layer, bytes) else layer
            for w in g[layer].attrs["weight_names"]:
                w = w.decode() if isinstance(w, bytes) else w
                out.append({"layer": layer, "weight": w, **summary(g[layer][w][()])})
    return out


def rng_input(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def kerasconv(path, layer, depthwise=False):
    """A Conv2D (or DepthwiseConv2D) layer's output in Keras' definition: NHWC input, valid padding, stride 1."""
    import h5py
    with h5py.File(path, "r") as f:
        g = f["model_weights"][layer]
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
        k = g[names[0]][()].astype(np.float64)
        b = g[names[1]][()].astype(np.float64) if len(names) > 1 else None
    kh, kw, cin, cout = k.shape
    x = rng_input((2, kh + 3, kw + 4, cin)).astype(np.float64)
    ho, wo = x.shape[1] - kh + 1, x.shape[2] - kw + 1
    if depthwise:
        y = np.zeros((2, ho, wo, cin * cout))
        for c in range(cin):
            for m in range(cout):
                for i in range(kh):
                    for j in range(kw):
                        y[..., c * cout + m] += x[:, i:i + ho, j:j + wo, c] * k[i, j, c, m]
    else:
        y = np.zeros((2, ho, wo, cout))
        for i in range(kh):
            for j in range(kw):
                y += np.einsum("nhwc,co->nhwo", x[:, i:i + ho, j:j + wo, :], k[i, j])
    if b is not None:
        y += b
    return {"x": x.astype(np.float32).reshape(-1).tolist(), "xshape": list(x.shape), "y": y.reshape(-1).tolist(), "yshape": list(y.shape)}


def kerasdense(path, layer):
    import h5py
    with h5py.File(path, "r") as f:
        g = f["model_weights"][layer]
        names = [n.decode() if isinstance(n, bytes) else n for n in g.attrs["weight_names"]]
        k = g[names[0]][()].astype(np.float64)
        b = g[names[1]][()].astype(np.float64)
    x = rng_input((3, k.shape[0])).astype(np.float64)
    y = x @ k + b
    return {"x": x.astype(np.float32).reshape(-1).tolist(), "xshape": list(x.shape), "y": y.reshape(-1).tolist(), "yshape": list(y.shape)}


def tfjs(path):
    doc = json.load(open(path))
    out = []
    for g in doc["weightsManifest"]:
        data = b"".join(open(os.path.join(os.path.dirname(path), p), "rb").read() for p in g["paths"])
        at = 0
        for w in g["weights"]:
            n = int(np.prod(w["shape"])) if w["shape"] else 1
            a = np.frombuffer(data, dtype="<f4", count=n, offset=at).reshape(w["shape"])
            at += 4 * n
            out.append({"name": w["name"], **summary(a), "values": a.reshape(-1).tolist() if n <= 64 else None})
    return out


def varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if not c & 0x80:
            return r, i


def fields(b):
    i = 0
    while i < len(b):
        t, i = varint(b, i)
        f, w = t >> 3, t & 7
        if w == 0:
            v, i = varint(b, i)
        elif w == 2:
            n, i = varint(b, i)
            v = b[i:i + n]
            i += n
        elif w == 5:
            v = b[i:i + 4]
            i += 4
        elif w == 1:
            v = b[i:i + 8]
            i += 8
        else:
            raise ValueError("wire type %d" % w)
        yield f, w, v


def onnx(path):
    b = open(path, "rb").read()
    out = {"initializers": [], "nodes": []}
    for f, w, v in fields(b):
        if f != 7:
            continue
        for gf, gw, gv in fields(v):
            if gf == 5:
                dims, name, raw, dt = [], None, None, None
                for tf, tw, tv in fields(gv):
                    if tf == 1:
                        if tw == 0:
                            dims.append(tv)
                        else:
                            j = 0
                            while j < len(tv):
                                d, j = varint(tv, j)
                                dims.append(d)
                    elif tf == 2:
                        dt = tv
                    elif tf == 8:
                        name = tv.decode()
                    elif tf == 9:
                        raw = tv
                a = np.frombuffer(raw, dtype="<f4").reshape(dims) if dt == 1 else None
                out["initializers"].append({"name": name, "dtype": dt, "shape": dims, **(summary(a) if a is not None else {})})
            elif gf == 1:
                node = {"inputs": [], "outputs": []}
                for nf, nw, nv in fields(gv):
                    if nf == 1:
                        node["inputs"].append(nv.decode())
                    elif nf == 2:
                        node["outputs"].append(nv.decode())
                    elif nf == 3:
                        node["name"] = nv.decode()
                    elif nf == 4:
                        node["opType"] = nv.decode()
                out["nodes"].append(node)
    return out


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "keras":
        r = keras(path)
    elif kind == "tfjs":
        r = tfjs(path)
    elif kind == "onnx":
        r = onnx(path)
    elif kind == "kerasconv":
        r = kerasconv(path, sys.argv[3])
    elif kind == "kerasdepthwise":
        r = kerasconv(path, sys.argv[3], depthwise=True)
    elif kind == "kerasdense":
        r = kerasdense(path, sys.argv[3])
    else:
        raise SystemExit("unknown kind " + kind)
    json.dump(r, sys.stdout)
