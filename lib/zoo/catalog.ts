/**
 * The zoo catalog: a directory of entries `entries/<name>/<version>/` each holding `weights.safetensors`,
 * `structure.txt` and `card.json`. Entries are written whole in a temporary directory and renamed into place,
 * so a reader never sees half an entry and two writers never overwrite each other; `index.json` is rebuilt
 * from the entries under a lock file after every change (the entries stay the source of truth).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TorchError } from '../errors';
import type { Tensor } from '../tensor';
import type { Module } from '../nn/module';
import type { LoadReport, LoadStateDictOptions } from '../nn/state-dict';
import * as io from '../io';
import { collectionsMetadata, restoreCollections, COLLECTIONS_KEY } from '../nn/collections';
import { ModelCard, EntryRef, checkPart, parseRef, compareVersions, notFound } from './card';
import { sha256File } from './hash';
import { withLock } from './lock';
import { atomicWriteFile, fsyncDir, ioError, writeDurably } from '../io/atomic';
import { hostTag, pidIsDead } from '../io/owner';

// Working directories under <dir>/tmp: an entry being written, or one being removed; named by host and pid.
const WORK_DIR = /^(?:rm-)?([0-9a-f]{8})-(\d+)-[0-9a-f]{12}$/;

/** What `add` and `importFile` record on the card (name required). */
export interface AddOptions {
  name: string;
  version?: string;
  task?: string;
  inputShape?: number[];
  classes?: string[] | number;
  metrics?: Record<string, number>;
  tags?: string[];
  /** `name@version` of the entry this model came from. */
  parent?: string;
  /** Replace an existing entry of the same name and version (default false: ERR_ZOO_EXISTS). */
  overwrite?: boolean;
}

/** Filters of `find`: every given field must match. */
export interface FindQuery {
  task?: string;
  tag?: string;
  name?: string;
  inputShape?: number[];
}

/** What `load` returns: the tensors (the caller owns them), the card and the weights' metadata. */
export interface ZooEntry {
  stateDict: Record<string, Tensor>;
  card: ModelCard;
  metadata: Record<string, string>;
}

const WEIGHTS = 'weights.safetensors';
const CARD = 'card.json';
const STRUCTURE = 'structure.txt';

/** A model catalog on disk; get one with `tg.zoo.open(dir)`. */
export class Zoo {
  /** The catalog directory. */
  readonly dir: string;

  /** @internal use `tg.zoo.open`. */
  constructor(dir: string) {
    this.dir = dir;
  }

  private get entriesDir(): string {
    return path.join(this.dir, 'entries');
  }

  private entryDir(name: string, version: string): string {
    return path.join(this.entriesDir, name, version);
  }

  /**
   * Stores a model: its state dict as safetensors (with its collections in the metadata), its printed
   * structure, and a card. Returns the card (with the version given or allocated).
   * @throws TypeError for a bad name, version or parent; TorchError `ERR_ZOO_EXISTS` when that version exists.
   * @example await zoo.add(net, { name: 'digits-0-4', task: 'classification', inputShape: [784], metrics: { accuracy: 0.98 } });
   */
  async add(model: Module, options: AddOptions): Promise<ModelCard> {
    if (!model || typeof (model as Module).stateDict !== 'function') throw new TypeError('zoo.add(): expected a Module');
    const sd = model.stateDict();
    const meta = collectionsMetadata(model);
    const structure = `${model.constructor.name}\n${model.toString()}\n\n${safeSummary(model)}\n`;
    const extra: Partial<ModelCard> = { modelClass: model.constructor.name };
    if (meta[COLLECTIONS_KEY]) extra.collections = JSON.parse(meta[COLLECTIONS_KEY]);
    try {
      return await this.write(sd, meta, structure, options, extra);
    } finally {
      for (const t of Object.values(sd)) t.dispose();
    }
  }

