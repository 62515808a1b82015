// Zip archives for the fuzzers: read a seed's members, rebuild a stored archive around mutated members, and damage
// the archive's own structure (names, sizes, offsets, duplicates, central directory against local headers).
'use strict';
const zlib = require('node:zlib');
const { crc32 } = require('../../test/helpers/zipwriter');

/** The members of a zip as [{ name, data }] (stored or deflated), or null when buf is not a readable zip. */
function readZip(buf) {
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > buf.length) return null;
  const out = [];
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = buf.readUInt16LE(eocd + 10); i > 0; i--) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== 0x02014b50) return null;
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const body = buf.subarray(start, start + csize);
    out.push({ name, data: method === 8 ? zlib.inflateRawSync(body) : Buffer.from(body) });
    p += 46 + nameLen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return out;
}

/**
 * A stored zip of `members`, each member's data aligned to 64 bytes as torch.save does. Returns the bytes and the
 * layout (offsets of each local header, central record and the end record), so structural faults can aim at fields.
 */
function writeZip(members) {
  const parts = [];
  const layout = { entries: [], eocd: 0, cd: 0 };
  let off = 0;
  for (const { name, data } of members) {
    const nameBuf = Buffer.from(name, 'utf8');
    const pad = (64 - ((off + 30 + nameBuf.length + 4) % 64)) % 64;
    const extra = Buffer.alloc(4 + pad);
    extra.writeUInt16LE(0x4b46, 0); // the 'FB' padding record torch.save writes
    extra.writeUInt16LE(pad, 2);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc32(data) >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(extra.length, 28);
    layout.entries.push({ name, local: off, data: off + 30 + nameBuf.length + extra.length, size: data.length });
    parts.push(local, nameBuf, extra, data);
    off += 30 + nameBuf.length + extra.length + data.length;
  }
  layout.cd = off;
  for (const e of layout.entries) {
    const nameBuf = Buffer.from(e.name, 'utf8');
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt32LE(crc32(members[layout.entries.indexOf(e)].data) >>> 0, 16);
    c.writeUInt32LE(e.size, 20);
    c.writeUInt32LE(e.size, 24);
    c.writeUInt16LE(nameBuf.length, 28);
    c.writeUInt32LE(e.local, 42);
    e.central = off;
    parts.push(c, nameBuf);
    off += 46 + nameBuf.length;
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(off - layout.cd, 12);
  end.writeUInt32LE(layout.cd, 16);
  layout.eocd = off;
  parts.push(end);
  return { buf: Buffer.concat(parts), layout };
}

/** Faults on the member list before writing: renames, duplicates, drops, reorders. */
function mutateMembers(members, t) {
  const m = members.map((x) => ({ ...x }));
  const i = t.int(m.length);
  const prefix = m[0]?.name.split('/')[0] ?? 'archive';
  switch (t.int(7)) {
    case 0: // a name another member has, so the archive holds it twice
      m[i].name = m[t.int(m.length)].name;
      break;
    case 1: // names a reader must never treat as paths, or that no longer match the archive's prefix
      m[i].name = t.pick(['../../etc/passwd', '/etc/passwd', `${prefix}/../data.pkl`, `${prefix}\\data.pkl`, `${prefix}/data.pkl\0x`, 'x'.repeat(4000), '', `other/${m[i].name.split('/').slice(1).join('/')}`, m[i].name.toUpperCase(), `${m[i].name}/`]);
      break;
    case 2:
      m.splice(i, 1);
      break;
    case 3:
      m.splice(t.int(m.length + 1), 0, { name: m[i].name, data: Buffer.from(m[t.int(m.length)].data) });
      break;
    case 4:
      m.push(m.splice(i, 1)[0]);
      break;
    case 5: // a member emptied or swapped for another's bytes
      m[i].data = t.chance(0.5) ? Buffer.alloc(0) : Buffer.from(m[t.int(m.length)].data);
      break;
    default: // a member grown or cut (storage records shorter or longer than their tensors)
      m[i].data = t.chance(0.5) ? m[i].data.subarray(0, t.int(m[i].data.length + 1)) : Buffer.concat([m[i].data, Buffer.alloc(1 + t.int(4096))]);
  }
  return m.filter(Boolean);
}

/** Faults on a written archive's fields: sizes, offsets, methods, flags, counts; central record against local header. */
function mutateLayout(buf, layout, t) {
  const out = Buffer.from(buf);
  const e = layout.entries.length ? t.pick(layout.entries) : null;
  const u32 = (at, v) => at + 4 <= out.length && out.writeUInt32LE(v >>> 0, at);
  const u16 = (at, v) => at + 2 <= out.length && out.writeUInt16LE(v & 0xffff, at);
  const big = () => t.pick([0, 1, 0xffffffff, 0x7fffffff, out.length, out.length + 1, e ? e.size - 1 : 1, e ? e.size + 1 : 2, e ? e.size * 2 : 3]);
  switch (e ? t.int(12) : 8 + t.int(4)) {
    case 0: u32(e.central + 20, big()); break; // compressed size in the central record only
    case 1: u32(e.central + 24, big()); break; // uncompressed size in the central record only
    case 2: u32(e.local + 18, big()); u32(e.local + 22, big()); break; // sizes in the local header only
    case 3: u32(e.central + 42, t.pick([0, 0xffffffff, out.length, layout.cd, t.pick(layout.entries).local, e.local + 1])); break; // local offset
    case 4: u16(e.central + 10, t.pick([8, 1, 12, 14, 99, 0xffff])); break; // compression method (stored data declared deflated, ...)
    case 5: u16(e.central + 8, t.pick([1, 8, 0x40, 0x800, 0xffff])); break; // flags: encrypted, data descriptor, strong encryption
    case 6: u16(e.local + 26, t.pick([0, 1, 0xffff])); break; // local name length
    case 7: u16(e.central + 28, t.pick([0, 1, 0xffff])); break; // central name length
    case 8: u16(layout.eocd + 8, t.edge(layout.entries.length)); u16(layout.eocd + 10, t.edge(layout.entries.length)); break; // entry counts
    case 9: u32(layout.eocd + 16, t.pick([0, 0xffffffff, layout.cd + 1, layout.eocd, out.length])); break; // central directory offset
    case 10: u32(layout.eocd + 12, t.pick([0, 0xffffffff, layout.eocd - layout.cd + 1])); break; // central directory size
    default: u16(layout.eocd + 20, t.pick([1, 0xffff, 22])); break; // comment length that does not reach the end
  }
  return out;
}

module.exports = { readZip, writeZip, mutateMembers, mutateLayout };
