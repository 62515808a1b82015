// Test images: written by PIL (/usr/bin/python3) and sharp into a temp folder, with PIL's decoded pixels beside them.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const PYTHON = process.env.TORCHGRAFT_PYTHON || '/usr/bin/python3';

// Writes the PIL-made files, then for every file in dir PIL's Image.open(f) (EXIF-transposed).convert(mode) as raw bytes.
const PIL_WRITE = `
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
rng = np.random.default_rng(0)
h, w = 37, 53
y, x = np.mgrid[0:h, 0:w]
base = np.stack([(x * 255 // (w - 1)), (y * 255 // (h - 1)), ((x + y) * 7) % 256], -1).astype(np.int32)
rgb = np.clip(base + rng.integers(-20, 21, base.shape), 0, 255).astype(np.uint8)
Image.fromarray(rgb).save(d + '/pil-rgb.png')
Image.fromarray(rgb).save(d + '/pil-rgb.jpg', quality=90)
Image.fromarray(rgb).convert('L').save(d + '/pil-gray.png')
Image.fromarray(rgb).convert('L').save(d + '/pil-gray.jpg', quality=90)
Image.fromarray(rgb).convert('LA').save(d + '/pil-la.png')
a = (x * 5 % 256).astype(np.uint8)
Image.fromarray(np.dstack([rgb, a])).save(d + '/pil-rgba.png')
p = Image.fromarray(rgb).convert('P', palette=Image.ADAPTIVE, colors=16)
p.info['transparency'] = 3
p.save(d + '/pil-palette.png', transparency=3)
g16 = (x * x * 9).astype(np.uint16)  # 0..24336: some samples under 255, most over
Image.fromarray(g16, mode='I;16').save(d + '/pil-gray16.png')
Image.fromarray(rgb).convert('CMYK').save(d + '/pil-cmyk.jpg', quality=95)
ex = Image.Exif(); ex[0x0112] = 6
Image.fromarray(rgb).save(d + '/pil-exif6.jpg', quality=90, exif=ex.tobytes())
frames = [Image.fromarray(rgb).convert('P', palette=Image.ADAPTIVE, colors=32), Image.fromarray(255 - rgb).convert('P', palette=Image.ADAPTIVE, colors=32)]
frames[0].save(d + '/pil-anim.gif', save_all=True, append_images=frames[1:], duration=100, loop=0)
Image.fromarray(rgb).save(d + '/pil-rgb.webp', lossless=True)
Image.fromarray(rgb).save(d + '/pil-rgb.tiff')
Image.fromarray(np.array([[[200, 10, 30]]], dtype=np.uint8)).save(d + '/pil-1x1.png')
`;

const PIL_READ = `
import sys, os, json
from PIL import Image, ImageOps
d, mode = sys.argv[1], sys.argv[2]
out = {}
for f in sorted(os.listdir(d)):
    if f.endswith('.bin') or f.endswith('.json') or f.endswith('.avif'): continue
    im = Image.open(os.path.join(d, f))
    src = im.mode
    im = ImageOps.exif_transpose(im).convert(mode)
    open(os.path.join(d, f + '.' + mode + '.bin'), 'wb').write(im.tobytes())
    out[f] = {'width': im.width, 'height': im.height, 'srcMode': src}
json.dump(out, open(os.path.join(d, 'pil-' + mode + '.json'), 'w'))
`;

/** PIL's version as [major, minor]. */
function pilVersion() {
  return execFileSync(PYTHON, ['-c', 'import PIL; print(PIL.__version__)'], { encoding: 'utf8' }).trim().split('.').map(Number);
}

/** Whether /usr/bin/python3 has PIL and numpy. */
function hasPil() {
  try {
    execFileSync(PYTHON, ['-c', 'import PIL, numpy'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Writes PIL's test images into dir. */
function writePilImages(dir) {
  execFileSync(PYTHON, ['-c', PIL_WRITE, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** PIL's decoding of every image in dir: { file: { width, height, srcMode, data: Uint8Array } }. */
function pilDecode(dir, mode = 'RGB') {
  execFileSync(PYTHON, ['-c', PIL_READ, dir, mode], { stdio: ['ignore', 'ignore', 'pipe'] });
  const meta = JSON.parse(fs.readFileSync(path.join(dir, `pil-${mode}.json`), 'utf8'));
  for (const [f, m] of Object.entries(meta)) m.data = new Uint8Array(fs.readFileSync(path.join(dir, `${f}.${mode}.bin`)));
  return meta;
}

/** A smooth RGB test picture of w x h with some noise, as raw bytes. */
function picture(w, h, seed = 1) {
  const px = new Uint8Array(w * h * 3);
  let s = seed;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      s = (s * 1103515245 + 12345) >>> 0;
      const n = (s >>> 24) % 31 - 15;
      const i = 3 * (y * w + x);
      px[i] = Math.max(0, Math.min(255, Math.round((255 * x) / (w - 1)) + n));
      px[i + 1] = Math.max(0, Math.min(255, Math.round((255 * y) / (h - 1)) - n));
      px[i + 2] = (x * 3 + y * 5) % 256;
    }
  return px;
}

/** Writes sharp-made files (one per format) of a w x h picture into dir. */
async function writeSharpImages(dir, w = 41, h = 29) {
  const sharp = require('sharp');
  const raw = { raw: { width: w, height: h, channels: 3 } };
  const px = picture(w, h);
  await sharp(px, raw).jpeg({ quality: 90 }).toFile(path.join(dir, 'sharp-rgb.jpg'));
  await sharp(px, raw).png().toFile(path.join(dir, 'sharp-rgb.png'));
  await sharp(px, raw).webp({ lossless: true }).toFile(path.join(dir, 'sharp-rgb.webp'));
  await sharp(px, raw).tiff().toFile(path.join(dir, 'sharp-rgb.tiff'));
  await sharp(px, raw).gif().toFile(path.join(dir, 'sharp-rgb.gif'));
  await sharp(px, raw).avif({ lossless: true }).toFile(path.join(dir, 'sharp-rgb.avif'));
  const p16 = new Uint16Array(w * h * 3);
  for (let i = 0; i < p16.length; i++) p16[i] = px[i] * 257 + (i % 200);
  await sharp(Buffer.from(p16.buffer), { raw: { width: w, height: h, channels: 3, premultiplied: false } })
    .toColourspace('rgb16')
    .png()
    .toFile(path.join(dir, 'sharp-rgb16.png'));
  return px;
}

module.exports = { PYTHON, hasPil, pilVersion, writePilImages, pilDecode, writeSharpImages, picture };
