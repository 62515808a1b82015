/** Runs the frozen part over a dataset once, in streamed batches, into memory, the device, or a disk file. */
import { empty } from '../../creation';
import type { Dataset } from '../../data/dataset';
import type { DType } from '../../dtype';
import type { Module } from '../../nn/module';
import type { Tensor } from '../../tensor';
import { yieldToEventLoop } from '../../train/source';
import { DiskWriter } from './disk-writer';
import { readBatch } from './fingerprint';
import { jsForward, type PrefixForward } from './build-native';
import { throwIfAborted } from '../../train/abort';
import type { AbortSignalLike } from '../../portable-types';
import { BuildProgress } from './progress';

/** Where one batch of outputs goes. */
export interface FeatureSink {
  /** Called with the first computed batch's fields, before any write; false stops the build (a resumed disk build whose layout changed: start over). */
  begin(fields: Tensor[]): boolean | void | Promise<boolean | void>;
  write(start: number, fields: Tensor[]): Promise<void> | void;
}

/** Preallocated tensors filled batch by batch, so the features are never held twice. */
export class TensorSink implements FeatureSink {
  tensors: Tensor[] = [];
  constructor(
    private readonly length: number,
    private readonly device: string,
  ) {}

  begin(fields: Tensor[]): void {
    this.tensors = fields.map((t) => empty([this.length, ...t.shape.slice(1)], { dtype: t.dtype, device: this.device }));
  }

  write(start: number, fields: Tensor[]): void {
    fields.forEach((t, k) => {
      const dst = this.tensors[k].narrow(0, start, t.shape[0]);
      dst.copy_(t);
      dst.dispose();
    });
  }

  dispose(): void {
    for (const t of this.tensors) t.dispose();
  }
}

/** Batches written to the disk file as they come. */
export class DiskSink implements FeatureSink {
  constructor(
    readonly writer: DiskWriter,
    private readonly featureDtype: DType,
  ) {}

  begin(fields: Tensor[]): Promise<boolean> {
    return this.writer.layout(fields.map((t, k) => ({ dtype: k === 0 ? this.featureDtype : t.dtype, shape: t.shape.slice(1) })));
  }

  /** Writes a batch; one that closes a block makes the block durable and journals it. */
  async write(start: number, fields: Tensor[]): Promise<void> {
    for (let k = 0; k < fields.length; k++) await this.writer.write(k, start, fields[k]);
    const end = start + fields[0].shape[0];
    if (this.writer.closesBlock(end)) await this.writer.endBlock(Math.ceil(end / this.writer.blockRows) - 1);
  }
}

/** How to run the frozen part. */
export interface BuildOptions {
  batchSize: number;
  /** Where the frozen part runs (the batches are moved there). */
  device: string;
  /** The features' stored dtype. For a 16-bit float on disk the sink gets float32 and narrows the bits itself. */
  dtype: DType;
  toDisk: boolean;
  progress: BuildProgress;
  /** The frozen part's forward (default: on the JavaScript thread, see build-native.ts). */
  forward?: PrefixForward;
  /** The first row to compute (a resumed disk build: the rows before are already written). */
  fromRow?: number;
  /** Stops the build after the current batch with an AbortError. */
  signal?: AbortSignalLike;
}

/** One batch in flight: the dataset's fields and the frozen part's output to come. */
interface Pending {
  start: number;
  raw: Tensor[];
  out: Promise<Tensor>;
}

/**
 * Feeds the dataset in order, from `fromRow`, through `prefix` in eval mode under noGrad, one batch at a time;
 * restores every module's training flag afterwards. With a forward that runs on a worker thread, the next batch's
 * forward starts before the current batch is written, so reading, computing and writing overlap; the JavaScript
 * forward yields to the event loop between batches. Resolves false when the sink refused the first batch's layout.
 */
export async function runPrefix(prefix: Module, dataset: Dataset, sink: FeatureSink, o: BuildOptions): Promise<boolean> {
  const modes = prefix.namedModules().map(([, m]) => [m, m.training] as const);
  const forward = o.forward ?? jsForward(prefix);
  const n = dataset.length;
  const from = o.fromRow ?? 0;
  // 16-bit floats on disk are narrowed in JavaScript from float32; elsewhere LibTorch casts
  const want = o.toDisk && (o.dtype === 'float16' || o.dtype === 'bfloat16') ? 'float32' : o.dtype;
  const launch = (start: number): Pending => {
    const idx = Array.from({ length: Math.min(o.batchSize, n - start) }, (_, i) => start + i);
    const raw = readBatch(dataset, idx);
    const x = raw[0].device === o.device ? raw[0] : raw[0].to(o.device);
    const out = Promise.resolve()
      .then(() => forward(x))
      .finally(() => {
        if (x !== raw[0]) x.dispose();
      });
    // a rejection is awaited by whoever takes this batch; this keeps it from counting as unhandled meanwhile
    out.catch(() => undefined);
    return { start, raw, out };
  };
  const drop = async (p: Pending | undefined): Promise<void> => {
    if (!p) return;
    p.raw.forEach((t) => t.dispose());
    await p.out.then((y) => y.dispose(), () => undefined);
  };
  prefix.eval();
  let next: Pending | undefined;
  try {
    throwIfAborted(o.signal, 'cacheFeatures');
    let first = true;
    next = from < n ? launch(from) : undefined;
    while (next) {
      const cur = next;
      next = undefined;
      let fields: Tensor[] = [];
      const rows = Math.min(o.batchSize, n - cur.start);
      try {
        const y = await cur.out;
        const c = y.dtype === want ? y : y.to({ dtype: want });
        if (c !== y) y.dispose();
        fields = [c, ...cur.raw.slice(1)];
        const after = cur.start + o.batchSize;
        // the next forward runs (on a worker thread, for the native engine) while this batch is written
        if (after < n && !o.signal?.aborted) next = launch(after);
        if (first && (await sink.begin(fields)) === false) return false;
        first = false;
        await sink.write(cur.start, fields);
      } finally {
        if (fields[0]) fields[0].dispose();
        cur.raw.forEach((t) => t.dispose());
      }
      o.progress.tick(cur.start + rows);
      throwIfAborted(o.signal, 'cacheFeatures');
      await yieldToEventLoop();
    }
    return true;
  } finally {
    await drop(next);
    for (const [m, t] of modes) m.training = t;
  }
}
