/** Decoding image files into RawImage pixels with sharp, with PIL's `Image.open(f).convert(mode)` semantics. */
import { readFile } from 'node:fs/promises';
import { TorchError } from '../errors';
import type { RawImage } from '../transforms/transform';
import { loadSharp, SharpInstance } from './sharp';

/** The pixel layouts decodeImage gives, as PIL's modes: 3 channels, 1 (luma), or 4 (with alpha). */
export type ImageMode = 'RGB' | 'L' | 'RGBA';

/** How decodeImage reads a file. */
export interface DecodeOptions {
  /** Output channels as PIL's `convert(mode)` (default 'RGB'). */
  mode?: ImageMode;
  /** Refuse images with more pixels than this (sharp's `limitInputPixels`, default 268402689 = 16383^2). */
  limitInputPixels?: number;
  /** Rotate and flip by the EXIF orientation tag (default true; PIL's `Image.open` does not, `ImageOps.exif_transpose` does). */
  autoOrient?: boolean;
  /** The name used in error messages for a Buffer input (default '<buffer>'). */
  name?: string;
}

/** sharp's default pixel limit (0x3FFF squared). */
export const DEFAULT_PIXEL_LIMIT = 0x3fff * 0x3fff;

const MODES: readonly ImageMode[] = ['RGB', 'L', 'RGBA'];

/**
 * Decodes an image file (JPEG, PNG, WebP, GIF, TIFF, AVIF) into `height x width x channels` bytes, off the JS thread
 * (sharp runs libvips on libuv's pool). The pixels are those of PIL's `Image.open(f).convert(mode)`: grayscale is
 * repeated into three channels, alpha is dropped without compositing, palettes are expanded, CMYK becomes RGB by PIL's
 * formula, the first frame of an animation is taken; a 16-bit PNG keeps the high byte of each sample (RGB) or is
 * clipped to 255 (grayscale, as PIL's `I` mode); embedded ICC profiles are ignored, as PIL does.
 * @throws TorchError ERR_IMAGE_DECODE naming the file (empty, truncated, corrupt, not an image), ERR_IMAGE_TOO_LARGE
 *   past the pixel limit.
 * @example const img = await tg.data.decodeImage('cat.jpg'); // { data, width, height, channels: 3 }
 */
export async function decodeImage(input: string | Uint8Array, options: DecodeOptions = {}): Promise<RawImage> {
  if (typeof input !== 'string' && !(input instanceof Uint8Array))
    throw new TypeError(`decodeImage: expected a file path or a Buffer, got ${input === null ? 'null' : typeof input}`);
  if (options === null || typeof options !== 'object') throw new TypeError('decodeImage: options must be an object such as { mode: "RGB" }');
  const mode = options.mode ?? 'RGB';
  if (!MODES.includes(mode)) throw new TypeError(`decodeImage: mode must be one of ${MODES.join(', ')}, got ${String(mode)}`);
  const limit = options.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`decodeImage: limitInputPixels must be a positive integer, got ${String(limit)}`);
  const name = typeof input === 'string' ? input : (options.name ?? '<buffer>');
  let bytes: Uint8Array;
  try {
    bytes = typeof input === 'string' ? await readFile(input) : input;
  } catch (e) {
    throw new TorchError(`decodeImage: cannot read ${name}: ${(e as Error).message}`, { code: 'ERR_IMAGE_DECODE', cause: e });
  }
  if (bytes.length === 0) throw new TorchError(`decodeImage: ${name} is empty (0 bytes)`, { code: 'ERR_IMAGE_DECODE' });
  const sharp = loadSharp();
  const open = (): SharpInstance =>
    sharp(bytes, { limitInputPixels: limit, failOn: 'warning', autoOrient: options.autoOrient ?? true, ignoreIcc: true, pages: 1, page: 0 });
  try {
    // JPEG and PNG headers tell CMYK and 16-bit apart at once; other formats ask sharp (a second parse of the header)
    const meta = probe(bytes) ?? (await open().metadata());
    if (meta.width !== undefined && meta.height !== undefined && meta.width * meta.height > limit) throw tooLarge(name, meta.width, meta.height, limit);
    const sixteen = meta.depth === 'ushort';
    let pipe = open();
    if (meta.space === 'cmyk') pipe = pipe.pipelineColourspace('cmyk').toColourspace('cmyk'); // raw bands, no ICC conversion
    else if (sixteen) pipe = pipe.toColourspace((meta.channels ?? 3) <= 2 ? 'grey16' : 'rgb16');
    const { data, info } = await pipe.raw(sixteen ? { depth: 'ushort' } : undefined).toBuffer({ resolveWithObject: true });
    const px = sixteen ? from16(data, (meta.channels ?? 3) <= 2) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const bands = info.channels;
    const rgba = meta.space === 'cmyk' ? cmykToRgb(px, info.width * info.height) : { data: px, bands };
    return convert(rgba.data, rgba.bands, info.width, info.height, mode, meta.space === 'cmyk' ? false : hasAlpha(bands));
  } catch (e) {
    if (e instanceof TorchError) throw e;
    const msg = (e as Error)?.message ?? String(e);
    if (/pixel limit/i.test(msg)) {
      // the header alone gives the size for the message (sharp refused before reading pixels)
      const m = await sharp(bytes, { limitInputPixels: false }).metadata().catch(() => ({ width: undefined, height: undefined }));
      throw tooLarge(name, m.width, m.height, limit);
    }
    throw new TorchError(`decodeImage: cannot decode ${name}: ${msg.trim()}`, { code: 'ERR_IMAGE_DECODE', cause: e });
  }
}

