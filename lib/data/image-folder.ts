/** tg.data.ImageFolder: a folder of images, one sub-folder per class, as torchvision.datasets.ImageFolder. */
import type { Tensor } from '../tensor';
import { cat } from '../creation';
import { dispose } from '../memory';
import type { RawImage } from '../transforms/transform';
import { isTransform } from '../transforms/transform';
import { TorchError } from '../errors';
import type { Batch, Example } from './example';
import type { AsyncDataset, LoadBatchesOptions } from './async-dataset';
import { DEFAULT_PIXEL_LIMIT, DecodeOptions, ImageMode } from './image-decode';
import { IMG_EXTENSIONS, scanFolder } from './image-scan';
import { imageBatches, ImageSource, ImageTransform, sampleTensor } from './image-batches';
import { readBatch } from './image-sample';
import { DataLoader, DataLoaderOptions } from './loader';

/** How an ImageFolder lists and reads its files. */
export interface ImageFolderOptions {
  /**
   * Applied to each decoded image: a tg.transforms Transform (rebuilt in worker threads from its toJSON()), or a
   * function of a RawImage (runs on the main thread). Without one, examples are uint8 tensors [C, H, W].
   */
  transform?: ImageTransform;
  /** Applied to each class index. */
  targetTransform?: (classIndex: number) => number;
  /** File name endings that count as images, case-insensitive (default torchvision's IMG_EXTENSIONS). */
  extensions?: readonly string[];
  /** Unreadable or non-image files: 'error' (default) throws one error listing them; 'skip' leaves them out with a warning. */
  onInvalid?: 'error' | 'skip';
  /** Reads a file instead of the built-in decoder (runs on the main thread). */
  loader?: (file: string) => Promise<RawImage> | RawImage;
  /** Channels of the decoded images, as PIL's convert(mode) (default 'RGB'). */
  mode?: ImageMode;
  /** Refuse images with more pixels than this (default sharp's 268402689). */
  limitInputPixels?: number;
  /** Apply the EXIF orientation (default true; torchvision's PIL loader does not). */
  autoOrient?: boolean;
  /** Follow symbolic links that lead out of the root (default false). */
  followLinksOutside?: boolean;
  /** Modules each worker thread requires before rebuilding the transform: where custom transforms call registerTransform. */
  workerModules?: readonly string[];
}

/** A DataLoader's options plus its worker threads. */
export interface ImageLoaderOptions extends DataLoaderOptions {
  /** Worker threads that decode and transform (default 2; 0 reads on the main thread, decoding still off it). */
  workers?: number;
  /** Batches each worker reads ahead (default 2). */
  prefetch?: number;
}

const LIST_FIRST = 10;

/**
 * Images in `root/<class>/**`, as `torchvision.datasets.ImageFolder`: classes are the sub-folders in sorted order,
 * `samples` the [path, classIndex] pairs, examples `[image, classIndex]`. Files are decoded with sharp as PIL's
 * `convert('RGB')` (see decodeImage). Examples are read asynchronously: iterate a DataLoader over it with
 * `for await` (or give it to tg.fit), best with worker threads: `folder.loader({ batchSize: 32, shuffle: true })`.
 * Files whose header is not a decodable image are found when the folder is listed: one error naming them, or, with
 * `onInvalid: 'skip'`, a warning; files that fail later (truncated) do the same when their batch is read.
 * @example
 * const train = new tg.data.ImageFolder('data/train', { transform: tg.transforms.Compose([...]) });
 * for await (const [x, y] of train.loader({ batchSize: 32, shuffle: true, workers: 2 })) { ...; tg.dispose([x, y]); }
 */
export class ImageFolder implements AsyncDataset, ImageSource {
  readonly root: string;
  /** Class names, sorted. */
  readonly classes: string[];
  /** Class name to index. */
  readonly classToIdx: Record<string, number>;
  /** [path, classIndex] per example, in torchvision's order. */
  readonly samples: [string, number][];
  /** The class index of each example. */
  readonly targets: number[];
  /** Files refused when the folder was listed (with onInvalid 'skip'), and why. */
  readonly invalid: { file: string; why: string }[];
  readonly transform?: ImageTransform;
  readonly targetTransform?: (target: number) => number;
  readonly loadFile?: (file: string) => Promise<RawImage> | RawImage;
  readonly decode: DecodeOptions;
  readonly onInvalid: 'error' | 'skip';
  readonly workerModules: readonly string[];

