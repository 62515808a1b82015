'use strict';
// tg.data.decodeImage against PIL's Image.open(f).convert(mode) on the same files (written by PIL and by sharp), and bad files.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const tg = require('..');
const { hasPil, pilVersion, writePilImages, pilDecode, writeSharpImages } = require('./helpers/images');

const PIL = hasPil();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-decode-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

let written;
async function images() {
  written ??= (async () => {
    writePilImages(dir);
    return writeSharpImages(dir);
  })();
  return written;
}

function maxDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

// JPEG decoders may round differently (libvips's libjpeg-turbo vs PIL's): one grey level; every other format exactly.
const tolerance = (file) => (/\.jpe?g$/.test(file) ? 1 : 0);
// PIL 9 opens a 16-bit gray PNG as mode I and clips it to 255 in convert (what decodeImage does); later Pillows may not.
const PIL_CLIPS_I16 = PIL && pilVersion()[0] <= 9;

for (const mode of ['RGB', 'L', 'RGBA']) {
  test(`decodeImage(mode ${mode}) gives PIL's convert('${mode}') pixels for every format and source mode`, { skip: !PIL && 'no PIL' }, async () => {
    await images();
    const ref = pilDecode(dir, mode);
    const files = Object.keys(ref);
    // the cases the issue names are all there: gray, LA, RGBA, palette, 16-bit, CMYK, EXIF, animated GIF, WebP, TIFF
    for (const f of ['pil-gray.png', 'pil-la.png', 'pil-rgba.png', 'pil-palette.png', 'pil-gray16.png', 'sharp-rgb16.png', 'pil-cmyk.jpg', 'pil-exif6.jpg', 'pil-anim.gif', 'pil-rgb.webp', 'pil-rgb.tiff', 'sharp-rgb.gif'])
      assert.ok(files.includes(f), `${f} was written`);
    const report = {};
    for (const f of files) {
      const img = await tg.data.decodeImage(path.join(dir, f), { mode });
      const want = ref[f];
      assert.deepStrictEqual([img.width, img.height, img.channels], [want.width, want.height, mode === 'L' ? 1 : mode.length], f);
      const d = maxDiff(img.data, want.data);
      report[f] = d;
      if (f === 'pil-gray16.png' && !PIL_CLIPS_I16) continue;
      assert.ok(d <= tolerance(f), `${f} (PIL mode ${want.srcMode}): max difference ${d} from PIL`);
    }
    // the EXIF-rotated file really was turned (PIL's reference went through ImageOps.exif_transpose)
    assert.deepStrictEqual([ref['pil-exif6.jpg'].width, ref['pil-exif6.jpg'].height], [37, 53]);
    if (process.env.TORCHGRAFT_VERBOSE) console.log(mode, report);
  });
}

test('decodeImage reads a lossless AVIF as the pixels written; a Buffer works as a path does', async () => {
  const px = await images();
  const img = await tg.data.decodeImage(path.join(dir, 'sharp-rgb.avif'));
  assert.deepStrictEqual([img.width, img.height, img.channels], [41, 29, 3]);
  // lossless AVIF stores YUV 4:4:4 with an exact transform back to RGB
  assert.ok(maxDiff(img.data, px) <= 1, `AVIF differs by ${maxDiff(img.data, px)}`);
  const fromBuf = await tg.data.decodeImage(fs.readFileSync(path.join(dir, 'sharp-rgb.png')));
  assert.strictEqual(maxDiff(fromBuf.data, px), 0);
});

test('decodeImage: a 1x1 image is valid', async () => {
  const sharp = require('sharp');
  const f = path.join(dir, 'one.png');
  await sharp(Buffer.from([10, 20, 30]), { raw: { width: 1, height: 1, channels: 3 } }).png().toFile(f);
  const img = await tg.data.decodeImage(f);
  assert.deepStrictEqual([img.width, img.height, Array.from(img.data)], [1, 1, [10, 20, 30]]);
});

// A PNG whose header claims width x height, with a tiny (invalid) IDAT: refused before any pixel is decoded.
function pngClaiming(width, height) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]);
}

test('decodeImage: over the pixel limit is ERR_IMAGE_TOO_LARGE (30000x30000 header; a small image under a small limit)', async () => {
  await images();
  const big = path.join(dir, 'big.png');
  fs.writeFileSync(big, pngClaiming(30000, 30000));
  await assert.rejects(tg.data.decodeImage(big), (e) => e.code === 'ERR_IMAGE_TOO_LARGE' && e.message.includes('big.png') && /30000x30000/.test(e.message));
  await assert.rejects(tg.data.decodeImage(path.join(dir, 'pil-rgb.png'), { limitInputPixels: 100 }), (e) => e.code === 'ERR_IMAGE_TOO_LARGE');
});

test('decodeImage: empty, truncated, corrupt and non-image files are ERR_IMAGE_DECODE naming the file; the process lives', async () => {
  await images();
  const jpg = fs.readFileSync(path.join(dir, 'pil-rgb.jpg'));
  const png = fs.readFileSync(path.join(dir, 'pil-rgb.png'));
  const bad = {
    'zero.jpg': Buffer.alloc(0),
    'trunc.jpg': jpg.subarray(0, Math.floor(jpg.length / 2)),
    'trunc.png': png.subarray(0, Math.floor(png.length / 2)),
    'random.jpg': Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 251)),
    'text.png': Buffer.from('hello, I am not an image\n'),
    'badheader.jpg': Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(100, 0x41)]),
  };
  for (const [name, bytes] of Object.entries(bad)) {
    const f = path.join(dir, name);
    fs.writeFileSync(f, bytes);
    await assert.rejects(tg.data.decodeImage(f), (e) => e instanceof tg.TorchError && e.code === 'ERR_IMAGE_DECODE' && e.message.includes(name), name);
  }
  await assert.rejects(tg.data.decodeImage(path.join(dir, 'missing.png')), (e) => e.code === 'ERR_IMAGE_DECODE' && e.message.includes('missing.png'));
  await assert.rejects(tg.data.decodeImage(Buffer.from('xx'), { name: 'upload#3' }), (e) => e.code === 'ERR_IMAGE_DECODE' && e.message.includes('upload#3'));
});

test('decodeImage: bad arguments are TypeError / RangeError', async () => {
  await assert.rejects(tg.data.decodeImage(42), TypeError);
  await assert.rejects(tg.data.decodeImage('x.png', { mode: 'CMYK' }), TypeError);
  await assert.rejects(tg.data.decodeImage('x.png', { limitInputPixels: 0 }), RangeError);
});