/** What a JPEG's frame header or a PNG's IHDR says about colour space and depth (undefined for other formats or odd files). */
function probe(b: Uint8Array): { space?: string; depth?: string; channels?: number; width?: number; height?: number } | undefined {
  if (b.length >= 26 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 && b[12] === 0x49 && b[13] === 0x48) {
    const channels = ({ 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 } as Record<number, number>)[b[25]];
    return channels === undefined ? undefined : { space: 'srgb', depth: b[24] === 16 ? 'ushort' : 'uchar', channels };
  }
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  for (let i = 2; i + 9 < b.length; ) {
    if (b[i] !== 0xff) return undefined;
    const m = b[i + 1];
    if (m === 0xff) {
      i++; // fill byte
      continue;
    }
    // SOF0..SOF15 but DHT (C4), JPG (C8), DAC (CC): the frame header, whose 10th byte is the number of components
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      const nf = b[i + 9];
      return { space: nf === 4 ? 'cmyk' : 'srgb', depth: 'uchar', channels: nf };
    }
    if (m === 0xda || m === 0xd9) return undefined; // scan data or the end before any frame header
    i += 2 + ((b[i + 2] << 8) | b[i + 3]);
  }
  return undefined;
}

function tooLarge(name: string, w: number | undefined, h: number | undefined, limit: number): TorchError {
  const size = w !== undefined ? ` (${w}x${h} = ${w * h!} pixels)` : '';
  return new TorchError(`decodeImage: ${name}${size} exceeds the pixel limit of ${limit} (option limitInputPixels)`, { code: 'ERR_IMAGE_TOO_LARGE' });
}

function hasAlpha(bands: number): boolean {
  return bands === 2 || bands === 4;
}

// 16-bit samples (host order from sharp) to 8 bits as PIL: gray is mode I, clipped to 255; RGB(A) keeps the high byte.
function from16(buf: Buffer, gray: boolean): Uint8Array {
  const n = buf.byteLength >> 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = buf.readUInt16LE(2 * i);
    out[i] = gray ? Math.min(v, 255) : v >> 8;
  }
  return out;
}

// PIL's cmyk2rgb: each of R, G, B is (255 - c) * (255 - k) / 255, rounded as its MULDIV255.
function cmykToRgb(px: Uint8Array, n: number): { data: Uint8Array; bands: number } {
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const nk = 255 - px[4 * i + 3];
    for (let c = 0; c < 3; c++) out[3 * i + c] = clip8(nk - muldiv255(px[4 * i + c], nk));
  }
  return { data: out, bands: 3 };
}

function muldiv255(a: number, b: number): number {
  const t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

function clip8(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

// From 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA) bands to the mode asked, as PIL's convert (alpha dropped, not composited).
function convert(px: Uint8Array, bands: number, width: number, height: number, mode: ImageMode, alpha: boolean): RawImage {
  const n = width * height;
  const channels = mode === 'L' ? 1 : mode === 'RGB' ? 3 : 4;
  if (bands === channels && (mode !== 'RGB' || !alpha)) return { data: px, width, height, channels };
  const out = new Uint8Array(n * channels);
  const gray = bands <= 2;
  for (let i = 0, s = 0, d = 0; i < n; i++, s += bands, d += channels) {
    if (mode === 'L') out[d] = gray ? px[s] : luma(px[s], px[s + 1], px[s + 2]);
    else {
      out[d] = px[s];
      out[d + 1] = gray ? px[s] : px[s + 1];
      out[d + 2] = gray ? px[s] : px[s + 2];
      if (channels === 4) out[d + 3] = alpha ? px[s + bands - 1] : 255;
    }
  }
  return { data: out, width, height, channels };
}

// PIL's L24: ITU-R 601-2 luma in 16-bit fixed point, rounded.
function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16;
}