  constructor(root: string, options: ImageFolderOptions = {}) {
    if (typeof root !== 'string' || root === '') throw new TypeError('ImageFolder: expected the root folder as a string');
    if (options === null || typeof options !== 'object') throw new TypeError('ImageFolder: options must be an object such as { transform }');
    const o = options;
    if (o.transform !== undefined && typeof o.transform !== 'function' && !isTransform(o.transform))
      throw new TypeError('ImageFolder: transform must be a tg.transforms transform (apply/toJSON) or a function of a RawImage');
    if (o.targetTransform !== undefined && typeof o.targetTransform !== 'function') throw new TypeError('ImageFolder: targetTransform must be a function');
    if (o.loader !== undefined && typeof o.loader !== 'function') throw new TypeError('ImageFolder: loader must be a function (file) => RawImage');
    if (o.onInvalid !== undefined && o.onInvalid !== 'error' && o.onInvalid !== 'skip')
      throw new TypeError(`ImageFolder: onInvalid must be 'error' or 'skip', got ${String(o.onInvalid)}`);
    const extensions = o.extensions ?? IMG_EXTENSIONS;
    if (!Array.isArray(extensions) || extensions.length === 0 || !extensions.every((e) => typeof e === 'string' && e !== ''))
      throw new TypeError('ImageFolder: extensions must be a non-empty array of endings such as [".jpg", ".png"]');
    const modules = o.workerModules ?? [];
    if (!Array.isArray(modules) || !modules.every((m) => typeof m === 'string'))
      throw new TypeError('ImageFolder: workerModules must be an array of module paths');
    const limit = o.limitInputPixels ?? DEFAULT_PIXEL_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`ImageFolder: limitInputPixels must be a positive integer, got ${String(limit)}`);
    this.root = root;
    this.transform = o.transform;
    this.targetTransform = o.targetTransform;
    this.loadFile = o.loader;
    this.decode = { mode: o.mode ?? 'RGB', limitInputPixels: limit, autoOrient: o.autoOrient ?? true };
    this.onInvalid = o.onInvalid ?? 'error';
    this.workerModules = modules;
    const scan = scanFolder(root, { extensions, followLinksOutside: o.followLinksOutside ?? false });
    if (scan.invalid.length > 0) {
      const list = scan.invalid.slice(0, LIST_FIRST).map((f) => `  ${f.file}: ${f.why}`);
      const more = scan.invalid.length > LIST_FIRST ? `\n  ... and ${scan.invalid.length - LIST_FIRST} more` : '';
      if (this.onInvalid === 'error')
        throw new TorchError(
          `ImageFolder: ${scan.invalid.length} file(s) in ${root} cannot be read as images (pass onInvalid: 'skip' to leave them out):\n${list.join('\n')}${more}`,
          { code: 'ERR_IMAGE_FOLDER' },
        );
      process.emitWarning(`ImageFolder: skipped ${scan.invalid.length} file(s) in ${root} that cannot be read as images (first: ${scan.invalid[0].file}: ${scan.invalid[0].why})`, {
        code: 'TORCHGRAFT_IMAGE_SKIPPED',
      });
    }
    this.classes = scan.classes;
    this.classToIdx = Object.fromEntries(scan.classes.map((c, i) => [c, i]));
    this.samples = scan.samples;
    this.targets = scan.samples.map((s) => s[1]);
    this.invalid = scan.invalid;
  }

  /** Number of examples. */
  get length(): number {
    return this.samples.length;
  }

  /** Refused: decoding is asynchronous. @throws TypeError naming getItemAsync and DataLoader's for await. */
  getItem(index: number): Example {
    throw new TypeError(
      `ImageFolder.getItem(${index}): images are decoded asynchronously; use await folder.getItemAsync(i), or iterate a DataLoader with for await (folder.loader({ batchSize }))`,
    );
  }

  /** Example `index` as [image, classIndex], decoded and transformed on this thread (random draws from the current stream). */
  async getItemAsync(index: number): Promise<Example> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length)
      throw new RangeError(`ImageFolder.getItemAsync: index ${String(index)} is out of range for a dataset of ${this.length} examples`);
    const t = this.transform;
    const r = await readBatch([{ index, file: this.samples[index][0] }], {
      decode: this.decode,
      load: this.loadFile,
      transform: t && isTransform(t) ? t : undefined,
      epoch: 0,
      pack: false,
    });
    const s = r.samples[0];
    if (!s.ok) {
      const code = s.kind === 'transform' ? 'ERR_DATA_WORKER' : (s.code ?? 'ERR_IMAGE_DECODE');
      throw new TorchError(s.kind === 'transform' ? `ImageFolder: the transform threw on ${s.file}: ${s.message}` : `ImageFolder: ${s.message}`, { code });
    }
    const x: Tensor = sampleTensor(this, s, { epoch: 0 });
    const y = this.samples[index][1];
    return [x, this.targetTransform ? this.targetTransform(y) : y];
  }

  /** @internal The batches of one epoch, for DataLoader's for await. */
  loadBatches(order: number[], options: LoadBatchesOptions): AsyncGenerator<Batch> {
    return imageBatches(this, order, options);
  }

  /**
   * Every example read once, in the folder's order, as tensors [x, y] (x stacked on a new first dimension): for small
   * folders, a feature cache (tg.transfer.cacheFeatures reads datasets synchronously) or fit's native engine. Random
   * transforms draw under seed 0, so the result is reproducible; give deterministic transforms for a feature cache.
   * @example const [x, y] = await folder.toTensors(); const cache = await tg.transfer.cacheFeatures(net, [x, y], { upTo: 'features' });
   */
  async toTensors(options: { workers?: number; batchSize?: number } = {}): Promise<[Tensor, Tensor]> {
    const loader = new DataLoader(this, { batchSize: options.batchSize ?? 64, workers: options.workers ?? 2, seed: 0 });
    const xs: Tensor[] = [];
    const ys: Tensor[] = [];
    try {
      for await (const [x, y] of loader) {
        xs.push(x);
        ys.push(y);
      }
      return [cat(xs, 0), cat(ys, 0)];
    } finally {
      dispose([xs, ys]);
    }
  }

  /**
   * A DataLoader over this folder with worker threads (default 2) that decode and transform ahead of training.
   * @example for await (const [x, y] of folder.loader({ batchSize: 32, shuffle: true, seed: 1 })) { ... }
   */
  loader(options: ImageLoaderOptions = {}): DataLoader {
    return new DataLoader(this, { workers: 2, ...options });
  }
}
