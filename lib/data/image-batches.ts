/** An epoch of an image dataset: batches read ahead by worker threads (or the main thread's I/O), assembled in order. */
import * as path from 'node:path';
import { tensor } from '../creation';
import { dispose } from '../memory';
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';
import { isTransform, RawImage, Transform } from '../transforms/transform';
import { defaultCollate } from './collate';
import type { Batch, Example } from './example';
import type { DecodeOptions } from './image-decode';
import { hwcToChw, Item, readBatch, ReadBatch, ReadContext, Sample, SampleOk } from './image-sample';
import { collateOwned } from './iterable-dataset';
import type { LoadBatchesOptions } from './async-dataset';
import { seedOf } from './async-dataset';
import { newRngLock, withSeed } from './seeded-apply';
import { WorkerPool } from './worker-pool';
import type { ImageWorkerData } from './image-worker';

/** A transform: a registered Transform (runs on the workers), or a plain function (runs on the main thread). */
export type ImageTransform = Transform | ((img: RawImage) => Tensor | RawImage);

/** What an epoch needs to know of its dataset. */
export interface ImageSource {
  readonly samples: readonly [string, number][];
  readonly transform?: ImageTransform;
  readonly targetTransform?: (target: number) => number;
  readonly loadFile?: (file: string) => Promise<RawImage> | RawImage;
  readonly decode: DecodeOptions;
  readonly onInvalid: 'error' | 'skip';
  readonly workerModules: readonly string[];
}

const WHERE = 'ImageFolder';

/**
 * The batches of `order`: a Transform object runs where the files are read (on `workers` threads, rebuilt there with
 * fromJSON), a plain function on the main thread; each example under seedOf(seed, epoch, index). Up to
 * `workers * prefetch` batches (`prefetch` without workers) are read ahead. The workers end with the epoch, also when
 * the consumer stops early.
 */
export async function* imageBatches(src: ImageSource, order: number[], o: LoadBatchesOptions): AsyncGenerator<Batch> {
  const groups: number[][] = [];
  const end = o.dropLast ? order.length - (order.length % o.batchSize) : order.length;
  for (let s = 0; s < end; s += o.batchSize) groups.push(order.slice(s, s + o.batchSize));
  const t = src.transform;
  const onWorkers = o.workers > 0 && !src.loadFile;
  const pack = o.collate === undefined && (t === undefined || isTransform(t));
  let pool: WorkerPool | undefined;
  let read: (items: Item[], k: number) => Promise<ReadBatch>;
  if (onWorkers) {
    const kept = o.keep?.value;
    let p: WorkerPool;
    if (kept instanceof WorkerPool && kept.usable && kept.size === o.workers) p = kept;
    else {
      const data: ImageWorkerData = {
        modules: src.workerModules.slice(),
        transform: t && isTransform(t) ? t.toJSON() : null,
        decode: src.decode,
        lock: newRngLock(),
      };
      p = new WorkerPool(path.join(__dirname, 'image-worker.js'), data, o.workers, WHERE);
      if (o.keep) o.keep.value = p;
    }
    pool = p;
    read = (items, k) => p.run<ReadBatch>(k % o.workers, { items, epoch: o.epoch, seed: o.seed, pack });
  } else {
    const ctx: ReadContext = { decode: src.decode, load: src.loadFile, transform: t && isTransform(t) ? t : undefined, epoch: o.epoch, seed: o.seed, pack };
    read = (items) => readBatch(items, ctx);
  }
  const ahead = Math.max(1, o.workers * o.prefetch || o.prefetch);
  const inFlight: Promise<ReadBatch>[] = [];
  let next = 0;
  const fill = (): void => {
    while (inFlight.length < ahead && next < groups.length) {
      const k = next++;
      const p = read(groups[k].map((index) => ({ index, file: src.samples[index][0] })), k);
      p.catch(() => undefined); // rejections are met when their turn comes; an early stop leaves them unread
      inFlight.push(p);
    }
  };
  const skipped: string[] = [];
  try {
    fill();
    while (inFlight.length > 0) {
      const r = await inFlight.shift()!;
      fill();
      const batch = assemble(src, r, o, skipped);
      if (batch) yield batch;
    }
  } finally {
    // kept workers stay for the next epoch unless they failed (answers still on their way are dropped)
    if (pool && (!o.keep || !pool.usable)) await pool.close();
    if (skipped.length > 0) {
      process.emitWarning(`${WHERE}: ${skipped.length} file(s) could not be decoded and were skipped this epoch (first: ${skipped[0]})`, { code: 'TORCHGRAFT_IMAGE_SKIPPED' });
    }
  }
}

