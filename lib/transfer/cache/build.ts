/** Runs the frozen part over a dataset once, in streamed batches, into memory, the device, or a disk file. */
import { noGrad } from '../../autograd';
import { empty } from '../../creation';
import { tidy } from '../../memory';
import type { Dataset } from '../../data/dataset';
import type { DType } from '../../dtype';
import type { Module } from '../../nn/module';
import type { Tensor } from '../../tensor';
import { yieldToEventLoop } from '../../train/source';
import { DiskWriter } from './disk-writer';
import { readBatch } from './fingerprint';
import { BuildProgress } from './progress';

/** Where one batch of outputs goes. */
export interface FeatureSink {
  /** Called with the first batch's fields, before any write. */
  begin(fields: Tensor[]): void;
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

  begin(fields: Tensor[]): void {
    this.writer.layout(fields.map((t, k) => ({ dtype: k === 0 ? this.featureDtype : t.dtype, shape: t.shape.slice(1) })));
  }

  async write(start: number, fields: Tensor[]): Promise<void> {
    for (let k = 0; k < fields.length; k++) await this.writer.write(k, start, fields[k]);
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
}

/**
 * Feeds the dataset in order through `prefix` in eval mode under noGrad, one batch at a time, yielding to the
 * event loop between batches; restores every module's training flag afterwards.
 */
export async function runPrefix(prefix: Module, dataset: Dataset, sink: FeatureSink, o: BuildOptions): Promise<void> {
  const modes = prefix.namedModules().map(([, m]) => [m, m.training] as const);
  prefix.eval();
  try {
    let b = 0;
    for (let start = 0; start < dataset.length; start += o.batchSize, b++) {
      const idx = Array.from({ length: Math.min(o.batchSize, dataset.length - start) }, (_, i) => start + i);
      const raw = readBatch(dataset, idx);
      let out: Tensor[] = [];
      try {
        // tidy frees the frozen part's intermediate activations now, not when the garbage collector gets to them
        out = tidy(() => noGrad(() => {
          const x = raw[0].device === o.device ? raw[0] : raw[0].to(o.device);
          const y = prefix.forward(x) as Tensor;
          if (x !== raw[0]) x.dispose();
          // 16-bit floats on disk are narrowed in JavaScript from float32; elsewhere LibTorch casts
          const want = o.toDisk && (o.dtype === 'float16' || o.dtype === 'bfloat16') ? 'float32' : o.dtype;
          if (y.dtype === want) return [y];
          const c = y.to({ dtype: want });
          y.dispose();
          return [c];
        }));
        out.push(...raw.slice(1));
        if (start === 0) sink.begin(out);
        await sink.write(start, out);
      } finally {
        if (out[0]) out[0].dispose();
        raw.forEach((t) => t.dispose());
      }
      o.progress.tick(b + 1);
      await yieldToEventLoop();
    }
  } finally {
    for (const [m, t] of modes) m.training = t;
  }
}
