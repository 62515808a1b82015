/** Reading one batch of image files into plain typed arrays: decode, seeded transform, pack; the same on a worker or the main thread. */
import { tidy } from '../memory';
import { isTensor, Tensor } from '../tensor';
import type { AnyTypedArray, DType } from '../dtype';
import type { RawImage, Transform } from '../transforms/transform';
import { TorchError } from '../errors';
import { decodeImage, DecodeOptions } from './image-decode';
import { seedOf } from './async-dataset';
import { RngLock, withSeed } from './seeded-apply';

/** One file of a batch to read. */
export interface Item {
  index: number;
  file: string;
}

/** An example read: its pixels as a tensor's data (`raw`: an undecorated HWC image, for a transform run later). */
export interface SampleOk {
  ok: true;
  index: number;
  raw: boolean;
  shape: number[];
  dtype: DType;
  data: AnyTypedArray;
}

/** An example that failed: a file that cannot be decoded, or a transform that threw. */
export interface SampleError {
  ok: false;
  index: number;
  file: string;
  kind: 'file' | 'transform';
  code?: string;
  message: string;
}

export type Sample = SampleOk | SampleError;

/** A batch read: the good examples packed into one array when they have one shape and dtype, and the failures. */
export interface ReadBatch {
  samples: Sample[];
  /** The good examples' data end to end (shape [n, ...shape]), when packed; samples then carry no data. */
  packed?: { shape: number[]; dtype: DType; data: AnyTypedArray; indices: number[] };
}

/** What a reader needs besides the files. */
export interface ReadContext {
  decode: DecodeOptions;
  /** A Transform applied here; undefined leaves the decoded image for the caller. */
  transform?: Transform;
  /** Reads a file instead of decodeImage (a user's loader, on the main thread). */
  load?: (file: string) => Promise<RawImage> | RawImage;
  epoch: number;
  /** Base seed: each example's transform runs under seedOf(seed, epoch, index); undefined draws from the current stream. */
  seed?: number;
  lock?: RngLock;
  pack: boolean;
}

/** Decodes the files of a batch at once (libvips threads), then transforms them one by one, each under its seed. */
export async function readBatch(items: Item[], ctx: ReadContext): Promise<ReadBatch> {
  const load = ctx.load ?? ((f: string) => decodeImage(f, ctx.decode));
  const decoded = await Promise.all(items.map((it) => Promise.resolve().then(() => load(it.file)).catch((e: unknown) => asError(e))));
  const samples = decoded.map((d, k): Sample => {
    const { index, file } = items[k];
    if (d instanceof Error) return { ok: false, index, file, kind: 'file', code: (d as TorchError).code, message: d.message };
    if (!ctx.transform) return rawSample(index, d);
    try {
      const t = ctx.transform;
      const run = (): SampleOk => tidy(() => toSample(index, t.apply(d)));
      return ctx.seed === undefined ? run() : withSeed(seedOf(ctx.seed, ctx.epoch, index), ctx.lock, run);
    } catch (e) {
      return { ok: false, index, file, kind: 'transform', message: (e as Error)?.message ?? String(e) };
    }
  });
  return ctx.pack ? pack(samples) : { samples };
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new TorchError(`the image loader threw ${String(e)}`, { code: 'ERR_IMAGE_DECODE' });
}

function rawSample(index: number, img: RawImage): SampleOk {
  return { ok: true, index, raw: true, shape: [img.height, img.width, img.channels], dtype: 'uint8', data: img.data };
}

/** A transform's output as plain data: a tensor's values (half precision travels as float32), or a raw image. */
export function toSample(index: number, out: Tensor | RawImage): SampleOk {
  if (!isTensor(out)) {
    if (out && (out as RawImage).data instanceof Uint8Array) return rawSample(index, out as RawImage);
    throw new TypeError(`image transform: expected a Tensor or a RawImage from apply(), got ${out === null ? 'null' : typeof out}`);
  }
  const half = out.dtype === 'float16' || out.dtype === 'bfloat16';
  const host = out.to({ device: 'cpu', dtype: half ? 'float32' : out.dtype }).contiguous();
  const data = host.dataSync();
  return { ok: true, index, raw: false, shape: out.shape.slice(), dtype: out.dtype, data };
}

function pack(samples: Sample[]): ReadBatch {
  const good = samples.filter((s): s is SampleOk => s.ok);
  if (good.length === 0) return { samples };
  const first = good[0];
  const same = good.every((s) => !s.raw && s.dtype === first.dtype && s.data.constructor === first.data.constructor && sameShape(s.shape, first.shape));
  if (!same) return { samples };
  const Ctor = first.data.constructor as new (n: number) => AnyTypedArray;
  const each = first.data.length;
  const data = new Ctor(each * good.length);
  good.forEach((s, k) => (data as Float32Array).set(s.data as Float32Array, k * each));
  const rest = samples.map((s) => (s.ok ? { ...s, data: new Uint8Array(0) } : s));
  return { samples: rest, packed: { shape: [good.length, ...first.shape], dtype: first.dtype, data, indices: good.map((s) => s.index) } };
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** A raw HWC image as CHW bytes (torchvision's PILToTensor layout). */
export function hwcToChw(data: Uint8Array, h: number, w: number, c: number): Uint8Array {
  const out = new Uint8Array(data.length);
  const plane = h * w;
  for (let p = 0; p < plane; p++) for (let k = 0; k < c; k++) out[k * plane + p] = data[p * c + k];
  return out;
}

/** The buffers to transfer with a read batch; unpacked data are copied first (native buffers may refuse to move). */
export function transferList(b: ReadBatch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  if (b.packed) out.push(b.packed.data.buffer as ArrayBuffer);
  for (const s of b.samples)
    if (s.ok && s.data.byteLength > 0) {
      s.data = s.data.slice();
      out.push(s.data.buffer as ArrayBuffer);
    }
  return out;
}
