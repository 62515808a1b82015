# An event-file reader independent of torchgraft's writer: TFRecord framing with CRC-32C computed bit by bit
# (no table), and a protobuf wire-format parser; prints the events as JSON lines. Usage: tfevents_reader.py FILE
import json, struct, sys

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF

def masked(data):
    c = crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF

def fields(buf):
    out, o = [], 0
    def varint():
        nonlocal o
        v, shift = 0, 0
        while True:
            b = buf[o]; o += 1
            v |= (b & 0x7F) << shift; shift += 7
            if not b & 0x80:
                return v
    while o < len(buf):
        key = varint(); num, wire = key >> 3, key & 7
        if wire == 0: out.append((num, varint()))
        elif wire == 1: out.append((num, struct.unpack_from('<d', buf, o)[0])); o += 8
        elif wire == 5: out.append((num, struct.unpack_from('<f', buf, o)[0])); o += 4
        elif wire == 2:
            n = varint(); out.append((num, bytes(buf[o:o + n]))); o += n
        else: raise ValueError('wire type %d' % wire)
    return out

def doubles(b):
    return list(struct.unpack('<%dd' % (len(b) // 8), b))

def value(b):
    v = {}
    for num, x in fields(b):
        if num == 1: v['tag'] = x.decode()
        elif num == 2: v['simple_value'] = x
        elif num == 5:
            h = {}
            for n2, y in fields(x):
                name = {1: 'min', 2: 'max', 3: 'num', 4: 'sum', 5: 'sum_squares', 6: 'bucket_limit', 7: 'bucket'}[n2]
                h[name] = doubles(y) if n2 >= 6 else y
            v['histo'] = h
        elif num == 9:
            pd = dict(fields(dict(fields(x))[1]))
            v['plugin'] = pd[1].decode()
            if 2 in pd:
                c = dict(fields(pd[2]))
                if 3 in c:
                    start = fields(c[3])
                    hp = {}
                    for n3, entry in start:
                        if n3 == 1:
                            e = dict(fields(entry))
                            kind, val = fields(e[2])[0]
                            hp[e[1].decode()] = val.decode() if kind == 3 else (bool(val) if kind == 4 else val)
                    v['hparams'] = hp
                if 4 in c:
                    v['session_end_status'] = dict(fields(c[4]))[1]
        elif num == 8:
            t = dict(fields(x))
            if 8 in t: v['text'] = t[8].decode()
    return v

data = open(sys.argv[1], 'rb').read()
o = 0
while o < len(data):
    header = data[o:o + 8]
    (length,) = struct.unpack('<Q', header)
    (hcrc,) = struct.unpack_from('<I', data, o + 8)
    assert hcrc == masked(header), 'length crc at %d' % o
    body = data[o + 12:o + 12 + length]
    assert len(body) == length, 'truncated record at %d' % o
    (dcrc,) = struct.unpack_from('<I', data, o + 12 + length)
    assert dcrc == masked(body), 'data crc at %d' % o
    o += 16 + length
    ev = {}
    for num, x in fields(body):
        if num == 1: ev['wall_time'] = x
        elif num == 2: ev['step'] = x
        elif num == 3: ev['file_version'] = x.decode()
        elif num == 5: ev['values'] = [value(b) for n, b in fields(x) if n == 1]
    print(json.dumps(ev))