  /**
   * Imports any weight file `tg.io.load` reads; the card records the source format, tensor and parameter counts
   * and the file's metadata.
   * @example await zoo.importFile('resnet18.safetensors', { name: 'resnet18', task: 'classification' });
   */
  async importFile(file: string, options: AddOptions): Promise<ModelCard> {
    const loaded = await io.loadWithMetadata(file);
    const metadata = { ...(loaded.metadata ?? {}) };
    const structure = `imported from ${path.resolve(file)} (${loaded.format})\n${Object.entries(loaded.tensors).map(([k, t]) => `${k}: ${t.dtype} [${t.shape.join(', ')}]`).join('\n')}\n`;
    const extra: Partial<ModelCard> = { sourceFormat: loaded.format, source: path.resolve(file) };
    if (metadata[COLLECTIONS_KEY]) {
      try {
        extra.collections = JSON.parse(metadata[COLLECTIONS_KEY]);
      } catch {
        // A foreign file's unparsable collections stay in the metadata only.
      }
    }
    try {
      return await this.write(loaded.tensors, metadata, structure, options, extra);
    } finally {
      for (const t of Object.values(loaded.tensors)) t.dispose();
    }
  }

  private async write(sd: Record<string, Tensor>, metadata: Record<string, string>, structure: string, o: AddOptions, extra: Partial<ModelCard>): Promise<ModelCard> {
    if (!o || typeof o !== 'object') throw new TypeError('zoo.add(): options with a name are required');
    const name = checkPart(o.name, 'the name');
    if (o.version !== undefined) checkPart(o.version, 'the version');
    if (o.parent !== undefined) {
      const p = parseRef(o.parent);
      if (!p.version) throw new TypeError(`zoo.add(): parent must be 'name@version', got '${o.parent}'`);
    }
    if (o.inputShape !== undefined && (!Array.isArray(o.inputShape) || o.inputShape.some((d) => !Number.isInteger(d))))
      throw new TypeError('zoo.add(): inputShape must be an array of integers');
    await this.removeDeadWork();
    const tmp = path.join(this.dir, 'tmp', `${hostTag()}-${process.pid}-${randomBytes(6).toString('hex')}`);
    await fs.mkdir(tmp, { recursive: true });
    try {
      const weights = path.join(tmp, WEIGHTS);
      await io.save(sd, weights, { metadata });
      const tensors = Object.values(sd);
      const card: ModelCard = {
        name, version: o.version ?? '',
        ...(o.task !== undefined && { task: o.task }),
        ...(o.inputShape !== undefined && { inputShape: [...o.inputShape] }),
        ...(o.classes !== undefined && { classes: o.classes }),
        ...(o.metrics !== undefined && { metrics: { ...o.metrics } }),
        ...(o.tags !== undefined && { tags: [...o.tags] }),
        ...(o.parent !== undefined && { parent: o.parent }),
        created: new Date().toISOString(),
        format: 'safetensors',
        sha256: await sha256File(weights),
        tensorCount: tensors.length,
        parameterCount: tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0),
        ...extra,
        ...(Object.keys(metadata).length > 0 && { metadata }),
      };
      await writeDurably(path.join(tmp, STRUCTURE), structure);
      await fs.mkdir(path.join(this.entriesDir, name), { recursive: true });
      // Allocate the version by renaming into place: a rename onto an existing entry fails, so racing writers each get their own.
      for (let attempt = 0; ; attempt++) {
        const version = o.version ?? String(1 + (await this.highestNumeric(name)));
        card.version = version;
        await fs.rm(path.join(tmp, CARD), { force: true }); // a retry writes the card with the next version
        await writeDurably(path.join(tmp, CARD), JSON.stringify(card, null, 2) + '\n');
        await fsyncDir(tmp);
        const dest = this.entryDir(name, version);
        if (o.overwrite && o.version !== undefined) await this.removeDir(dest);
        try {
          await fs.rename(tmp, dest);
          // The entry's files were fsynced before; this makes the rename itself durable.
          await fsyncDir(path.dirname(dest));
          break;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
          if (o.version !== undefined) throw new TorchError(`zoo.add(): '${name}@${version}' already exists in ${this.dir} (pass overwrite: true to replace it)`, { code: 'ERR_ZOO_EXISTS' });
          if (attempt > 1000) throw e;
        }
      }
      await this.rebuildIndex();
      return card;
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw ioError(this.dir, e);
    }
  }

  private async highestNumeric(name: string): Promise<number> {
    const versions = await fs.readdir(path.join(this.entriesDir, name)).catch(() => [] as string[]);
    return versions.filter((v) => /^\d+$/.test(v)).reduce((m, v) => Math.max(m, Number(v)), 0);
  }

  /** Every entry's card, sorted by name then version. Entries with an unreadable card are skipped. */
  async list(): Promise<ModelCard[]> {
    const names = await fs.readdir(this.entriesDir).catch(() => [] as string[]);
    const cards: ModelCard[] = [];
    for (const name of names.sort()) {
      const versions = await fs.readdir(path.join(this.entriesDir, name)).catch(() => [] as string[]);
      for (const v of versions.sort(compareVersions)) {
        const card = await readCard(path.join(this.entriesDir, name, v, CARD));
        if (card) cards.push(card);
      }
    }
    return cards;
  }

  /**
   * The cards matching every given filter: `task` equal, `tag` among the tags, `name` equal, `inputShape` equal.
   * @example await zoo.find({ task: 'classification', inputShape: [784] })
   */
  async find(query: FindQuery = {}): Promise<ModelCard[]> {
    return (await this.list()).filter((c) =>
      (query.task === undefined || c.task === query.task) &&
      (query.name === undefined || c.name === query.name) &&
      (query.tag === undefined || (c.tags ?? []).includes(query.tag)) &&
      (query.inputShape === undefined || JSON.stringify(c.inputShape) === JSON.stringify(query.inputShape)));
  }

  /** The card of `name@version` (or the latest version of `name`). @throws TorchError `ERR_ZOO_NOT_FOUND`. */
  async card(ref: string): Promise<ModelCard> {
    const r = await this.resolve(ref);
    const card = await readCard(path.join(this.entryDir(r.name, r.version!), CARD));
    if (!card) throw new TorchError(`zoo: the card of '${r.name}@${r.version}' is missing or not valid JSON`, { code: 'ERR_ZOO_CORRUPT' });
    return card;
  }

  /** The printed structure stored with an entry. */
  async structure(ref: string): Promise<string> {
    const r = await this.resolve(ref);
    return fs.readFile(path.join(this.entryDir(r.name, r.version!), STRUCTURE), 'utf8');
  }

  /**
   * Loads an entry's tensors after checking the weights against the card's sha256.
   * @throws TorchError `ERR_ZOO_NOT_FOUND`, or `ERR_ZOO_CORRUPT` when the file does not match its hash.
   */
  async load(ref: string): Promise<ZooEntry> {
    const card = await this.card(ref);
    const file = path.join(this.entryDir(card.name, card.version), WEIGHTS);
    const hash = await sha256File(file).catch(() => 'missing');
    if (hash !== card.sha256)
      throw new TorchError(`zoo: '${card.name}@${card.version}' is corrupted: weights sha256 ${hash} does not match the card's ${card.sha256}`, { code: 'ERR_ZOO_CORRUPT' });
    const { tensors, metadata } = await io.loadWithMetadata(file);
    return { stateDict: tensors, card, metadata: metadata ?? {} };
  }

  /**
   * Loads an entry into `model` (options as `loadStateDict`) and restores its collections; disposes the loaded
   * tensors after copying. Returns the load report and the card.
   */
  async loadInto(model: Module, ref: string, options: LoadStateDictOptions = {}): Promise<{ report: LoadReport; card: ModelCard }> {
    const { stateDict, card, metadata } = await this.load(ref);
    try {
      const report = model.loadStateDict(stateDict, options);
      restoreCollections(model, metadata, { skipInvalid: true });
      return { report, card };
    } finally {
      for (const t of Object.values(stateDict)) t.dispose();
    }
  }

  /**
   * Removes `name@version`, or every version of `name`. Returns the removed references.
   * @throws TorchError `ERR_ZOO_NOT_FOUND`.
   */
  async remove(ref: string): Promise<string[]> {
    const r = parseRef(ref);
    const versions = r.version ? [r.version] : await fs.readdir(path.join(this.entriesDir, r.name)).catch(() => [] as string[]);
    const removed: string[] = [];
    for (const v of versions) if (await this.removeDir(this.entryDir(r.name, v))) removed.push(`${r.name}@${v}`);
    if (removed.length === 0) throw notFound(ref, this.dir);
    await fs.rmdir(path.join(this.entriesDir, r.name)).catch(() => undefined);
    await this.rebuildIndex();
    return removed;
  }

  /** The chain of cards from `ref` up through its parents (ref first). A missing parent ends the chain. */
  async lineage(ref: string): Promise<ModelCard[]> {
    const chain: ModelCard[] = [];
    const seen = new Set<string>();
    let next: string | undefined = ref;
    while (next) {
      const card: ModelCard | undefined = await this.card(next).catch((e: TorchError) => {
        if (chain.length > 0 && e.code === 'ERR_ZOO_NOT_FOUND') return undefined;
        throw e;
      });
      if (!card) break;
      const key = `${card.name}@${card.version}`;
      if (seen.has(key)) break;
      seen.add(key);
      chain.push(card);
      next = card.parent;
    }
    return chain;
  }

  private async resolve(ref: string): Promise<Required<EntryRef>> {
    const r = parseRef(ref);
    if (r.version) {
      const ok = await fs.stat(this.entryDir(r.name, r.version)).then(() => true, () => false);
      if (!ok) throw notFound(ref, this.dir);
      return r as Required<EntryRef>;
    }
    const versions = await fs.readdir(path.join(this.entriesDir, r.name)).catch(() => [] as string[]);
    if (versions.length === 0) throw notFound(ref, this.dir);
    return { name: r.name, version: versions.sort(compareVersions)[versions.length - 1] };
  }

  // Renames away first so a concurrent reader sees the entry whole or not at all.
  private async removeDir(dir: string): Promise<boolean> {
    const trash = path.join(this.dir, 'tmp', `rm-${hostTag()}-${process.pid}-${randomBytes(6).toString('hex')}`);
    await fs.mkdir(path.dirname(trash), { recursive: true });
    try {
      await fs.rename(dir, trash);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    await fs.rm(trash, { recursive: true, force: true });
    return true;
  }

  // Working directories of writers on this host that were killed: nothing else would ever remove them.
  private async removeDeadWork(): Promise<void> {
    const work = path.join(this.dir, 'tmp');
    for (const name of await fs.readdir(work).catch(() => [] as string[])) {
      const m = WORK_DIR.exec(name);
      if (m && m[1] === hostTag() && pidIsDead(Number(m[2]))) await fs.rm(path.join(work, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Rewrites index.json from the entries, under the catalog's lock. */
  async rebuildIndex(): Promise<void> {
    await withLock(path.join(this.dir, 'index.lock'), async () => {
      const cards = await this.list();
      const entries = cards.map((c) => ({ name: c.name, version: c.version, task: c.task, tags: c.tags, sha256: c.sha256 }));
      await atomicWriteFile(path.join(this.dir, 'index.json'), JSON.stringify({ entries }, null, 2) + '\n');
    });
  }
}

async function readCard(file: string): Promise<ModelCard | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as ModelCard;
  } catch {
    return undefined;
  }
}

function safeSummary(model: Module): string {
  try {
    return model.summary();
  } catch {
    return '';
  }
}
