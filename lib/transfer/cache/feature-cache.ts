/** FeatureCache: the frozen part's outputs computed once, checked against what produced them before every use. */
import { buildAcrossRanks } from './shard-build';
import { barrier } from '../../distributed/collectives';
import { getRank } from '../../distributed/process-group';
import { closeSync, promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { DataLoader } from '../../data/loader';
import { Dataset, isDataset } from '../../data/dataset';
import { TensorDataset } from '../../data/tensor-dataset';
import type { DType } from '../../dtype';
import { TorchError } from '../../errors';
import type { Module } from '../../nn/module';
import { isTensor, Tensor } from '../../tensor';
import type { DataSource } from '../../train/source';
import type { Trainable } from '../../train/types';
import { chainView } from '../../nn/slice';
import { flatIndex } from '../../nn/flat-chain';
import { BuildOptions, DiskSink, runPrefix, TensorSink } from './build';
import { EngineChoice, jsForward, NativeForward, PrefixForward } from './build-native';
import { AbortError, throwIfAborted } from '../../train/abort';
import { CachedDataset, DiskFeatures, MemoryFeatures } from './cached-dataset';
import { chainOf, randomnessError, resolveCut } from './cut';
import { openCacheFile } from './disk-file';
import { DiskWriter, WritePlan } from './disk-writer';
import { DiskHeader, resolveBlockRows } from './disk-layout';
import { datasetDigest, describeChanges, Fingerprint, KeyedDataset, layerDigest, layerTensors, structureDigest, weightDigests } from './fingerprint';
import { CacheFeaturesOptions, CacheStore, checkCacheOptions } from './options';
import { BuildProgress } from './progress';
import { CacheStamp, matchesStamp, stampTensors } from './stamp';

/** Examples per batch while building by default (see CacheFeaturesOptions.batchSize). */
const DEFAULT_BATCH = 32;

/** How a cache's loader batches. */
export interface CacheLoaderOptions {
  batchSize?: number;
  shuffle?: boolean;
  seed?: number;
}

function firstParam(layers: [string, Module][]): Tensor | undefined {
  for (const [, m] of layers) {
    const p = m.parameters()[0];
    if (p) return p;
  }
  return undefined;
}

/** A TensorDataset's fields as named tensors for a stamp (the length in the names: a stamp of another length differs). */
function datasetTensors(ds: TensorDataset): [string, Tensor][] {
  return ds.tensors.map((t, k) => [`${ds.length}:f${k}`, t]);
}

function asDataset(data: unknown, where: string): Dataset {
  if (data instanceof DataLoader && isDataset(data.dataset)) return data.dataset;
  if (isDataset(data)) return data;
  if (Array.isArray(data) && data.length > 0 && data.every((t) => isTensor(t))) return new TensorDataset(...(data as Tensor[]));
  throw new TypeError(`${where}: a feature cache needs the dataset it was built from (a Dataset, a DataLoader over one, or tensors [x, y])`);
}

/**
 * Features of a dataset computed once by a model's frozen lower layers (see `tg.transfer.cacheFeatures`).
 * Pass it to `tg.fit(model, dataset, { cache })`, or train on `cache.loader()` through `cache.head(model)`.
 * Every use first compares the model and dataset with the fingerprint taken when the cache was built, and
 * throws (or rebuilds, with `onStale: 'rebuild'`) when they differ. Within the process that check costs
 * O(number of tensors): see `changes`.
 */
export class FeatureCache {
  /** Where the features are kept. */
  readonly store: CacheStore;
  /** The path of the topmost cached layer (a dotted path inside nested Sequentials, or a container: its last layer). */
  readonly cut: string;
  /** The disk cache's file (store 'disk'). */
  readonly file?: string;
  /** What produced the features. */
  fingerprint!: Fingerprint;
  /** Times this object computed the features (0 when a disk cache was reused as it was). */
  builds = 0;
  /** Examples this process ran through the frozen part in the last build (its share, in a distributed build). */
  builtRows = 0;
  /** Rows of the last disk build that an interrupted earlier build had already written (resumed, not computed again). */
  resumedRows = 0;
  /** Which engine ran the frozen part in the last build: 'native' (traced, on a worker thread) or 'js'. */
  buildEngine?: 'native' | 'js';
  /** Why the last build used its engine (e.g. why 'auto' fell back to 'js'). */
  buildEngineReason?: string;
  /** Why an existing disk file was not reused (a truncated or foreign file, a change with onStale 'rebuild'). */
  rebuiltBecause?: string;
  private data?: CachedDataset;
  /** Which tensors, at which versions, `fingerprint`'s digests were proven for (see stamp.ts). */
  private stamp!: CacheStamp;

  /** @internal use tg.transfer.cacheFeatures */
  constructor(
    private model: Module,
    private dataset: Dataset,
    private readonly options: CacheFeaturesOptions & { batchSize: number },
    cutName: string,
  ) {
    this.store = options.store ?? 'memory';
    this.cut = cutName;
    if (this.store === 'disk') this.file = path.join(options.dir!, options.name ?? 'features.tgcache');
  }

  /** Number of cached examples. */
  get length(): number {
    return this.dataset.length;
  }

  /** The cached examples as a dataset: `[features, ...other fields]`, features cast to the head's dtype (the frozen part's when the head has no parameters). */
  get examples(): Dataset {
    if (!this.data) throw new TorchError('FeatureCache: the cache was disposed', { code: 'ERR_CACHE_DISPOSED' });
    return this.data;
  }

  private below(model: Module): { below: [string, Module][]; cut: string } {
    const chain = chainOf(model);
    const i = flatIndex(chain, this.cut);
    // a vanished cut (i = -1) leaves nothing below it
    return { below: chain.slice(0, i + 1), cut: i < 0 ? `(no layer '${this.cut}')` : `${this.cut}@${i}` };
  }

  /**
   * The fingerprint `model` and `dataset` would give now (default: the ones the cache was built from), every part
   * hashed from the tensors' content.
   */
  fingerprintOf(model: Module = this.model, dataset: Dataset = this.dataset): Fingerprint {
    const { below, cut } = this.below(model);
    return { weights: weightDigests(below), structure: structureDigest(below), cut, dataset: datasetDigest(dataset, this.options.batchSize) };
  }

  /**
   * What changed since the cache was built, in words (empty when it is current). Within the process the stamps
   * decide (O(number of tensors)): a layer or TensorDataset whose tensors are the same objects at the same versions
   * is unchanged without reading a value; only a part whose stamp differs is hashed, to name a real change or, when
   * its content is back to what the cache was built from, to stamp it anew.
   */
  changes(model: Module = this.model, dataset: Dataset = this.dataset): string[] {
    return describeChanges(this.fingerprint, this.current(model, dataset));
  }

  /** The fingerprint now, taking the recorded digest of every part whose stamp still matches. */
  private current(model: Module, dataset: Dataset): Fingerprint {
    const { below, cut } = this.below(model);
    const weights: Record<string, string> = {};
    for (const [name, m] of below) {
      const tensors = layerTensors(m);
      const known = this.fingerprint.weights[name];
      // only a layer of the fingerprint has a stamp
      if (matchesStamp(this.stamp.layers.get(name), tensors)) weights[name] = known!;
      else {
        weights[name] = layerDigest(tensors);
        if (weights[name] === known) this.stamp.layers.set(name, stampTensors(tensors));
      }
    }
    return { weights, structure: structureDigest(below), cut, dataset: this.datasetNow(dataset) };
  }

  /** The dataset's part of the fingerprint now: its key; a TensorDataset by stamp, else hashed; other datasets hashed. */
  private datasetNow(ds: KeyedDataset): string {
    if (typeof ds.cacheKey === 'string' || !(ds instanceof TensorDataset)) return datasetDigest(ds, this.options.batchSize);
    const tensors = datasetTensors(ds);
    if (matchesStamp(this.stamp.dataset, tensors)) return this.fingerprint.dataset;
    const digest = datasetDigest(ds, this.options.batchSize);
    if (digest === this.fingerprint.dataset) this.stamp.dataset = stampTensors(tensors);
    return digest;
  }

  /** Takes the fingerprint from the content of the cache's model and dataset, and stamps them (one synchronous step). */
  private takeFingerprint(): Fingerprint {
    const fp = this.fingerprintOf();
    this.stampCurrent();
    return fp;
  }

  /** Stamps the cache's model and dataset as they are now (their content is what `fingerprint` says). */
  private stampCurrent(): void {
    const { below } = this.below(this.model);
    const ds = this.dataset as KeyedDataset;
    this.stamp = {
      layers: new Map(below.map(([name, m]) => [name, stampTensors(layerTensors(m))])),
      // (a keyed dataset's stamp is never read: datasetNow compares its key)
      dataset: ds instanceof TensorDataset ? stampTensors(datasetTensors(ds)) : undefined,
    };
  }

  /**
   * Checks the cache against `model` and `dataset`: current, it resolves; stale, it rebuilds with onStale 'rebuild'
   * (from this model and dataset) and otherwise throws TorchError `ERR_CACHE_STALE` naming what changed.
   */
  async verify(model: Module = this.model, dataset: Dataset = this.dataset): Promise<void> {
    const changed = this.changes(model, dataset);
    if (changed.length === 0) return;
    if (this.options.onStale === 'rebuild') {
      this.rebuiltBecause = `changed: ${changed.join('; ')}`;
      await this.rebuild(model, dataset);
      return;
    }
    throw staleError(changed);
  }

  /** Computes the features again from `model` and `dataset` (default: the current ones). */
  async rebuild(model: Module = this.model, dataset: Dataset = this.dataset): Promise<void> {
    this.data?.dispose();
    this.data = undefined;
    this.model = model;
    this.dataset = dataset;
    await this.build();
  }

  /** The layers above the cut of `model` (a Sequential view sharing its weights): what trains on the cache. */
  head(model: Module = this.model): Module {
    const chain = chainOf(model);
    const i = flatIndex(chain, this.cut);
    if (i < 0) throw staleError([`the cut point (no layer '${this.cut}' in the model)`]);
    return chainView(chain.slice(i + 1));
  }

  /**
   * A DataLoader over the cached examples, with the DataLoader's seeded shuffles: with the same seed and batch
   * size, the same batches in the same order as a loader over the original dataset (a memory cache, or a disk cache
   * with shuffle 'rows'). A disk cache's shuffled epochs are block-shuffled by default (cacheFeatures' `shuffle`,
   * `bufferBlocks`): reproducible from the seed, but not the uniform order, and a batch's rows come from a few
   * neighbouring blocks. Iterate a disk cache's loader with `for await` to read ahead off the JavaScript thread.
   * Throws when stale.
   */
  loader(options: CacheLoaderOptions = {}): DataLoader {
    const changed = this.changes();
    if (changed.length) throw staleError(changed);
    return new DataLoader(this.examples, { batchSize: options.batchSize ?? 32, shuffle: options.shuffle ?? false, seed: options.seed });
  }

  /** fit's hook (FitCache): verifies against fit's model and data, then gives the head and the cached batches. */
  async prepareFit(model: Trainable, data: DataSource, o: { batchSize: number; shuffle: boolean; seed?: number }): Promise<{ model: Trainable; data: DataSource }> {
    const ds = asDataset(data, 'fit');
    await this.verify(model as unknown as Module, ds);
    this.model = model as unknown as Module;
    this.dataset = ds;
    // a DataLoader given to fit keeps its own batching, as it would uncached
    const b = data instanceof DataLoader ? { batchSize: data.batchSize, shuffle: data.shuffle, seed: data.seed, dropLast: data.dropLast } : o;
    return { model: this.head(this.model) as unknown as Trainable, data: new DataLoader(this.examples, b) };
  }

  /** Frees the cached tensors, or closes the file (the file stays for a later run). */
  dispose(): void {
    this.data?.dispose();
    this.data = undefined;
  }

  /** @internal Runs the frozen part and stores the outputs; for a disk cache, first tries the existing file. */
  async open(): Promise<this> {
    if (this.options.distributed && this.store === 'disk') {
      // one file for the ranks on this machine: rank 0 reuses or builds it while the others wait, then they open it
      if (getRank() === 0) await this.openOrBuild();
      await barrier();
      if (getRank() !== 0) await this.openOrBuild();
      return this;
    }
    return this.openOrBuild();
  }

  private async openOrBuild(): Promise<this> {
    if (this.store === 'disk') {
      const r = openCacheFile(this.file!);
      if ('fd' in r) {
        const want = this.fingerprintOf();
        const changed = describeChanges(r.header.fingerprint, want);
        const dtypeOk = this.options.dtype === undefined || r.header.fields[0].dtype === this.options.dtype;
        if (changed.length === 0 && dtypeOk) {
          try {
            this.data = this.diskFeatures(r.fd, r.header);
            this.fingerprint = r.header.fingerprint;
            this.stampCurrent();
            return this;
          } catch (e) {
            // a damaged label block (checked whole at open) is rebuilt like a truncated file
            if ((e as TorchError).code !== 'ERR_CACHE_CORRUPT') throw e;
            this.rebuiltBecause = `a block failed its checksum at open: ${(e as Error).message}`;
            await this.build();
            return this;
          }
        }
        closeSync(r.fd);
        if (changed.length && this.options.onStale !== 'rebuild') throw staleError(changed, this.file);
        this.rebuiltBecause = changed.length ? `changed: ${changed.join('; ')}` : `stored as ${r.header.fields[0].dtype}, ${this.options.dtype} asked`;
      } else if ('invalid' in r) this.rebuiltBecause = `the file ${r.invalid}`;
    }
    await this.build();
    return this;
  }

  /** The open file as a dataset read with this cache's read options (closes the file if its labels fail their checksums). */
  private diskFeatures(fd: number, header: DiskHeader): DiskFeatures {
    const { shuffle, bufferBlocks, prefetch } = this.options;
    return new DiskFeatures(fd, this.file!, header, this.headDtype(), { shuffle, bufferBlocks, prefetch });
  }

  private headDtype(): DType {
    const chain = chainOf(this.model);
    const i = flatIndex(chain, this.cut);
    // a head without parameters trains in the frozen part's dtype
    return (firstParam(chain.slice(i + 1)) ?? firstParam(chain))?.dtype ?? 'float32';
  }

  private async build(): Promise<void> {
    throwIfAborted(this.options.signal, 'cacheFeatures');
    const chain = chainOf(this.model);
    const cut = resolveCut(this.model, chain, this.cut).index;
    const below = chain.slice(0, cut + 1);
    const random = randomnessError(chain, cut, this.dataset);
    if (random && !this.options.allowRandom) throw random;
    this.fingerprint = this.takeFingerprint();
    const prefix = chainView(below);
    const device = this.options.device ?? firstParam(below)?.device ?? 'cpu';
    const n = this.dataset.length;
    if (n === 0) throw new RangeError('cacheFeatures: the dataset is empty');
    const bs = this.options.batchSize;
    const blockRows = resolveBlockRows(bs, this.options.blockRows);
    const toDisk = this.store === 'disk';
    const progress = new BuildProgress(this.options.output ?? process.stderr, this.options.verbose ?? 1, toDisk
      ? { rows: n, unitRows: blockRows, unit: 'blocks' } : { rows: n, unitRows: bs, unit: 'batches' });
    const dtype = this.options.dtype ?? firstParam(below)?.dtype ?? 'float32';
    const engine = this.engineFor(prefix);
    const run = { batchSize: bs, device, dtype, toDisk, progress, forward: engine.forward, signal: this.options.signal };
    this.resumedRows = 0;
    try {
      if (toDisk) {
        await fsp.mkdir(this.options.dir!, { recursive: true });
        this.data = await this.buildFile(prefix, { file: this.file!, length: n, blockRows, dtype, fingerprint: this.fingerprint }, run);
      } else if (this.options.distributed) {
        const { tensors, rows } = await buildAcrossRanks(prefix, this.dataset, run);
        const placed = this.store === 'device' && device !== 'cpu' ? tensors.map((t) => {
          const d = t.to(device);
          t.dispose();
          return d;
        }) : tensors;
        this.data = new MemoryFeatures(placed, this.headDtype());
        this.builtRows = rows;
      } else {
        const sink = new TensorSink(n, this.store === 'device' ? device : 'cpu');
        try {
          await runPrefix(prefix, this.dataset, sink, run);
        } catch (e) {
          sink.dispose();
          throw e;
        }
        this.data = new MemoryFeatures(sink.tensors, this.headDtype());
      }
    } finally {
      engine.dispose();
    }
    if (!this.options.distributed || toDisk) this.builtRows = n - this.resumedRows;
    this.buildEngine = engine.choice.engine;
    this.buildEngineReason = engine.choice.reason;
    this.builds++;
    progress.done({ examples: n, where: this.file ?? this.store, engine: engine.choice.engine, resumedRows: this.resumedRows });
  }

  /** The build's forward: traced onto a worker thread ('native', or 'auto' when it traces), else on the JavaScript thread. */
  private engineFor(prefix: Module): { forward: PrefixForward; choice: EngineChoice; dispose(): void } {
    const asked = this.options.engine ?? 'auto';
    if (asked === 'js') return { forward: jsForward(prefix), choice: { engine: 'js', reason: "engine 'js' asked" }, dispose: () => undefined };
    const native = new NativeForward(prefix, asked === 'auto');
    return { forward: native.forward, choice: native.choice, dispose: () => native.dispose() };
  }

  /**
   * Builds the disk file through `<file>.partial` and its journal, resuming a matching interrupted build. An abort or
   * a full disk keeps both for the next build; any other failure removes them.
   */
  private async buildFile(prefix: Module, plan: WritePlan, run: BuildOptions): Promise<DiskFeatures> {
    for (;;) {
      const writer = await DiskWriter.open(plan);
      this.resumedRows = writer.resumedRows;
      run.progress.resume(writer.resumedRows);
      let whole: boolean;
      try {
        whole = await runPrefix(prefix, this.dataset, new DiskSink(writer, plan.dtype), { ...run, fromRow: writer.resumedRows });
        if (whole) await writer.finish();
      } catch (e) {
        const resumable = e instanceof AbortError || (e instanceof TorchError && e.code === 'ERR_NO_SPACE');
        await (resumable ? writer.keep() : writer.discard());
        throw e;
      }
      // a resumed build whose first batch laid out otherwise than its journal: start over
      if (!whole) {
        await writer.discard();
        continue;
      }
      const r = openCacheFile(plan.file);
      if (!('fd' in r)) throw new TorchError(`cacheFeatures: the cache file just written ${'invalid' in r ? r.invalid : 'is missing'}`, { code: 'ERR_IO' });
      return this.diskFeatures(r.fd, r.header);
    }
  }
}

function staleError(changed: string[], file?: string): TorchError {
  return new TorchError(
    `FeatureCache: the cache${file ? ` '${file}'` : ''} is stale: changed since it was built: ${changed.join('; ')}. ` +
      "Rebuild it (cache.rebuild(), or onStale: 'rebuild')",
    { code: 'ERR_CACHE_STALE' },
  );
}

/**
 * Computes the outputs of a model's frozen lower layers for every example of a dataset, once, so that training
 * the layers above goes through them once instead of once per epoch. The frozen part runs in eval mode under
 * noGrad, in streamed batches (the dataset is read once, in order, never held twice), on a worker thread (engine
 * 'native'/'auto'; 'js' yields to the event loop between batches), with a progress bar on a terminal.
 *
 * Safety: the cache records a fingerprint (sha256 over the exact bytes of the frozen layers' parameters and
 * buffers, per layer; their structure and frozen flags; the cut; the dataset's key or length plus content hash)
 * and checks it before every use: a change is a TorchError `ERR_CACHE_STALE` naming it, or a rebuild with
 * `onStale: 'rebuild'`. The check reads no values while the frozen tensors and a TensorDataset's tensors are the
 * same objects at the same LibTorch versions (every in-place change bumps the version); only a layer or dataset
 * whose tensors changed is hashed again. A dataset that is not a TensorDataset is read and hashed at every check
 * unless it gives a `cacheKey`. A frozen part with randomness is refused (`ERR_CACHE_RANDOM`) unless `allowRandom`.
 * A disk cache is written block by block into `<file>.partial` with a journal, resumed after an interruption,
 * renamed into place only when whole, and reused by a later run when its fingerprint matches; a truncated or
 * foreign file is rebuilt.
 * @example
 * const cache = await tg.transfer.cacheFeatures(net, trainSet, { store: 'disk', dir: '.cache', dtype: 'float16' });
 * await tg.fit(net, trainSet, { epochs: 10, optimizer, loss: 'crossEntropy', cache, seed: 1 });
 */
export async function cacheFeatures(model: Module, dataset: Dataset | DataLoader | Tensor[], options: CacheFeaturesOptions = {}): Promise<FeatureCache> {
  checkCacheOptions(options);
  throwIfAborted(options.signal, 'cacheFeatures');
  if (typeof (model as Module | null | undefined)?.namedModules !== 'function')
    throw new TypeError('cacheFeatures: model must be a tg.nn.Module');
  const ds = asDataset(dataset, 'cacheFeatures');
  const chain = chainOf(model);
  const { name } = resolveCut(model, chain, options.upTo);
  const cache = new FeatureCache(model, ds, { ...options, batchSize: options.batchSize ?? DEFAULT_BATCH }, name);
  return cache.open();
}

export type { CacheFeaturesOptions, CacheStore, Fingerprint };