/** One read batch as tensors [x, y]; undefined when every file of it was skipped. */
function assemble(src: ImageSource, r: ReadBatch, o: LoadBatchesOptions, skipped: string[]): Batch | undefined {
  for (const s of r.samples) if (!s.ok) fileError(src, s, skipped);
  const good = r.samples.filter((s): s is SampleOk => s.ok);
  if (good.length === 0) return undefined;
  const labels = good.map((s) => target(src, s.index));
  if (r.packed) {
    const x = fromData(r.packed.data, r.packed.shape, r.packed.dtype);
    let y: Tensor;
    try {
      y = defaultCollate(labels.map((l) => [l]))[0];
    } catch (e) {
      x.dispose();
      throw e;
    }
    return [x, y];
  }
  const examples: Example[] = [];
  try {
    for (let k = 0; k < good.length; k++) examples.push([sampleTensor(src, good[k], o), labels[k]]);
  } catch (e) {
    dispose(examples);
    throw e;
  }
  return collateOwned(o.collate ?? defaultCollate, examples);
}

/** One example's image tensor: a function transform runs here (under the example's seed), a raw image becomes CHW uint8. */
export function sampleTensor(src: ImageSource, s: SampleOk, o: { seed?: number; epoch: number }): Tensor {
  if (!s.raw) return fromData(s.data, s.shape, s.dtype);
  const img: RawImage = { data: s.data as Uint8Array, height: s.shape[0], width: s.shape[1], channels: s.shape[2] };
  const t = src.transform;
  if (typeof t !== 'function') return rawToTensor(img);
  const run = (): Tensor => {
    let out: Tensor | RawImage;
    try {
      out = t(img);
    } catch (e) {
      throw new TorchError(`${WHERE}: the transform threw on ${src.samples[s.index][0]}: ${(e as Error)?.message ?? String(e)}`, {
        code: 'ERR_DATA_WORKER',
        cause: e,
      });
    }
    return isRaw(out) ? rawToTensor(out) : (out as Tensor);
  };
  return o.seed === undefined ? run() : withSeed(seedOf(o.seed, o.epoch, s.index), undefined, run);
}

function isRaw(v: unknown): v is RawImage {
  return v !== null && typeof v === 'object' && (v as RawImage).data instanceof Uint8Array && Number.isInteger((v as RawImage).channels);
}

function rawToTensor(img: RawImage): Tensor {
  return tensor(hwcToChw(img.data, img.height, img.width, img.channels), { shape: [img.channels, img.height, img.width], dtype: 'uint8' });
}

function fromData(data: SampleOk['data'], shape: number[], dtype: SampleOk['dtype']): Tensor {
  return tensor(data, { shape, dtype });
}

function target(src: ImageSource, index: number): number {
  const y = src.samples[index][1];
  return src.targetTransform ? src.targetTransform(y) : y;
}

function fileError(src: ImageSource, s: Exclude<Sample, SampleOk>, skipped: string[]): void {
  if (s.kind === 'transform')
    throw new TorchError(`${WHERE}: the transform threw on ${s.file}: ${s.message}`, { code: 'ERR_DATA_WORKER' });
  if (src.onInvalid === 'skip') {
    skipped.push(s.file);
    return;
  }
  throw new TorchError(`${WHERE}: ${s.message}`, { code: s.code ?? 'ERR_IMAGE_DECODE' });
}
